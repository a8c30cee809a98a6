import './types.js';
import { session } from './plugin.js';

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
export type { SessionCookieOptions } from '../session-api/cookie-options.js';
export type { RegenerateOptions, SessionMeta } from '../session-api/session.js';
export type { CsrfRejectReason, FastifyCsrfOptions } from './csrf.js';
export { csrfField, csrfMeta, csrfProtection } from './csrf.js';
export type { FastifyDeviceBoundSessions } from './dbsc.js';
export { deviceBoundSessions } from './dbsc.js';
export type {
  RequireAuthOptions,
  RequireFreshAuthOptions,
  RequireRoleOptions,
  RequireStepUpOptions,
} from './guards.js';
export { requireAuth, requireFreshAuth, requireRole, requireStepUp } from './guards.js';
export type { FastifySessionOptions } from './options.js';
export { answerUnavailable, fastifyPassportUserId } from './options.js';
export { FastifySession } from './session.js';
export type { SessionData, TypedFastifySession } from './types.js';
export { session };

/** The plugin: `app.register(session, options)`. */
export default session;
