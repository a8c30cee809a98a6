/** Device facts captured when a session is created, shown in device lists. */
export interface SessionDevice {
  userAgent?: string;
  ip?: string;
}

/** What a store keeps for one session. Times are milliseconds since the epoch. */
export interface SessionRecord {
  /** Public, non-secret name of the session: shown in lists, used for revocation; never authenticates. */
  handle: string;
  /** SHA-256 of the cookie's secret part (base64url): a dump of the store holds nothing that works as a cookie. */
  secretHash: string;
  userId: string | null;
  createdAt: number;
  /** Last full authentication (login or re-authentication), or null for an anonymous session. */
  authAt: number | null;
  lastSeenAt: number;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
  /** Incremented by the store on every write. */
  version: number;
  device: SessionDevice;
  /** Persistent-cookie lifetime chosen for this session ("remember me"), or null for a browser-session cookie. */
  cookieMaxAgeMs: number | null;
  /** Secret behind this session's CSRF tokens (base64url), replaced at every rotation. */
  csrfSecret: string | null;
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
  meta?: SessionMetaPatch;
}

export function expiresAt(record: Pick<SessionRecord, 'idleExpiresAt' | 'absoluteExpiresAt'>): number {
  return Math.min(record.idleExpiresAt, record.absoluteExpiresAt);
}

/** Keys that are never data: writing them could reach an object's prototype (S51). */
export function isForbiddenKey(key: string): boolean {
  return key === '__proto__' || key === 'constructor' || key === 'prototype';
}

/** Parses a data object into null-prototype objects all the way down, dropping prototype keys (S51). */
export function parseData(text: string): Record<string, unknown> {
  if (text === '{}') return Object.create(null) as Record<string, unknown>;
  const value: unknown = JSON.parse(text, (key, item: unknown) => {
    if (isForbiddenKey(key)) return undefined;
    if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
      return Object.assign(Object.create(null) as Record<string, unknown>, item);
    }
    return item;
  });
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return Object.create(null);
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

/** A change to data between two JSON texts of one session, key by key. */
export function diffData(beforeText: string, after: Record<string, unknown>): SessionPatch | null {
  const before = JSON.parse(beforeText) as Record<string, unknown>;
  const set: Record<string, string> = {};
  const unset: string[] = [];
  let changed = false;
  for (const key of Object.keys(after)) {
    if (isForbiddenKey(key)) continue;
    const value = after[key];
    if (value === undefined) continue;
    const text = JSON.stringify(value);
    if (!(key in before) || JSON.stringify(before[key]) !== text) {
      set[key] = text;
      changed = true;
    }
  }
  for (const key of Object.keys(before)) {
    if (!(key in after) || after[key] === undefined) {
      unset.push(key);
      changed = true;
    }
  }
  if (!changed) return null;
  return { ...(Object.keys(set).length ? { set } : {}), ...(unset.length ? { unset } : {}) };
}
