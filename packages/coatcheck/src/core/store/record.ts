/** Device facts captured when a session is created, shown in device lists. */
export interface SessionDevice {
  /** The User-Agent header at creation, as sent. */
  userAgent?: string;
  /** The client address at creation (with the adapter's trusted proxies honoured). */
  ip?: string;
}

/** What a store keeps for one session. Times are milliseconds since the epoch. */
export interface SessionRecord {
  /** Public, non-secret name of the session: shown in lists, used for revocation; never authenticates. */
  handle: string;
  /** SHA-256 of the cookie's secret part (base64url): a dump of the store holds nothing that works as a cookie. */
  secretHash: string;
  /** The signed-in user, or null for an anonymous session. */
  userId: string | null;
  /** When the session was first stored. */
  createdAt: number;
  /** Last full authentication (login or re-authentication), or null for an anonymous session. */
  authAt: number | null;
  /** Last request that renewed the session (renewals are throttled, so this lags by up to that step). */
  lastSeenAt: number;
  /** End of the idle timeout: pushed back by each renewal (OWASP Session Management: idle timeout). */
  idleExpiresAt: number;
  /** End of the absolute timeout: fixed at creation, never pushed back (OWASP: absolute timeout). */
  absoluteExpiresAt: number;
  /** Incremented by the store on every write. */
  version: number;
  /** Device facts at creation, for device lists. */
  device: SessionDevice;
  /**
   * Persistent-cookie lifetime chosen for this session ("remember me"); null follows the `cookie`
   * option; `BROWSER_SESSION_COOKIE` is a browser-session cookie whatever the option says.
   */
  cookieMaxAgeMs: number | null;
  /** Secret behind this session's CSRF tokens (base64url), replaced at every rotation. */
  csrfSecret: string | null;
  /**
   * Authentication assurance level: 0 anonymous, 1 after a password login, 2 or more after a
   * step-up with a further factor (S40). Kept only here, never in the cookie.
   */
  aal: number;
  /** When the last step-up happened, or null; step-up freshness counts from here (S40). */
  stepUpAt: number | null;
  /** When this record's token was issued; periodic rotation counts from here (S21). */
  rotatedAt: number;
  /**
   * Set on a record that periodic rotation replaced: the handle that took over. Until the record
   * expires (the grace period) its token leads to the successor; it is never a session of its own.
   */
  successor: string | null;
  /**
   * Device Bound Session Credentials: the browser key this session is bound to, as JSON text
   * (`DeviceKey` in core/dbsc), or null while unbound. Written only by registration, so no other
   * write of the session can drop it.
   */
  deviceKey: string | null;
  /** DBSC challenges outstanding for this session, as JSON text (`DeviceChallenges` in core/dbsc), or null. */
  deviceChallenge: string | null;
  /**
   * The remembered device this session belongs to: started by its credential, or signed in with
   * "keep me signed in". Ending the device ends the session, and a logout here ends the device.
   */
  rememberedDeviceId?: string;
  /** Application data as a JSON object text. */
  data: string;
}

/** Metadata fields an update may change; data is changed key by key. */
export type SessionMetaPatch = Partial<
  Pick<
    SessionRecord,
    | 'userId'
    | 'authAt'
    | 'lastSeenAt'
    | 'idleExpiresAt'
    | 'absoluteExpiresAt'
    | 'device'
    | 'cookieMaxAgeMs'
    | 'csrfSecret'
    | 'aal'
    | 'stepUpAt'
    | 'deviceKey'
    | 'deviceChallenge'
    | 'rememberedDeviceId'
  >
>;

/**
 * A change to one session. Top-level data keys are set or removed one by one, so two requests that
 * change different keys both keep their writes (connect-redis#75, expressjs/session#606).
 */
export interface SessionPatch {
  /** Data keys to set, each to a JSON text. */
  set?: Record<string, string>;
  /** Data keys to remove. */
  unset?: string[];
  /** Metadata to change in the same write (expiry, user, assurance level, ...). */
  meta?: SessionMetaPatch;
}

/**
 * `cookieMaxAgeMs` of a session the application gave a browser-session cookie although the
 * `cookie` option sets a lifetime: express-session's `req.session.cookie.expires = false` or
 * `maxAge = null` (the unticked "remember me"). Negative, so no lifetime can mean it.
 */
export const BROWSER_SESSION_COOKIE = -1;

/**
 * The session's persistent-cookie lifetime in ms, or null for a browser-session cookie: its own
 * choice, else `configured` (the cookie option's lifetime for a session created at `createdAt`).
 */
export function cookieLifetimeOf(
  record: Pick<SessionRecord, 'cookieMaxAgeMs' | 'createdAt'>,
  configured: (createdAt: number) => number | undefined,
): number | null {
  const own = record.cookieMaxAgeMs;
  if (own === BROWSER_SESSION_COOKIE) return null;
  return own ?? configured(record.createdAt) ?? null;
}

