import type { Session } from 'fastify';
import type { SessionEngine } from '../core/engine.js';
import type { SessionStore } from '../core/store/store.js';
import type { FastifySession } from './session.js';

/**
 * Your session data's shape. Add your keys by declaration merging, here or, as with
 * @fastify/session, in `fastify`'s `Session` interface; `get` and `set` are typed by it. Data is stored as JSON: a `Date` reads back as its ISO string, `undefined` values are dropped.
 *
 * @example
 * declare module 'coatcheck/fastify' {
 *   interface SessionData { cart: string[]; returnTo: string }
 * }
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by declaration merging
export interface SessionData {}

/** `request.session`: the session API plus your data keys. */
export type TypedFastifySession = FastifySession & Partial<Omit<Session, 'cookie'>>;

declare module 'fastify' {
  /** The data keys of `request.session` (the interface @fastify/session users already extend). */
  interface Session extends SessionData {}
  interface FastifyRequest {
    /** The request's session; set in `onRequest` by coatcheck's plugin. */
    session: TypedFastifySession;
    /** The store behind the sessions (@fastify/session's `request.sessionStore`). */
    sessionStore: SessionStore;
    /** A fresh masked CSRF token for the current session; installed by `csrfProtection`. */
    csrfToken(): string;
  }
  interface FastifyInstance {
    /** The session engine (device lists, revocation from admin routes, events). */
    sessionEngine: SessionEngine;
  }
}
