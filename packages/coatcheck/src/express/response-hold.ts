import {
  Hold,
  type HoldOptions,
  headersSentError,
  type Method,
  makeDictionary,
  realHeadersSent,
  type Target,
} from './held-response.js';
import type { MinimalResponse } from './session-headers.js';

export type { HoldOptions } from './held-response.js';

// Every ServerResponse shares its prototype chain: `headersSent` is looked up once per prototype.
const sentDescriptors = new WeakMap<object, PropertyDescriptor | undefined>();

function findDescriptor(res: object): PropertyDescriptor | undefined {
  const own = Object.getOwnPropertyDescriptor(res, 'headersSent');
  if (own) return own;
  const proto = Object.getPrototypeOf(res) as object | null;
  if (!proto) return undefined;
  if (sentDescriptors.has(proto)) return sentDescriptors.get(proto);
  let found: PropertyDescriptor | undefined;
  for (let at: object | null = proto; at && !found; at = Object.getPrototypeOf(at) as object | null) {
    found = Object.getOwnPropertyDescriptor(at, 'headersSent');
  }
  sentDescriptors.set(proto, found);
  return found;
}

const HOLD = Symbol('coatcheck.responseHold');
type HeldResponse = { [HOLD]: Hold };

function holdOf(res: unknown): Hold {
  return (res as HeldResponse)[HOLD];
}

function guarded(hold: Hold, original: Method): Method {
  return function (this: unknown, ...args: unknown[]) {
    if (hold.heldSent()) throw headersSentError();
    return original.apply(hold.res, args);
  };
}

// The wrappers every held response shares. Fixed arity where Node's method has one; `arguments`
// elsewhere, so a call's arity reaches the original unchanged without a rest array per call.
const shared = {
  setHeader(this: unknown, name: unknown, value: unknown): unknown {
    const hold = holdOf(this);
    if (hold.heldSent()) throw headersSentError();
    return (hold.setHeader as Method).call(hold.res, name, value);
  },
  appendHeader(this: unknown, name: unknown, value: unknown): unknown {
    const hold = holdOf(this);
    if (hold.heldSent()) throw headersSentError();
    return (hold.appendHeader as Method).call(hold.res, name, value);
  },
  removeHeader(this: unknown, name: unknown): unknown {
    const hold = holdOf(this);
    if (hold.heldSent()) throw headersSentError();
    return (hold.removeHeader as Method).call(hold.res, name);
  },
  writeHead(this: unknown): unknown {
    // biome-ignore lint/complexity/noArguments: the arity reaches Node's writeHead unchanged
    return holdOf(this).callWriteHead(Array.from(arguments));
  },
  flushHeaders(this: unknown): unknown {
    const hold = holdOf(this);
    // biome-ignore lint/complexity/noArguments: no rest array per call
    return hold.callFlushHeaders(hold.flushHeaders as Method, arguments);
  },
  write(this: unknown): unknown {
    const hold = holdOf(this);
    // biome-ignore lint/complexity/noArguments: no rest array per call
    return hold.callWrite(hold.write as Method, arguments);
  },
  end(this: unknown): unknown {
    // biome-ignore lint/complexity/noArguments: no rest array per call
    return holdOf(this).callEnd(arguments);
  },
};

function sharedHeadersSent(this: unknown): boolean {
  const hold = holdOf(this);
  return hold.heldSent() || realHeadersSent(hold.res, hold.sentDescriptor);
}
const SENT_HIDDEN = { configurable: true, enumerable: false, get: sharedHeadersSent };
const SENT_LISTED = { configurable: true, enumerable: true, get: sharedHeadersSent };

/** A response held a second time (a second session middleware after `req.session` was unset): its own closures, so the shared wrappers never meet themselves. */
function holdAgain(hold: Hold, target: Target): void {
  for (const name of ['setHeader', 'appendHeader', 'removeHeader'] as const) {
    const original = hold[name];
    if (typeof original === 'function') target[name] = guarded(hold, original);
  }
  target.writeHead = (...args: unknown[]) => hold.callWriteHead(args);
  const { flushHeaders, write } = hold;
  if (typeof flushHeaders === 'function')
    target.flushHeaders = (...args: unknown[]) => hold.callFlushHeaders(flushHeaders, args);
  if (typeof write === 'function') target.write = (...args: unknown[]) => hold.callWrite(write, args);
  target.end = (...args: unknown[]) => hold.callEnd(args);
  if (hold.sentDescriptor) {
    Object.defineProperty(hold.res, 'headersSent', {
      configurable: true,
      enumerable: hold.sentDescriptor.enumerable ?? false,
      get: () => hold.heldSent() || realHeadersSent(hold.res, hold.sentDescriptor),
    });
  }
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
  const target = res as unknown as Target;
  // First: the Hold reads the methods it replaces through the response, and Express gave the
  // response a hidden class of its own, which every lookup through it would miss.
  makeDictionary(res, 'sendDate');
  const hold = new Hold(res, options, findDescriptor(res), target);
  if (HOLD in res) {
    holdAgain(hold, target);
    return;
  }
  (res as unknown as HeldResponse)[HOLD] = hold;
  if (typeof hold.setHeader === 'function') target.setHeader = shared.setHeader;
  if (typeof hold.appendHeader === 'function') target.appendHeader = shared.appendHeader;
  if (typeof hold.removeHeader === 'function') target.removeHeader = shared.removeHeader;
  if (hold.sentDescriptor) {
    Object.defineProperty(res, 'headersSent', hold.sentDescriptor.enumerable ? SENT_LISTED : SENT_HIDDEN);
  }
  target.writeHead = shared.writeHead;
  if (typeof hold.flushHeaders === 'function') target.flushHeaders = shared.flushHeaders;
  if (typeof hold.write === 'function') target.write = shared.write;
  target.end = shared.end;
}
