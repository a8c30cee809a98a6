import { SessionStoreError } from '../core/errors.js';
import type { SessionBinding } from './session.js';

/** express-session's node-style callback. */
export type Callback = (error?: unknown) => void;

/** express-session and Passport put the callback last, after options that may be left out. */
export function splitCallback<O extends object>(
  options: O | Callback | undefined,
  callback: Callback | undefined,
): [O | undefined, Callback | undefined] {
  return typeof options === 'function' ? [undefined, options] : [options, callback];
}

/**
 * Runs `work`, then the express-session style callback if one was given; otherwise returns the
 * promise. A promise nobody awaits never becomes an unhandled rejection: the failure is kept on the
 * request and the response fails closed when it is committed.
 */
export function settle<T>(
  bound: SessionBinding,
  tracked: Promise<T>,
  callback?: (error?: unknown, value?: T) => void,
): Promise<T> | undefined {
  const work = track(bound, tracked);
  bound.inflight ??= new Set();
  const inflight = bound.inflight;
  inflight.add(work);
  const done = () => inflight.delete(work);
  work.then(done, done);
  if (callback) {
    // Outside the promise chain: a callback that throws is the application's uncaught exception, as
    // with express-session, never an unhandled rejection of ours.
    work.then(
      (value) => process.nextTick(callback, undefined, value),
      (error: unknown) => process.nextTick(callback, error),
    );
    return undefined;
  }
  work.catch(() => {});
  return work;
}

/** Remembers a store failure on the request, so the response fails closed (S49). */
export function track<T>(bound: SessionBinding, work: Promise<T>): Promise<T> {
  return work.catch((error: unknown) => {
    if (error instanceof SessionStoreError) bound.storeFailure ??= error;
    throw error;
  });
}