/** When the session ends if nothing renews it: the earlier of the idle and absolute timeouts (ms since the epoch). */
export function expiresAt(record: Pick<SessionRecord, 'idleExpiresAt' | 'absoluteExpiresAt'>): number {
  return Math.min(record.idleExpiresAt, record.absoluteExpiresAt);
}

/** A session a user has: not expired, and not a token replaced on schedule (S21). */
export function isLiveSession(record: SessionRecord, now: number): boolean {
  return record.idleExpiresAt > now && record.absoluteExpiresAt > now && record.successor === null;
}

/** Fields a store written before they existed may lack, with the values they mean. */
export function withRecordDefaults(
  record: Omit<
    SessionRecord,
    'aal' | 'stepUpAt' | 'rotatedAt' | 'successor' | 'deviceKey' | 'deviceChallenge'
  > &
    Partial<SessionRecord>,
): SessionRecord {
  return {
    ...record,
    aal: record.aal ?? (record.userId === null ? 0 : 1),
    stepUpAt: record.stepUpAt ?? null,
    rotatedAt: record.rotatedAt ?? record.createdAt,
    successor: record.successor ?? null,
    deviceKey: record.deviceKey ?? null,
    deviceChallenge: record.deviceChallenge ?? null,
  };
}

/** Keys that are never data: writing them could reach an object's prototype (S51). */
export function isForbiddenKey(key: string): boolean {
  return key === '__proto__' || key === 'constructor' || key === 'prototype';
}

/**
 * Parses a data object into null-prototype objects all the way down, dropping prototype keys at any
 * depth (S51). A plain `JSON.parse`, then one walk that clears each object's prototype in place: a
 * reviver did the same at three to four times the cost, and overflowed the stack on deep nesting.
 * Anything but a JSON object gives empty data.
 */
export function parseData(text: string): Record<string, unknown> {
  if (text === '{}') return Object.create(null) as Record<string, unknown>;
  const value: unknown = JSON.parse(text);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return Object.create(null);
  const pending: object[] = [value];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (Array.isArray(next)) {
      for (const item of next) if (item !== null && typeof item === 'object') pending.push(item);
      continue;
    }
    // Own keys only once the prototype is gone; JSON.parse made `"__proto__"` an own key, never the
    // prototype, so deleting it deletes that key.
    Object.setPrototypeOf(next, null);
    const object = next as Record<string, unknown>;
    for (const key in object) {
      if (isForbiddenKey(key)) delete object[key];
      else {
        const item = object[key];
        if (item !== null && typeof item === 'object') pending.push(item);
      }
    }
  }
  return value as Record<string, unknown>;
}

/** Applies a patch to a record in memory: the reference semantics every store implements. */
export function applyPatch(record: SessionRecord, patch: SessionPatch): SessionRecord {
  let data = record.data;
  if (patch.set || patch.unset) {
    const object = JSON.parse(record.data) as Record<string, unknown>;
    for (const key of patch.unset ?? []) delete object[key];
    for (const [key, value] of Object.entries(patch.set ?? {})) {
      if (isForbiddenKey(key)) continue;
      object[key] = JSON.parse(value);
    }
    data = JSON.stringify(object);
  }
  return { ...record, ...patch.meta, data, version: record.version + 1 };
}

/**
 * The old record after a rotation with a grace period: a pointer to its successor that expires at
 * `graceUntil` (or earlier, if it was to expire anyway). Both expiries are brought forward, so a
 * write of the idle expiry that races the rotation cannot stretch the grace period (S21). The
 * reference semantics every store implements.
 */
export function supersede(record: SessionRecord, successor: string, graceUntil: number): SessionRecord {
  return {
    ...record,
    successor,
    idleExpiresAt: Math.min(record.idleExpiresAt, graceUntil),
    absoluteExpiresAt: Math.min(record.absoluteExpiresAt, graceUntil),
    version: record.version + 1,
  };
}

/**
 * A change to data between two JSON texts of one session, key by key. A value JSON cannot hold
 * (undefined, a function, a symbol) is an absent key, as `JSON.stringify` and express-session
 * store it.
 */
export function diffData(beforeText: string, after: Record<string, unknown>): SessionPatch | null {
  const before = JSON.parse(beforeText) as Record<string, unknown>;
  const set: Record<string, string> = {};
  const unset: string[] = [];
  const present = new Set<string>();
  for (const key of Object.keys(after)) {
    if (isForbiddenKey(key)) continue;
    const text = JSON.stringify(after[key]) as string | undefined;
    if (text === undefined) continue;
    present.add(key);
    if (!(key in before) || JSON.stringify(before[key]) !== text) set[key] = text;
  }
  for (const key of Object.keys(before)) if (!present.has(key)) unset.push(key);
  const setsAny = Object.keys(set).length > 0;
  if (!setsAny && unset.length === 0) return null;
  return { ...(setsAny ? { set } : {}), ...(unset.length ? { unset } : {}) };
}
