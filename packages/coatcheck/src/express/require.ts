// CommonJS entry: `require('coatcheck/express')` returns the middleware factory itself, with the
// classes and helpers attached, as `require('express-session')` does.
import * as api from './index.js';

const factory = Object.assign(api.session, api, { default: api.session });

// CommonJS TypeScript sees this module as `export =`; the types ride on a namespace of the same name
// so that `import { type TypedSession } from 'coatcheck/express'` compiles with or without
// esModuleInterop. A type-only namespace merges with the value (an instantiated one could not).
declare namespace factory {
  export type Session = api.Session;
  export type Cookie = api.Cookie;
  export type Store = api.Store;
  export type MemoryStore = api.MemoryStore;
  export type ConnectStore = api.ConnectStore;
  export type CoatcheckError = api.CoatcheckError;
  export type SessionStoreError = api.SessionStoreError;
  export type SessionData = api.SessionData;
  export type TypedSession = api.TypedSession;
  export type SessionMeta = api.SessionMeta;
  export type SessionOptions = api.SessionOptions;
  export type SessionCookieOptions = api.SessionCookieOptions;
  export type SessionMiddleware = api.SessionMiddleware;
  export type SessionEvent = api.SessionEvent;
  export type SessionEventType = api.SessionEventType;
  export type SessionEnd = api.SessionEnd;
  export type SessionEndReason = api.SessionEndReason;
  export type SessionInfo = api.SessionInfo;
  export type SessionRecord = api.SessionRecord;
  export type SessionStore = api.SessionStore;
  export type CsrfOptions = api.CsrfOptions;
  export type RequireAuthOptions = api.RequireAuthOptions;
  export type RequireFreshAuthOptions = api.RequireFreshAuthOptions;
  export type RequireRoleOptions = api.RequireRoleOptions;
  export type RequireStepUpOptions = api.RequireStepUpOptions;
}
export = factory;
