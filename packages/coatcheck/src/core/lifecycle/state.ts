import type { CookiePolicy } from '../cookies/cookie-policy.js';
import { readDeviceKey } from '../dbsc/device-state.js';
import type { SessionMetaPatch, SessionRecord } from '../store/record.js';
import { flatCopy } from '../tokens/flat-string.js';
import { storeData } from './request-state.js';

/** Facts about the request that the engine needs; adapters fill it in. */
export interface RequestInfo {
  /** The raw Cookie header. */
  cookieHeader?: string | undefined;
  /** Whether the request arrived over HTTPS (with trusted proxies honoured). */
  secure: boolean;
  /** Client address (with the adapter's trusted proxies honoured): device lists, binding, events. */
  ip?: string | undefined;
  /** The User-Agent header: device lists, binding, events. */
  userAgent?: string | undefined;
  /** The application's request id, copied into events for correlation. */
  requestId?: string | undefined;
  /** The adapter's own request object, handed to `generateHandle`. */
  request?: unknown;
  /**
   * Path of the URL the client asked for (before any mount point strips it): outside the cookie's
   * path no cookie is set (express-session).
   */
  path?: string | undefined;
  /**
   * This request's cookie policy, when the cookie options depend on the request (express-session
   * 1.19's `cookie` function): from the configured policy's `forRequest`. Unset: the configured one.
   */
  cookie?: CookiePolicy | undefined;
  /**
   * The request is a DBSC registration or refresh, which proves the device key itself: the bound
   * cookie a key-bound session otherwise needs is not asked for.
   */
  dbscRoute?: boolean | undefined;
}

/**
 * One request's view of its session. Created by `engine.load`, changed by the handler and the
 * lifecycle calls, written by `engine.commit`.
 */
export interface SessionState {
  /** The request facts the adapter gave `engine.load`. */
  readonly info: RequestInfo;
  /** The record as last read or written; null while the session is anonymous (nothing stored yet). */
  record: SessionRecord | null;
  /** Application data: a null-prototype object the handler reads and changes. */
  data: Record<string, unknown>;
  /** JSON text of `data` as last read or written, to find what the handler changed. */
  dataText: string;
  /** The cookie value that names this session, kept to re-send it (renewal, key rotation). */
  cookieValue: string | null;
  /** What the response does with the cookie. */
  cookie: 'keep' | 'set' | 'clear';
  /** express-session's cookie, to be expired after a migration. */
  clearLegacyCookie: string | null;
  /** The session ended in this request (logout, revocation, expiry, or gone from the store). */
  ended: boolean;
  /**
   * Another request ended or rotated this session while this one ran (a write found it gone, or a
   * reload did). Nothing loaded under it is written again, no new session starts from this request,
   * and the response leaves the cookie alone: the browser may already hold the rotated token.
   */
  endedElsewhere: boolean;
  /** Metadata to write at commit (renewal, remember-me). */
  pendingMeta: SessionMetaPatch | null;
  /**
   * The client sent too many cookies this server did not sign lately (S44): answer 429 with the
   * session headers, which clear the cookie, so the client's next request is anonymous.
   */
  throttled: boolean;
  /** The session was ended by logout in this request (the response clears site data, S28). */
  loggedOut: boolean;
  /** Handle promised to the application before the session was stored (read through `req.sessionID`). */
  provisionalHandle: string | null;
  /** Create the session at commit even if its data is empty (an explicit save). */
  forceSave: boolean;
  /**
   * Set by `load` when the request's session ended on arrival: by idle or absolute timeout, or
   * revoked for a change of device. Only an idle lapse may be resumed by a remembered device.
   */
  lapsed?: {
    /** Idle timeout, absolute timeout, or revoked by the binding policy (S42). */
    reason: 'idle' | 'absolute' | 'revoked';
    /** The user the lapsed session was signed in as, or null for an anonymous one. */
    userId: string | null;
    /** The remembered device that session belonged to, if any. */
    rememberedDeviceId: string | undefined;
  };
}

