import { SessionStoreError } from '../errors.js';
import type { EventBus } from '../events.js';

export type StoreCall = <T>(operation: string, run: () => Promise<T>) => Promise<T>;

interface Pending {
  deadline: number;
  fail: () => void;
  previous: Pending | null;
  next: Pending | null;
}

/** The calls awaiting their store, linked through the entries; an entry's links are cleared when it leaves. */
class PendingCalls {
  #head: Pending | null = null;

  get empty(): boolean {
    return this.#head === null;
  }

  add(entry: Pending): void {
    entry.next = this.#head;
    if (this.#head) this.#head.previous = entry;
    this.#head = entry;
  }

  remove(entry: Pending): void {
    if (entry.previous) entry.previous.next = entry.next;
    else if (this.#head === entry) this.#head = entry.next;
    if (entry.next) entry.next.previous = entry.previous;
    entry.previous = null;
    entry.next = null;
  }

  /**
   * Fails every call whose deadline has passed. They are gathered before any is failed: failing one
   * emits `store.error`, and a listener can settle another call then (a store answering through a
   * synchronous thenable), which unlinks it and clears the link a walk in progress would follow.
   */
  expire(now: number): void {
    const expired: Pending[] = [];
    for (let call = this.#head; call; call = call.next) if (call.deadline <= now) expired.push(call);
    for (const call of expired) call.fail();
  }
}

/**
 * Wraps every store call with a timeout and one error type: a store outage fails closed (503) and
 * the process recovers by itself when the store returns. `store.error` is emitted per failed call;
 * `store.recovered` once per outage, when calls have succeeded and none has failed for a quiet
 * period of twice the timeout (at least 1 s). Under a partial outage (one Cluster node down)
 * successes and failures interleave, and reporting the first success after a failure fired about
 * 2,000 times per process: a call to the dead node only fails when its timeout runs out, so a
 * shorter window could not tell that node is back. One shared ticker checks deadlines while calls
 * are pending, rather than a timer per call on the hot path; a call can overrun its timeout by at
 * most one tick.
 */
export function createStoreCall(timeoutMs: number, events: EventBus): StoreCall {
  let failing = false;
  let recovery: NodeJS.Timeout | null = null;
  const quietMs = Math.max(1_000, 2 * timeoutMs);
  const pending = new PendingCalls();
  const tickMs = Math.max(5, Math.min(100, Math.floor(timeoutMs / 4)));
  let ticker: ReturnType<typeof setInterval> | null = null;

  const tick = () => {
    pending.expire(Date.now());
    if (pending.empty && ticker) {
      clearInterval(ticker);
      ticker = null;
    }
  };

  const succeeded = (operation: string) => {
    if (!failing || recovery) return;
    recovery = setTimeout(() => {
      recovery = null;
      failing = false;
      events.emit({ type: 'store.recovered', reason: operation });
    }, quietMs);
    recovery.unref();
  };
  const failed = (operation: string, error: unknown, failure: 'error' | 'timeout' = 'error') => {
    failing = true;
    if (recovery) clearTimeout(recovery);
    recovery = null;
    const storeError =
      error instanceof SessionStoreError ? error : new SessionStoreError(operation, { cause: error });
    events.emit({ type: 'store.error', reason: storeError.message, operation, failure });
    return storeError;
  };

  // One promise per call, settled by the store's answer or by the ticker, whichever comes first.
  return (operation, run) =>
    new Promise((resolve, reject) => {
      let settled = false;
      const entry: Pending = {
        deadline: Date.now() + timeoutMs,
        fail: () => {
          if (settled) return;
          settled = true;
          pending.remove(entry);
          reject(
            failed(
              operation,
              new SessionStoreError(operation, { message: `session store timed out during ${operation}` }),
              'timeout',
            ),
          );
        },
        previous: null,
        next: null,
      };
      pending.add(entry);
      if (!ticker) {
        ticker = setInterval(tick, tickMs);
        ticker.unref();
      }
      const done = (error: unknown, value?: unknown) => {
        if (settled) return;
        settled = true;
        pending.remove(entry);
        if (error === undefined) {
          succeeded(operation);
          resolve(value as never);
        } else {
          reject(failed(operation, error));
        }
      };
      let work: Promise<unknown>;
      try {
        work = run();
      } catch (error) {
        done(error ?? new Error('store call threw'));
        return;
      }
      // A store method must answer with a promise; anything else is a broken store, and fails closed.
      if (typeof (work as { then?: unknown } | null | undefined)?.then !== 'function') {
        done(
          new TypeError(
            `the store's ${operation} returned ${work === null ? 'null' : typeof work}, not a promise`,
          ),
        );
        return;
      }
      work.then(
        (value) => done(undefined, value),
        (error: unknown) => done(error ?? new Error('store call failed')),
      );
    });
}
