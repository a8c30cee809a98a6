// Over ~250 lines on purpose: one held response's state machine (open, waiting, released, failed) and
// every send it intercepts, in one class; response-hold.ts installs the shared wrappers that call it.
import { EventEmitter } from 'node:events';
import { IncomingMessage, ServerResponse } from 'node:http';
import { checkChunk, checkHead, sendsBody } from './send-checks.js';
import {
  applySessionHeaders,
  type MinimalResponse,
  mergeHead,
  type SessionHeaders,
} from './session-headers.js';

export interface HoldOptions {
  /** The session middleware holding the response: its cookies replace only its own (`applySessionHeaders`). */
  owner: object;
  /** Writes the session; null when there is nothing to write (the response then goes out at once). */
  commit(): Promise<void> | null;
  /**
   * At `end`, when the head already went out earlier: writes what changed since (null: nothing).
   * A failure cuts the connection, since the status is already sent.
   */
  recommit?(): Promise<void> | null;
  /** The headers to add, read after `commit` settled. */
  headers(): SessionHeaders;
  /** Answers a failed commit; the response is then the application's or the default error answer. */
  fail(error: unknown): void;
  /** Reports a problem the handler caused but that must not crash the process. */
  warn(message: string): void;
}

/** A response method as the hold keeps and replays it. */
export type Method = (...args: unknown[]) => unknown;
/** A response seen as its methods by name. */
export type Target = Record<string, Method | undefined>;

/** Node's ERR_HTTP_HEADERS_SENT, thrown to a handler that sets a header while its response is held. */
export function headersSentError(): Error {
  // Node's own error, so handlers and frameworks (Express's finalhandler) react as they always do.
  return Object.assign(new Error('Cannot set headers after they are sent to the client'), {
    code: 'ERR_HTTP_HEADERS_SENT',
  });
}

function writeAfterEndError(): Error {
  return Object.assign(new Error('write after end'), { code: 'ERR_STREAM_WRITE_AFTER_END' });
}

const PROBE = Symbol('coatcheck.probe');

/**
 * Turns a request or response into a dictionary before properties are added to it. Express swaps
 * the prototype of both on every request (`Object.setPrototypeOf`), after which V8 builds a new
 * hidden class for each property added (microseconds apiece), while adds to a dictionary are plain
 * inserts. Deleting an existing property other than the last one makes the dictionary at once;
 * `key` (one Node sets in the object's constructor) is deleted and set again with the same value
 * and attributes, which moves it to the end of the key order and changes nothing else. An object
 * without it as a plain data property gets a probe property added and deleted instead, which costs
 * one more hidden class. An object whose prototype is still Node's own keeps its hidden classes:
 * its adds follow cached transitions; an object that cannot be extended is left as it is.
 */
export function makeDictionary(target: object, key: 'url' | 'sendDate'): void {
  const proto = Object.getPrototypeOf(target) as unknown;
  if (proto === IncomingMessage.prototype || proto === ServerResponse.prototype) return;
  if (!Object.isExtensible(target)) return;
  const own = target as Record<string | symbol, unknown>;
  const descriptor = Object.getOwnPropertyDescriptor(target, key);
  if (descriptor?.writable === true && descriptor.enumerable === true && descriptor.configurable === true) {
    delete own[key];
    // Defined, not assigned: a setter for the key up the prototype chain must not take the value.
    Object.defineProperty(target, key, descriptor);
    return;
  }
  own[PROBE] = null;
  delete own[PROBE];
}

/** A 'drain' listener registered while the hold owed a drain, and the method it came through. */
interface CaughtListener {
  method: 'on' | 'once';
  listener: Method;
}

/**
 * Catches the 'drain' listeners registered through the response's `on` or `once` while the hold
 * owes a drain, where a wrapper installed before the hold replaced either (compression routes them
 * to its gzip stream, which the hold's own 'drain' on the response never reaches). The function it
 * returns puts the methods back and gives the caught listeners, which the release registers
 * through those methods; null where neither method is replaced.
 */
