import { Cookie } from '../session-api/cookie.js';
import { MemoryStore, SessionStoreApi } from '../session-api/memory-store.js';
import { Session, sessionMetaOf } from '../session-api/session.js';
import { Store } from '../session-api/store.js';
import { session as createMiddleware } from './middleware.js';

export type {
  SessionEvent,
  SessionEventType,
  SessionInfo,
  SessionRecord,
  SessionStore,
} from '../core/index.js';
export {
  CoatcheckError,
  SessionCapabilityError,
  SessionConfigError,
  SessionLimitError,
  SessionStateError,
  SessionStoreError,
} from '../core/index.js';
export { endedSessionsOf, type SessionEnd, type SessionEndReason } from '../core/lifecycle/session-end.js';
export type { CookieData, CookieInit } from '../session-api/cookie.js';
export type { MemoryStoreOptions, StoreCallback, StoredSession } from '../session-api/memory-store.js';
export type { RegenerateOptions, SessionMeta } from '../session-api/session.js';
export { ConnectStore } from '../stores/connect.js';
export type { CsrfOptions, CsrfRejectReason } from './csrf.js';
export { csrf, csrfField, csrfMeta } from './csrf.js';
export type { ExpressDbscOptions, ExpressDeviceBoundSessions } from './dbsc.js';
export { deviceBoundSessions } from './dbsc.js';
export type {
  RequireAuthOptions,
  RequireFreshAuthOptions,
  RequireRoleOptions,
  RequireStepUpOptions,
} from './guards.js';
export { requireAuth, requireFreshAuth, requireRole, requireStepUp } from './guards.js';
export type { SessionCookieOptions, SessionMiddleware, SessionOptions } from './middleware.js';
export type { SessionCookieOption } from './options.js';
export type { SessionData, TypedSession } from './types.js';
export { Cookie, MemoryStore, Session, SessionStoreApi, Store, sessionMetaOf };

/**
 * express-session's default export: the middleware factory, with the classes attached as
 * express-session attaches them (`session.Store`, `session.MemoryStore`, `session.Session`,
 * `session.Cookie`), so `require('express-session').Store` code keeps working.
 */
export const session: typeof createMiddleware & {
  /** The base class of express-session stores (`require('express-session').Store`). */
  Store: typeof Store;
  /** The bounded in-memory store, express-session's `MemoryStore` API over coatcheck's MemoryStore. */
  MemoryStore: typeof MemoryStore;
  /** The class of `req.session`. */
  Session: typeof Session;
  /** The class of `req.session.cookie`. */
  Cookie: typeof Cookie;
} = Object.assign(createMiddleware, { Store, MemoryStore, Session, Cookie });
export default session;
