import type { ServerResponse } from 'node:http';
import {
  applySessionHeaders,
  type MinimalResponse,
  mergeHead,
  type SessionHeaders,
} from './session-headers.js';

export interface HoldOptions {
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

type Method = (...args: unknown[]) => unknown;

function headersSentError(): Error {
  // Node's own error, so handlers and frameworks (Express's finalhandler) react as they always do.
  return Object.assign(new Error('Cannot set headers after they are sent to the client'), {
    code: 'ERR_HTTP_HEADERS_SENT',
  });
}

function writeAfterEndError(): Error {
  return Object.assign(new Error('write after end'), { code: 'ERR_STREAM_WRITE_AFTER_END' });
}

/** Whether a real response has already written its head (false for a stand-in without `headersSent`). */
function realHeadersSent(res: object, descriptor: PropertyDescriptor | undefined): boolean {
  if (!descriptor) return false;
  return Boolean(descriptor.get ? descriptor.get.call(res) : descriptor.value);
}

function findDescriptor(res: object, name: string): PropertyDescriptor | undefined {
  for (let at: object | null = res; at; at = Object.getPrototypeOf(at) as object | null) {
    const found = Object.getOwnPropertyDescriptor(at, name);
    if (found) return found;
  }
  return undefined;
}

/**
 * express-session#360: the session must be stored before any byte of the response leaves. Holds
 * every way a Node response is written (`writeHead`, `flushHeaders`, `write`, `end`) until the commit
 * settles, then adds the session's headers and replays the calls in order. When there is nothing to
 * write (most reads) the response goes out at once, without a turn of the event loop.
 *
 * While held, the response behaves to the handler as if it were sent: `headersSent` is true, and
 * setting a header throws `ERR_HTTP_HEADERS_SENT` as it would without the hold, so a forgotten
 * `return` (`res.redirect(); res.send()`) is the handler's error, never a crashed process or a
 * response whose `Content-Length` belongs to another body. Data written after `end` is refused with
 * `ERR_STREAM_WRITE_AFTER_END` to its callback, never as an unhandled `'error'` event.
 *
 * Works with the smallest stand-in response (engine.io's WebSocket upgrade), using only
 * `setHeader`, `getHeader`, `removeHeader`, `writeHead` and `end`.
 */
export function holdResponse(res: MinimalResponse, options: HoldOptions): void {
  const target = res as unknown as Record<string, Method | undefined>;
  const originals = {
    writeHead: target.writeHead,
    write: target.write,
    end: target.end,
    flushHeaders: target.flushHeaders,
    setHeader: target.setHeader,
    appendHeader: target.appendHeader,
    removeHeader: target.removeHeader,
  };
  const sentDescriptor = findDescriptor(res, 'headersSent');
  let phase: 'open' | 'waiting' | 'released' | 'failed' = 'open';
  let headWritten = false;
  let ended = false;
  const queue: Array<() => void> = [];
  let headers: SessionHeaders | null = null;
  let owesDrain = false;

  const release = () => {
    phase = 'released';
    headers = options.headers();
    if (!realHeadersSent(res, sentDescriptor)) applySessionHeaders(res, headers);
    const drain = owesDrain;
    owesDrain = false;
    for (const action of queue.splice(0)) {
      try {
        action();
      } catch (error) {
        // A replayed call the handler made (an invalid status code, say) can no longer throw to it.
        options.warn(`coatcheck: the held response could not be sent: ${String(error)}`);
        (res as Partial<ServerResponse>).destroy?.();
        return;
      }
    }
    const response = res as Partial<ServerResponse>;
    if (drain && !response.writableNeedDrain && !response.writableEnded) response.emit?.('drain');
  };

  /** Starts the commit on the first call that sends something; true once the response may go out. */
  const flowing = (): boolean => {
    if (phase === 'open') {
      let pending: Promise<void> | null;
      try {
        pending = options.commit();
      } catch (error) {
        pending = Promise.reject(error);
      }
      if (!pending) release();
      else {
        phase = 'waiting';
        pending.then(release, (error: unknown) => {
          phase = 'failed';
          queue.length = 0;
          // The held calls are dropped: the error answer is a response of its own.
          headWritten = false;
          ended = false;
          try {
            options.fail(error);
          } catch (failure) {
            options.warn(`coatcheck: answering a failed session commit threw: ${String(failure)}`);
          }
        });
      }
    }
    return phase === 'released' || phase === 'failed';
  };

  /** The handler's view while held: the head counts as written from its first send call on. */
  const heldSent = () => (phase === 'open' || phase === 'waiting') && headWritten;

  // Node ignores a status set once the head went out (an error handler's `res.status(500)` after
  // `res.json`): a held head goes out with the status it had when it was first sent.
  const sentAs = (send: () => void): (() => void) => {
    if (headWritten) return send;
    const { statusCode, statusMessage } = res as Partial<ServerResponse>;
    return () => {
      Object.assign(res, { statusCode, statusMessage });
      send();
    };
  };

  const guardHeader = (name: 'setHeader' | 'appendHeader' | 'removeHeader') => {
    const original = originals[name];
    if (typeof original !== 'function') return;
    target[name] = function (this: unknown, ...args: unknown[]) {
      if (heldSent()) throw headersSentError();
      return original.apply(res, args);
    };
  };
  guardHeader('setHeader');
  guardHeader('appendHeader');
  guardHeader('removeHeader');

  if (sentDescriptor) {
    Object.defineProperty(res, 'headersSent', {
      configurable: true,
      enumerable: sentDescriptor.enumerable ?? false,
      get: () => heldSent() || realHeadersSent(res, sentDescriptor),
    });
  }

  /** Data sent after `end`: refused to its callback, as Node would, but never as a crash. */
  const refuseAfterEnd = (args: unknown[]): boolean => {
    const callback = args.filter((arg) => typeof arg === 'function').pop() as
      | ((error: Error) => void)
      | undefined;
    const error = writeAfterEndError();
    if (callback) process.nextTick(callback, error);
    else options.warn('coatcheck: the handler wrote to the response after ending it; the data was dropped');
    return false;
  };

  const writeHead = originals.writeHead;
  target.writeHead = function (this: unknown, ...args: unknown[]) {
    if (phase === 'released' || phase === 'failed') return writeHead?.apply(res, args);
    if (headWritten) throw headersSentError();
    headWritten = true;
    // Readable at once, as after Node's own writeHead.
    if (typeof args[0] === 'number') res.statusCode = args[0];
    const replay = () => {
      const last = args.length - 1;
      if (last >= 1 && headers && typeof args[last] === 'object' && args[last] !== null) {
        args[last] = mergeHead(res, headers, args[last]);
      }
      writeHead?.apply(res, args);
    };
    if (flowing()) replay();
    else queue.push(replay);
    return res;
  };

  const flushHeaders = originals.flushHeaders;
  if (typeof flushHeaders === 'function') {
    target.flushHeaders = function (this: unknown, ...args: unknown[]) {
      if (phase === 'released' || phase === 'failed') return flushHeaders.apply(res, args);
      const send = sentAs(() => flushHeaders.apply(res, args));
      headWritten = true;
      if (flowing()) return flushHeaders.apply(res, args);
      queue.push(send);
      return undefined;
    };
  }

  const write = originals.write;
  if (typeof write === 'function') {
    target.write = function (this: unknown, ...args: unknown[]) {
      if (ended) return refuseAfterEnd(args);
      if (phase === 'released' || phase === 'failed') return write.apply(res, args);
      const send = sentAs(() => write.apply(res, args));
      headWritten = true;
      if (flowing()) return write.apply(res, args);
      queue.push(send);
      // Backpressure: a stream piped into the response waits for 'drain' instead of being read
      // into memory while the session is stored.
      owesDrain = true;
      return false;
    };
  }

  const end = originals.end;
  target.end = function (this: unknown, ...args: unknown[]) {
    if (ended) {
      // A bare end() after end is harmless in Node; more data is the handler's error.
      const data = args[0];
      if (data !== undefined && data !== null && typeof data !== 'function') refuseAfterEnd(args);
      else if (phase === 'released' || phase === 'failed') end?.apply(res, args);
      return res;
    }
    ended = true;
    if (phase === 'failed') return end?.apply(res, args);
    if (phase === 'released') {
      let late: Promise<void> | null = null;
      try {
        late = options.recommit?.() ?? null;
      } catch (error) {
        late = Promise.reject(error);
      }
      if (!late) return end?.apply(res, args);
      late.then(
        () => end?.apply(res, args),
        (error: unknown) => {
          options.warn(
            `coatcheck: the session could not be stored after the head was sent: ${String(error)}`,
          );
          (res as Partial<ServerResponse>).destroy?.();
        },
      );
      return res;
    }
    const send = sentAs(() => end?.apply(res, args));
    headWritten = true;
    if (flowing()) end?.apply(res, args);
    else queue.push(send);
    return res;
  };
}
