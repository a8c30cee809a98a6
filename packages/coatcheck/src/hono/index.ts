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
export type { SessionMeta } from '../core/lifecycle/meta.js';
export type { CsrfOptions, CsrfRejectReason } from './csrf.js';
export { csrf, csrfField, csrfToken } from './csrf.js';
export type { HonoDbscOptions, HonoDeviceBoundSessions } from './dbsc.js';
export { deviceBoundSessions } from './dbsc.js';
export type {
  RequireAuthOptions,
  RequireFreshAuthOptions,
  RequireRoleOptions,
  RequireStepUpOptions,
} from './guards.js';
export { requireAuth, requireFreshAuth, requireRole, requireStepUp } from './guards.js';
export type { Env, HonoSessionMiddleware, HonoSessionOptions } from './middleware.js';
export { session } from './middleware.js';
export { HonoSession } from './session.js';