function catchDrainListeners(res: MinimalResponse): (() => CaughtListener[]) | null {
  const emitter = res as unknown as Record<string, Method | undefined>;
  const caught: CaughtListener[] = [];
  const restores: Array<() => void> = [];
  for (const method of ['on', 'once'] as const) {
    const routed = emitter[method];
    if (typeof routed !== 'function' || routed === EventEmitter.prototype[method]) continue;
    const own = Object.getOwnPropertyDescriptor(res, method);
    const catcher = function (this: unknown, type: unknown, listener: unknown): unknown {
      if (type !== 'drain' || typeof listener !== 'function') {
        // biome-ignore lint/complexity/noArguments: the call reaches the wrapper unchanged
        return routed.apply(this, arguments as unknown as unknown[]);
      }
      caught.push({ method, listener: listener as Method });
      return this;
    };
    emitter[method] = catcher;
    restores.push(() => {
      if (emitter[method] !== catcher) return;
      if (own) Object.defineProperty(res, method, own);
      else delete emitter[method];
    });
  }
  if (restores.length === 0) return null;
  return () => {
    for (const restore of restores) restore();
    return caught;
  };
}

/** Whether a real response has already written its head (false for a stand-in without `headersSent`). */
export function realHeadersSent(res: object, descriptor: PropertyDescriptor | undefined): boolean {
  if (!descriptor) return false;
  return Boolean(descriptor.get ? descriptor.get.call(res) : descriptor.value);
}

/**
 * One held response: its state, the methods it replaced and the logic of the wrappers. The
 * wrappers themselves are shared by every response and find their hold on the response, so a
 * request allocates this object and no closures until its commit is pending.
 */
export class Hold {
  phase: 'open' | 'waiting' | 'released' | 'failed' = 'open';
  headWritten = false;
  ended = false;
  owesDrain = false;
  /** What the last replayed held write returned: false when the response will emit 'drain' itself. */
  lastWrite: unknown;
  /** Ends the catching of 'drain' listeners (`catchDrainListeners`) and hands over those caught. */
  releaseDrainListeners: (() => CaughtListener[]) | null = null;
  /** True while the original `end` runs: writes it makes itself are its own, not the handler's. */
  ending = false;
  queue: Array<() => void> = [];
  headers: SessionHeaders | null = null;
  /** The status when the head was first sent, restored before a held send is replayed. */
  sentStatus: number | undefined;
  sentStatusMessage: string | undefined;
  readonly writeHead: Method | undefined;
  readonly write: Method | undefined;
  readonly end: Method | undefined;
  readonly flushHeaders: Method | undefined;
  readonly setHeader: Method | undefined;
  readonly appendHeader: Method | undefined;
  readonly removeHeader: Method | undefined;

  constructor(
    readonly res: MinimalResponse,
    readonly options: HoldOptions,
    readonly sentDescriptor: PropertyDescriptor | undefined,
    originals: Target,
  ) {
    this.writeHead = originals.writeHead;
    this.write = originals.write;
    this.end = originals.end;
    this.flushHeaders = originals.flushHeaders;
    this.setHeader = originals.setHeader;
    this.appendHeader = originals.appendHeader;
    this.removeHeader = originals.removeHeader;
  }

  get out(): boolean {
    return this.phase === 'released' || this.phase === 'failed';
  }

  /** The handler's view while held: the head counts as written from its first send call on. */
  heldSent(): boolean {
    return (this.phase === 'open' || this.phase === 'waiting') && this.headWritten;
  }

  release(): void {
    const { res, options } = this;
    this.phase = 'released';
    this.headers = options.headers();
    if (!realHeadersSent(res, this.sentDescriptor)) applySessionHeaders(res, this.headers, options.owner);
    const drain = this.owesDrain;
    this.owesDrain = false;
    const caught = this.takeDrainListeners();
    const queued = this.queue.length > 0 ? this.queue.splice(0) : this.queue;
    for (const action of queued) {
      try {
        action();
      } catch (error) {
        // A replayed call can no longer throw to the handler (send-checks.ts catches what Node
        // refuses; this is a wrapper installed after the hold throwing, say).
        options.warn(`coatcheck: the held response could not be sent: ${String(error)}`);
        this.answerFailedReplay();
        return;
      }
    }
    const response = res as Partial<ServerResponse>;
    if (!drain || response.writableEnded) return;
    const pending = this.lastWrite === false || response.writableNeedDrain === true;
    if (!pending) response.emit?.('drain');
    this.handOver(caught, pending);
  }

