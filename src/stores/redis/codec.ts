import { isForbiddenKey, type SessionPatch, type SessionRecord } from '../../core/record.js';

/**
 * One Redis hash per session: metadata fields by name, and one `d:<key>` field per top-level data
 * key holding that key's JSON text. A per-key update is then HSET/HDEL in Lua, never a JSON decode
 * there (cjson would round large numbers). A null metadata value is an absent field.
 */
const DATA = 'd:';

type Meta = Exclude<keyof SessionRecord, 'handle' | 'data' | 'version'>;
const NULLABLE = new Set<Meta>(['userId', 'authAt', 'cookieMaxAgeMs', 'csrfSecret', 'stepUpAt', 'successor']);

function encodeMeta(field: Meta, value: unknown): string | null {
  if (value === null) return null;
  if (field === 'device') return JSON.stringify(value);
  return String(value);
}

/** Field, value pairs for a whole new record (version included). */
export function encodeRecord(record: SessionRecord): string[] {
  const pairs: string[] = ['version', String(record.version)];
  for (const field of [
    'secretHash',
    'userId',
    'createdAt',
    'authAt',
    'lastSeenAt',
    'idleExpiresAt',
    'absoluteExpiresAt',
    'device',
    'cookieMaxAgeMs',
    'csrfSecret',
    'aal',
    'stepUpAt',
    'rotatedAt',
    'successor',
  ] as const) {
    const value = encodeMeta(field, record[field]);
    if (value !== null) pairs.push(field, value);
  }
  const data = JSON.parse(record.data) as Record<string, unknown>;
  for (const key of Object.keys(data)) {
    const value = data[key];
    if (value !== undefined) pairs.push(DATA + key, JSON.stringify(value));
  }
  return pairs;
}

/** Fields to delete and field, value pairs to set for a patch: what the UPDATE script receives. */
export function encodePatch(patch: SessionPatch): { remove: string[]; set: string[] } {
  const remove = (patch.unset ?? []).map((key) => DATA + key);
  const set: string[] = [];
  for (const [key, text] of Object.entries(patch.set ?? {})) {
    // Same rule as applyPatch: a prototype key is never written (S51).
    if (!isForbiddenKey(key)) set.push(DATA + key, text);
  }
  for (const [field, value] of Object.entries(patch.meta ?? {}) as [Meta, unknown][]) {
    if (value === undefined) continue;
    const encoded = encodeMeta(field, value);
    if (encoded === null) {
      if (NULLABLE.has(field)) remove.push(field);
    } else {
      set.push(field, encoded);
    }
  }
  return { remove, set };
}

/** A hash reply as [field, value] pairs, whatever shape the driver gives it (object, Map or flat array). */
export function replyPairs(reply: unknown): [string, string][] {
  if (reply === null || reply === undefined) return [];
  if (Array.isArray(reply)) {
    const pairs: [string, string][] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) pairs.push([String(reply[i]), String(reply[i + 1])]);
    return pairs;
  }
  if (reply instanceof Map) return [...reply].map(([field, value]) => [String(field), String(value)]);
  if (typeof reply === 'object') {
    return Object.entries(reply as Record<string, unknown>).map(([field, value]) => [field, String(value)]);
  }
  return [];
}

const optionalNumber = (text: string | undefined) => (text === undefined ? null : Number(text));

/** The record held in a hash, or null for an empty (missing) or foreign hash. */
export function decodeRecord(handle: string, pairs: [string, string][]): SessionRecord | null {
  const meta = new Map<string, string>();
  const data: string[] = [];
  for (const [field, value] of pairs) {
    if (field.startsWith(DATA)) data.push(`${JSON.stringify(field.slice(DATA.length))}:${value}`);
    else meta.set(field, value);
  }
  const secretHash = meta.get('secretHash');
  if (secretHash === undefined) return null;
  const userId = meta.get('userId') ?? null;
  const createdAt = Number(meta.get('createdAt'));
  const aal = meta.get('aal');
  const rotatedAt = meta.get('rotatedAt');
  return {
    handle,
    secretHash,
    userId,
    createdAt,
    authAt: optionalNumber(meta.get('authAt')),
    lastSeenAt: Number(meta.get('lastSeenAt')),
    idleExpiresAt: Number(meta.get('idleExpiresAt')),
    absoluteExpiresAt: Number(meta.get('absoluteExpiresAt')),
    version: Number(meta.get('version')),
    device: JSON.parse(meta.get('device') ?? '{}') as SessionRecord['device'],
    cookieMaxAgeMs: optionalNumber(meta.get('cookieMaxAgeMs')),
    csrfSecret: meta.get('csrfSecret') ?? null,
    // Hashes written before these fields existed: signed-in sessions were password logins.
    aal: aal === undefined ? (userId === null ? 0 : 1) : Number(aal),
    stepUpAt: optionalNumber(meta.get('stepUpAt')),
    rotatedAt: rotatedAt === undefined ? createdAt : Number(rotatedAt),
    successor: meta.get('successor') ?? null,
    data: `{${data.join(',')}}`,
  };
}
