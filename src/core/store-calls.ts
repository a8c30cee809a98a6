import { SessionStoreError } from './errors.js';
import type { EventBus } from './events.js';

export type StoreCall = <T>(operation: string, run: () => Promise<T>) => Promise<T>;

interface Pending {
  deadline: number;
  fail: () => void;
}

/**
 * Wraps every store call with a timeout and one error type, and reports failure and recovery once
 * each: a store outage fails closed (503) and the process recovers by itself when the store returns.
 * One shared ticker checks deadlines while calls are pending, rather than a timer per call on the
 * hot path; a call can overrun its timeout by at most one tick.
 */
export function createStoreCall(timeoutMs: number, events: EventBus): StoreCall {
  let failing = false;
  const pending = new Set<Pending>();
  const tickMs = Math.max(5, Math.min(100, Math.floor(timeoutMs / 4)));
  let ticker: NodeJS.Timeout | null = null;

  const tick = () => {
    const now = Date.now();
    for (const call of pending) if (call.deadline <= now) call.fail();
    if (pending.size === 0 && ticker) {
      clearInterval(ticker);
      ticker = null;
    }
  };

  return async (operation, run) => {
    let entry: Pending | undefined;
    try {
      const work = run();
      const timeout = new Promise<never>((_, reject) => {
        entry = {
          deadline: Date.now() + timeoutMs,
          fail: () =>
            reject(
              new SessionStoreError(operation, { message: `session store timed out during ${operation}` }),
            ),
        };
      });
      pending.add(entry!);
      if (!ticker) {
        ticker = setInterval(tick, tickMs);
        ticker.unref();
      }
      const result = await Promise.race([work, timeout]);
      if (failing) {
        failing = false;
        events.emit({ type: 'store.recovered', reason: operation });
      }
      return result;
    } catch (error) {
      failing = true;
      const storeError =
        error instanceof SessionStoreError ? error : new SessionStoreError(operation, { cause: error });
      events.emit({ type: 'store.error', reason: storeError.message });
      throw storeError;
    } finally {
      if (entry) pending.delete(entry);
    }
  };
}
