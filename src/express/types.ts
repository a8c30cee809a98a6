import type { SessionStore } from '../core/store.js';
import type { Session } from './session.js';

/**
 * Your session data's shape. Add your keys by declaration merging:
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