  /**
   * After a replayed call threw: while the head is not out, a plain 500 through the response's own
   * methods (the session's headers are on it, so a stored change keeps its cookie); else, or if that
   * throws too, the connection is cut.
   */
  answerFailedReplay(): void {
    const res = this.res as Partial<ServerResponse>;
    this.queue.length = 0;
    try {
      if (!realHeadersSent(res, this.sentDescriptor) && this.writeHead && this.end) {
        // Its own length: a failed `end` may have left the length of the handler's body behind.
        this.writeHead.call(res, 500, {
          'content-type': 'text/plain; charset=utf-8',
          'content-length': '21',
        });
        this.end.call(res, 'Internal Server Error');
        return;
      }
    } catch {
      // Cut below.
    }
    res.destroy?.();
  }

  /** Stops catching 'drain' listeners; those caught, or none. */
  takeDrainListeners(): CaughtListener[] {
    const release = this.releaseDrainListeners;
    this.releaseDrainListeners = null;
    return release ? release() : [];
  }

  /**
   * Registers the caught 'drain' listeners through the methods they came through, where the
   * wrapper routes them. When the replayed writes left nothing to drain, each is called once now
   * instead, as the drain owed to it (a `once` listener is not registered as well).
   */
  handOver(caught: CaughtListener[], pending: boolean): void {
    const emitter = this.res as unknown as Record<string, Method | undefined>;
    for (const { method, listener } of caught) {
      if (pending || method === 'on') emitter[method]?.call(this.res, 'drain', listener);
      if (!pending) listener.call(this.res);
    }
  }

  fail(error: unknown): void {
    this.phase = 'failed';
    this.queue.length = 0;
    this.takeDrainListeners();
    // The held calls are dropped: the error answer is a response of its own.
    this.headWritten = false;
    this.ended = false;
    try {
      this.options.fail(error);
    } catch (failure) {
      this.options.warn(`coatcheck: answering a failed session commit threw: ${String(failure)}`);
    }
  }

  /** Starts the commit on the first call that sends something; true once the response may go out. */
  flowing(): boolean {
    if (this.phase === 'open') {
      let pending: Promise<void> | null;
      try {
        pending = this.options.commit();
      } catch (error) {
        pending = Promise.reject(error);
      }
      if (!pending) this.release();
      else {
        this.phase = 'waiting';
        pending.then(
          () => this.release(),
          (error: unknown) => this.fail(error),
        );
      }
    }
    return this.out;
  }

  /** Data sent after `end`: refused to its callback, as Node would, but never as a crash. */
  refuseAfterEnd(args: ArrayLike<unknown>): boolean {
    let callback: ((error: Error) => void) | undefined;
    for (let i = args.length - 1; i >= 0 && !callback; i--) {
      const arg = args[i];
      if (typeof arg === 'function') callback = arg as (error: Error) => void;
    }
    const error = writeAfterEndError();
    if (callback) process.nextTick(callback, error);
    else
      this.options.warn('coatcheck: the handler wrote to the response after ending it; the data was dropped');
    return false;
  }

  callWriteHead(args: unknown[]): unknown {
    const { res, writeHead } = this;
    if (this.out) return writeHead?.apply(res, args);
    if (this.headWritten) throw headersSentError();
    if (res instanceof ServerResponse) checkHead(args, res.statusMessage);
    this.headWritten = true;
    // Readable at once, as after Node's own writeHead.
    if (typeof args[0] === 'number') res.statusCode = args[0];
    const replay = () => {
      const last = args.length - 1;
      if (last >= 1 && this.headers && typeof args[last] === 'object' && args[last] !== null) {
        args[last] = mergeHead(res, this.headers, args[last]);
      }
      writeHead?.apply(res, args);
    };
    if (this.flowing()) replay();
    else this.queue.push(replay);
    return res;
  }

  /**
   * Node ignores a status set once the head went out (an error handler's `res.status(500)` after
   * `res.json`): a held head goes out with the status it had when it was first sent.
   */
  noteSent(): void {
    if (this.headWritten) return;
    this.headWritten = true;
    const res = this.res as Partial<ServerResponse>;
    this.sentStatus = res.statusCode;
    this.sentStatusMessage = res.statusMessage;
  }