/** What a device list shows of a session: no secret, no token. */
export interface SessionInfo {
  /** Public name of the session; pass it to revocation calls. */
  handle: string;
  /** The signed-in user, or null. */
  userId: string | null;
  /** When the session was created, ms since the epoch. */
  createdAt: number;
  /** Last full authentication, ms since the epoch, or null. */
  authAt: number | null;
  /** Last renewal, ms since the epoch. */
  lastSeenAt: number;
  /** End of the idle timeout, ms since the epoch. */
  idleExpiresAt: number;
  /** End of the absolute timeout, ms since the epoch. */
  absoluteExpiresAt: number;
  /** User-Agent at creation, or null. */
  userAgent: string | null;
  /** Client address at creation, or null. */
  ip: string | null;
  /** Whether this is the session of the request that asked for the list. */
  current: boolean;
  /** The DBSC device key this session is bound to (RFC 7638 thumbprint, algorithm, when), or null. */
  deviceKey: {
    /** RFC 7638 JWK thumbprint of the public key (base64url SHA-256). */
    thumbprint: string;
    /** The key's JWS algorithm (`ES256` or `RS256`). */
    algorithm: string;
    /** When the key was registered, ms since the epoch. */
    boundAt: number;
  } | null;
  /** The remembered device this session belongs to, or null ("keep me signed in", S13). */
  rememberedDevice: string | null;
  /** How the session was last authenticated: a sign-in, or a remembered device (not fresh). */
  authMethod: AuthMethod | null;
}

/**
 * How a signed-in session was last authenticated: `'remembered'` when a remembered device started
 * it and nobody has re-authenticated since (assurance level 1, never fresh), else `'login'`.
 */
export type AuthMethod = 'login' | 'remembered';

export function authMethodOf(
  record: Pick<SessionRecord, 'userId' | 'authAt' | 'rememberedDeviceId'>,
): AuthMethod | null {
  if (record.userId === null) return null;
  return record.rememberedDeviceId !== undefined && record.authAt === null ? 'remembered' : 'login';
}

export function toSessionInfo(record: SessionRecord, currentHandle: string | null): SessionInfo {
  return {
    handle: record.handle,
    userId: record.userId,
    createdAt: record.createdAt,
    authAt: record.authAt,
    lastSeenAt: record.lastSeenAt,
    idleExpiresAt: record.idleExpiresAt,
    absoluteExpiresAt: record.absoluteExpiresAt,
    userAgent: record.device.userAgent ?? null,
    ip: record.device.ip ?? null,
    current: record.handle === currentHandle,
    deviceKey: record.deviceKey === null ? null : deviceKeySummary(record.deviceKey),
    rememberedDevice: record.rememberedDeviceId ?? null,
    authMethod: authMethodOf(record),
  };
}

/** What a device list shows of a stored DBSC key; never the key itself. */
function deviceKeySummary(text: string): SessionInfo['deviceKey'] {
  const key = readDeviceKey(text);
  return key && { thumbprint: key.thumbprint, algorithm: key.alg, boundAt: key.boundAt };
}

/** Points the state at a record just written, with the cookie that names it. */
export function adopt(state: SessionState, next: SessionRecord & { cookieValue: string }): void {
  const { cookieValue, ...record } = next;
  state.record = record;
  state.dataText = record.data;
  state.cookieValue = cookieValue;
  state.cookie = 'set';
  state.ended = false;
  state.pendingMeta = null;
  // Used by the insert that stored it, or moot after a rotation: never handed out again.
  state.provisionalHandle = null;
}

/** Marks the session as ended in this request: empty, anonymous, cookie expired. */
export function endLocally(state: SessionState): void {
  state.record = null;
  storeData(state, '{}');
  state.cookieValue = null;
  state.cookie = 'clear';
  state.ended = true;
  state.pendingMeta = null;
}

/**
 * Marks the session as ended by another request (logout, revocation, rotation): empty and
 * anonymous in this request, and the response neither sets nor clears the cookie, so a token the
 * browser received from the request that rotated it is never deleted.
 */
export function endElsewhere(state: SessionState): void {
  endLocally(state);
  state.cookie = 'keep';
  state.endedElsewhere = true;
  state.forceSave = false;
}

/** The data kept across a login: all of it, or the listed keys. */
export function pickData(data: Record<string, unknown>, keep: boolean | readonly string[]): string {
  if (keep === true) return JSON.stringify(data);
  const kept: Record<string, unknown> = {};
  for (const key of keep === false ? [] : keep) if (key in data) kept[key] = data[key];
  return JSON.stringify(kept);
}

/** The device facts kept with a session. */
export function deviceOf(info: RequestInfo): SessionRecord['device'] {
  return {
    // Kept with the session (in a memory store, in this process): never a view into the headers.
    ...(info.userAgent ? { userAgent: flatCopy(info.userAgent.slice(0, 512)) } : {}),
    ...(info.ip ? { ip: flatCopy(info.ip) } : {}),
  };
}

/** Points the state at a record just read from the store. */
export function readRecordInto(state: SessionState, record: SessionRecord): void {
  state.record = record;
  storeData(state, record.data);
  state.pendingMeta = null;
}

/** The request facts every event carries. */
export function eventContext(state: SessionState) {
  return { ip: state.info.ip, userAgent: state.info.userAgent, requestId: state.info.requestId };
}
