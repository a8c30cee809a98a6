export type { BindingOptions, BindingPolicy } from './binding.js';
export { browserFamily, ipPrefix } from './binding.js';
export type { CookieLookup, CookieOptions, CookiePolicy } from './cookie-policy.js';
export { createCookiePolicy, findCookie } from './cookie-policy.js';
export { CSRF_TOKEN_LENGTH, createCsrfToken, verifyCsrfToken } from './csrf.js';
export type {
  DbscAlgorithm,
  DbscRequest,
  DbscResponse,
  DbscScopeRule,
  DeviceBoundSessionOptions,
  DeviceBoundSessions,
} from './dbsc/index.js';
export { createDeviceBoundSessions, jwkThumbprint } from './dbsc/index.js';
export type { NodeDbscOptions } from './dbsc/node-http.js';
export { dbscRequestOf, sendDbscResponse, serveDbsc } from './dbsc/node-http.js';
export type { LoginOptions, SessionEngine } from './engine.js';
export { createSessionEngine } from './engine.js';
export {
  CoatcheckError,
  SessionCapabilityError,
  SessionConfigError,
  SessionLimitError,
  SessionStateError,
  SessionStoreError,
} from './errors.js';
export type { SessionEvent, SessionEventListener, SessionEventType } from './events.js';
export type { GuessLimitOptions } from './guess-limiter.js';
export type { IdentityChange, UserIdOf } from './identity.js';
export { identityChange, passportUserId } from './identity.js';
export type { Keyring } from './keyring.js';
export { createKeyring } from './keyring.js';
export type { SessionEngineOptions } from './options.js';
export { pathMatcher, routingPaths } from './path-prefix.js';
export type { SessionDevice, SessionMetaPatch, SessionPatch, SessionRecord } from './record.js';
export { applyPatch, expiresAt, isForbiddenKey, parseData } from './record.js';
export type {
  RememberedDevice,
  RememberedDeviceStore,
  RememberedRotation,
} from './remember/device.js';
export { applyRotation } from './remember/device.js';
export type { RememberedDeviceInfo } from './remember/info.js';
export type { RememberOptions } from './remember/options.js';
export type {
  OriginDecision,
  OriginPolicy,
  OriginPolicyOptions,
  OriginRejectReason,
  OriginRequest,
} from './request-origin.js';
export { createOriginPolicy, isSafeMethod } from './request-origin.js';
export { endedSessionsOf, type SessionEnd, type SessionEndReason } from './session-end.js';
export type { AuthMethod, RequestInfo, SessionInfo, SessionState } from './state.js';
export type {
  DestroyAllOptions,
  LegacySessionSource,
  RemovedSession,
  SessionStore,
  StoreCapabilities,
} from './store.js';
export { hashSecret, isHandle } from './token.js';