  /** Puts back the status noted by `noteSent` before a held send goes out. */
  restoreSent(): void {
    const res = this.res as Partial<ServerResponse>;
    if (this.sentStatus !== undefined) res.statusCode = this.sentStatus;
    if (this.sentStatusMessage !== undefined) res.statusMessage = this.sentStatusMessage;
  }

  callFlushHeaders(flushHeaders: Method, args: ArrayLike<unknown>): unknown {
    const { res } = this;
    if (this.out) return flushHeaders.apply(res, args as unknown[]);
    // As Node's own flushHeaders: the head is written through the response, so a `writeHead`
    // wrapper installed after the hold (on-headers: compression picks its encoding there) runs now,
    // before the writes that follow, and not when the held head is replayed.
    if (!this.headWritten) res.writeHead(res.statusCode ?? 200);
    this.noteSent();
    if (this.flowing()) return flushHeaders.apply(res, args as unknown[]);
    const held = Array.from(args);
    this.queue.push(() => {
      this.restoreSent();
      flushHeaders.apply(res, held);
    });
    return undefined;
  }

  callWrite(write: Method, args: ArrayLike<unknown>): unknown {
    const { res } = this;
    // An `end` that writes its chunk first (a wrapper installed before the hold, HTTP/2's own).
    if (this.ending) return write.apply(res, args as unknown[]);
    if (this.ended) return this.refuseAfterEnd(args);
    if (this.out) return write.apply(res, args as unknown[]);
    this.checkSend(args, false);
    this.noteSent();
    if (this.flowing()) return write.apply(res, args as unknown[]);
    const held = Array.from(args);
    this.queue.push(() => {
      this.restoreSent();
      this.lastWrite = write.apply(res, held);
    });
    // Backpressure: a stream piped into the response waits for 'drain' instead of being read
    // into memory while the session is stored.
    if (!this.owesDrain) {
      this.owesDrain = true;
      this.releaseDrainListeners = catchDrainListeners(res);
    }
    return false;
  }

  callEnd(args: ArrayLike<unknown>): unknown {
    const { res } = this;
    if (this.ended) {
      // A bare end() after end is harmless in Node; more data is the handler's error.
      const data = args[0];
      if (data !== undefined && data !== null && typeof data !== 'function') this.refuseAfterEnd(args);
      else if (this.out) this.runEnd(args);
      return res;
    }
    if (!this.out) this.checkSend(args, true);
    this.ended = true;
    if (this.phase === 'failed') return this.runEnd(args);
    if (this.phase === 'released') return this.endLate(Array.from(args));
    this.noteSent();
    // A commit an earlier write began holds the data as it was then: what changed since is written
    // before the end, as when `end` comes after the release.
    const committing = this.phase === 'waiting';
    if (this.flowing()) this.runEnd(args);
    else {
      const held = Array.from(args);
      this.queue.push(() => {
        this.restoreSent();
        if (committing) this.endLate(held);
        else this.runEnd(held);
      });
    }
    return res;
  }

  /**
   * A held `write` or `end`: its chunk checked as Node checks it, and when it is the first send,
   * the head Node builds from the status checked as `writeHead` is (send-checks.ts).
   */
  checkSend(args: ArrayLike<unknown>, fromEnd: boolean): void {
    const { res } = this;
    if (!(res instanceof ServerResponse)) return;
    checkChunk(args[0], args[1], fromEnd, sendsBody(res as ServerResponse & { _hasBody?: boolean }));
    if (!this.headWritten) checkHead([res.statusCode], res.statusMessage);
  }

  /** The original `end`, during which the writes it makes itself go through (`ending`). */
  runEnd(args: ArrayLike<unknown>): unknown {
    this.ending = true;
    try {
      return this.end?.apply(this.res, args as unknown[]);
    } finally {
      this.ending = false;
    }
  }

  /** `end` after the head went out: what changed since is written first. */
  endLate(args: unknown[]): unknown {
    const { res, options } = this;
    let late: Promise<void> | null = null;
    try {
      late = options.recommit?.() ?? null;
    } catch (error) {
      late = Promise.reject(error);
    }
    if (!late) return this.runEnd(args);
    late.then(
      () => this.runEnd(args),
      (error: unknown) => {
        options.warn(`coatcheck: the session could not be stored after the head was sent: ${String(error)}`);
        (res as Partial<ServerResponse>).destroy?.();
      },
    );
    return res;
  }
}
