import type { SessionStore } from '../core/store/store.js';
import type { Session } from '../session-api/session.js';

/**
 * Your session data's shape. Add your keys by declaration merging. Data is stored as JSON, as
 * express-session stores it: a `Date` comes back as its ISO string on the next request, `undefined`
 * values and functions are dropped, and `__proto__`, `constructor` and `prototype` keys are refused
 * (S51). Type such keys as what they read back as (`string`, not `Date`).
 *
 * @example
 * declare module 'coatcheck/express' {
 *   interface SessionData { cart: string[]; returnTo: string }
 * }
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by declaration merging
export interface SessionData {}

/** `req.session`: the Session API plus your data keys. */
export type TypedSession = Session & Partial<SessionData>;

declare global {
  namespace Express {
    interface Request {
      session: TypedSession;
      /** The session's handle (public; never the token). */
      sessionID: string;
      sessionStore: SessionStore;
    }
  }
}
