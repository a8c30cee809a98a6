export type { CookieOptions, CookiePolicy } from './cookies/cookie-policy.js';
export { createCookiePolicy } from './cookies/cookie-policy.js';
export { type CookieLookup, findCookie } from './cookies/find-cookie.js';
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
export type { IdentityChange, UserIdOf } from './lifecycle/identity.js';
export { identityChange, passportUserId } from './lifecycle/identity.js';
export { endedSessionsOf, type SessionEnd, type SessionEndReason } from './lifecycle/session-end.js';
export type { AuthMethod, RequestInfo, SessionInfo, SessionState } from './lifecycle/state.js';
export type { SessionEngineOptions } from './options.js';
export type { BindingOptions, BindingPolicy } from './policies/binding.js';
export { browserFamily, ipPrefix } from './policies/binding.js';
export { CSRF_TOKEN_LENGTH, createCsrfToken, verifyCsrfToken } from './policies/csrf.js';
export type { GuessLimitOptions } from './policies/guess-limiter.js';
export { pathMatcher, routingPaths } from './policies/path-prefix.js';
export type {
  OriginDecision,
  OriginPolicy,
  OriginPolicyOptions,
  OriginRejectReason,
  OriginRequest,
} from './policies/request-origin.js';
export { createOriginPolicy, isSafeMethod } from './policies/request-origin.js';
export type {
  RememberedDevice,
  RememberedDeviceStore,
  RememberedRotation,
} from './remember/device.js';
export { applyRotation } from './remember/device.js';
export type { RememberedDeviceInfo } from './remember/info.js';
export type { RememberOptions } from './remember/options.js';
export type { SessionDevice, SessionMetaPatch, SessionPatch, SessionRecord } from './store/record.js';
export { applyPatch, expiresAt, isForbiddenKey, parseData } from './store/record.js';
export type {
  CreateOptions,
  DestroyAllOptions,
  LegacySessionSource,
  RemovedSession,
  Renewal,
  SessionStore,
  StoreCapabilities,
} from './store/store.js';
export type { Keyring } from './tokens/keyring.js';
export { createKeyring } from './tokens/keyring.js';
export { hashSecret, isHandle } from './tokens/token.js';
