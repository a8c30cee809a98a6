import { isForbiddenKey, type SessionPatch, type SessionRecord } from '../../core/store/record.js';

/**
 * One Redis hash per session: metadata fields by name, and one `d:<key>` field per top-level data
 * key holding that key's JSON text. A per-key update is then HSET/HDEL in Lua, never a JSON decode
 * there (cjson would round large numbers). A null metadata value is an absent field.
 */
const DATA = 'd:';

type Meta = Exclude<keyof SessionRecord, 'handle' | 'data' | 'version'>;
const NULLABLE = new Set<Meta>([
  'userId',
  'authAt',
  'cookieMaxAgeMs',
  'csrfSecret',
  'stepUpAt',
  'successor',
  'deviceKey',
  'deviceChallenge',
  'rememberedDeviceId',
]);

function encodeMeta(field: Meta, value: unknown): string | null {
  if (value === null || value === undefined) return null;
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
    'deviceKey',
    'deviceChallenge',
    'rememberedDeviceId',
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

/**
 * Calls `visit` for each field of a hash reply, whatever shape the driver gives it (an object, a Map
 * or a flat array), without building an intermediate list: this runs on every authenticated request.
 */
function forEachField(reply: unknown, visit: (field: string, value: string) => void): void {
  if (reply === null || reply === undefined) return;
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) visit(String(reply[i]), String(reply[i + 1]));
  } else if (reply instanceof Map) {
    for (const [field, value] of reply) visit(String(field), String(value));
  } else if (typeof reply === 'object') {
    const object = reply as Record<string, unknown>;
    for (const field in object) visit(field, String(object[field]));
  }
}

const optionalNumber = (text: string | undefined) => (text === undefined ? null : Number(text));

/** The record held in a hash reply, or null for an empty (missing) or foreign hash. */
export function decodeRecord(handle: string, reply: unknown): SessionRecord | null {
  const meta: Record<string, string> = Object.create(null) as Record<string, string>;
  let data = '';
  forEachField(reply, (field, value) => {
    if (field.startsWith(DATA)) {
      data += `${data ? ',' : ''}${JSON.stringify(field.slice(DATA.length))}:${value}`;
    } else {
      meta[field] = value;
    }
  });
  const secretHash = meta.secretHash;
  if (secretHash === undefined) return null;
  const userId = meta.userId ?? null;
  const createdAt = Number(meta.createdAt);
  return {
    handle,
    secretHash,
    userId,
    createdAt,
    authAt: optionalNumber(meta.authAt),
    // A pointer left by a rotation with a grace period has none (see SUPERSEDE_OLD).
    lastSeenAt: meta.lastSeenAt === undefined ? createdAt : Number(meta.lastSeenAt),
    idleExpiresAt: Number(meta.idleExpiresAt),
    absoluteExpiresAt: Number(meta.absoluteExpiresAt),
    version: Number(meta.version),
    device: JSON.parse(meta.device ?? '{}') as SessionRecord['device'],
    cookieMaxAgeMs: optionalNumber(meta.cookieMaxAgeMs),
    csrfSecret: meta.csrfSecret ?? null,
    // Hashes written before these fields existed: signed-in sessions were password logins.
    aal: meta.aal === undefined ? (userId === null ? 0 : 1) : Number(meta.aal),
    stepUpAt: optionalNumber(meta.stepUpAt),
    rotatedAt: meta.rotatedAt === undefined ? createdAt : Number(meta.rotatedAt),
    successor: meta.successor ?? null,
    deviceKey: meta.deviceKey ?? null,
    deviceChallenge: meta.deviceChallenge ?? null,
    ...(meta.rememberedDeviceId === undefined ? {} : { rememberedDeviceId: meta.rememberedDeviceId }),
    data: `{${data}}`,
  };
}
