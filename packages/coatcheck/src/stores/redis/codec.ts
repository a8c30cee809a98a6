// Over ~250 lines on purpose: the whole encoding of a session in Redis (the three layouts, patches,
// and the decoder every read runs) in one place, so a field added to the record is added here once.
import {
  isForbiddenKey,
  type SessionDevice,
  type SessionPatch,
  type SessionRecord,
} from '../../core/store/record.js';

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

/**
 * Present in every live session's hash written field by field and absent from such a session's
 * rotation pointer, which stays a hash: the RENEW script writes it with the renewal's other fields,
 * and HSET's count of fields it added then tells that the hash was not a live session (gone,
 * superseded, or written before this field existed) without reading it first. A packed hash has no
 * need of it: its rotation pointer is a string (HSET fails), and a gone session's HSET adds every
 * field it writes.
 */
export const LIVE = 'live';

/**
 * The hash field holding, as one JSON object of strings, every metadata field no script reads or
 * writes on its own (`PACKED`). A read then decodes far fewer fields: each field of an HGETALL reply
 * is two strings the Redis client builds one by one, and that was most of a read's client work.
 */
export const META = 'meta';

/** Every metadata field, in the order a new hash is written. */
const FIELDS = [
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
] as const satisfies readonly Meta[];

/** The metadata the Lua scripts (scripts.ts) read or write by name: a field each. */
const SCRIPTED = new Set<Meta>(['userId', 'lastSeenAt', 'idleExpiresAt', 'absoluteExpiresAt', 'successor']);

/** The metadata fields kept in {@link META}. */
const PACKED = new Set<Meta>(FIELDS.filter((field) => !SCRIPTED.has(field)));

/**
 * How a new session is stored. `'string'`: one Redis string, {@link HEADER} then a JSON list of the
 * other field, value pairs ({@link encodeString}). `'packed'`: a hash, with {@link META} plus a field
 * for each one the scripts use. `'fields'`: a hash, a field each, as 0.1.0 wrote and reads them.
 */
export type RedisLayout = 'string' | 'packed' | 'fields';

/**
 * The string layout's header: `lastSeenAt`, `idleExpiresAt` and `version`, each as its number's
 * text padded with spaces to {@link HEADER_FIELD} characters (no JavaScript number's text is
 * longer). A renewal rewrites these three in place, with SETRANGE at offset 0.
 */
export const HEADER_FIELD = 24;
/** Length of the string layout's header; a string no longer than it is no session. */
export const HEADER = 3 * HEADER_FIELD;

/** The string layout's header for these values ({@link HEADER}). */
export function encodeHeader(lastSeenAt: number, idleExpiresAt: number, version: number): string {
  return (
    String(lastSeenAt).padEnd(HEADER_FIELD) +
    String(idleExpiresAt).padEnd(HEADER_FIELD) +
    String(version).padEnd(HEADER_FIELD)
  );
}

/**
 * A whole record in the string layout: {@link HEADER}, then a JSON array of every other field,
 * value pair, each a string (metadata by name, data as `d:<key>` with that key's JSON text) but the
 * device, an object of strings ({@link deviceEntry}). A Lua script then decodes nothing but strings
 * (cjson would round large numbers). Lone surrogates become U+FFFD, as they do in a hash, whose
 * values travel as UTF-8 (cjson refuses them).
 */
export function encodeString(record: SessionRecord): string {
  const list: unknown[] = [];
  for (const field of FIELDS) {
    if (field === 'lastSeenAt' || field === 'idleExpiresAt') continue;
    if (field === 'device') {
      const device = deviceEntry(record.device);
      if (device !== null) list.push(field, device);
      continue;
    }
    const value = encodeMeta(field, record[field]);
    if (value !== null) list.push(field, value.toWellFormed());
  }
  pushData(list, record.data);
  return encodeHeader(record.lastSeenAt, record.idleExpiresAt, record.version) + JSON.stringify(list);
}

/**
 * The device as the string layout holds it: the object itself when it is a plain object whose keys
 * and values are well-formed strings (as a request's always is), so the read's one `JSON.parse`
 * decodes it with the rest (a nested JSON text cost a second parse, about 1 µs for a browser's
 * User-Agent); otherwise its JSON text, as a hash holds it, whose escapes keep every key and value
 * as it was (cjson refuses the escape of a lone surrogate, and turns an empty array into `{}`).
 * Null for no device, which the list then leaves out, as a hash does.
 */
function deviceEntry(device: SessionDevice | null | undefined): SessionDevice | string | null {
  if (device === null || device === undefined) return null;
  if (typeof device !== 'object' || Array.isArray(device)) return JSON.stringify(device);
  for (const [key, value] of Object.entries(device) as [string, unknown][]) {
    const plain = value === undefined || (typeof value === 'string' && value.isWellFormed());
    if (!plain || !key.isWellFormed()) return JSON.stringify(device);
  }
  return device;
}

/**
 * The data's top-level keys as `d:<key>`, JSON text pairs. A key's lone surrogates become U+FFFD,
 * as they do in a hash field's name (the values are JSON texts, whose escapes cjson reads as text).
 */
function pushData(pairs: unknown[], text: string): void {
  const data = JSON.parse(text) as Record<string, unknown>;
  for (const key of Object.keys(data)) {
    const value = data[key];
    if (value !== undefined) pairs.push((DATA + key).toWellFormed(), JSON.stringify(value));
  }
}

/**
 * What a new record's script writes: field, value pairs (version included) for a hash layout, or
 * the string layout's one value.
 */
export function encodeRecord(record: SessionRecord, layout: RedisLayout = 'string'): string[] {
  if (layout === 'string') return [encodeString(record)];
  const pairs: string[] = ['version', String(record.version)];
  if (record.successor === null && layout === 'fields') pairs.push(LIVE, '1');
  const packed: Record<string, string> = {};
  for (const field of FIELDS) {
    const value = encodeMeta(field, record[field]);
    if (value === null) continue;
    if (layout === 'packed' && PACKED.has(field)) packed[field] = value;
    else pairs.push(field, value);
  }
  if (layout === 'packed') pairs.push(META, JSON.stringify(packed));
  pushData(pairs, record.data);
  return pairs;
}

/**
 * What the UPDATE script receives for a patch: fields to delete and field, value pairs to set, and
 * the packable metadata as one JSON object (null for a field to remove; '' for none), which the
 * script merges into {@link META}, or writes field by field into a hash without it. A record in the
 * string layout takes all three the same way, its header's fields included.
 */
export function encodePatch(patch: SessionPatch): { remove: string[]; set: string[]; packed: string } {
  const remove = (patch.unset ?? []).map((key) => DATA + key);
  const set: string[] = [];
  for (const [key, text] of Object.entries(patch.set ?? {})) {
    // Same rule as applyPatch: a prototype key is never written (S51).
    if (!isForbiddenKey(key)) set.push(DATA + key, text);
  }
  const packed: Record<string, string | null> = {};
  let packs = false;
  for (const [field, value] of Object.entries(patch.meta ?? {}) as [Meta, unknown][]) {
    if (value === undefined) continue;
    const encoded = encodeMeta(field, value)?.toWellFormed() ?? null;
    if (PACKED.has(field)) {
      if (encoded !== null || NULLABLE.has(field)) {
        packed[field] = encoded;
        packs = true;
      }
    } else if (encoded === null) {
      if (NULLABLE.has(field)) remove.push(field);
    } else {
      set.push(field, encoded);
    }
  }
  return { remove, set, packed: packs ? JSON.stringify(packed) : '' };
}

/**
 * One hash field written into the record being decoded (data fields are gathered apart). Every
 * field of the record exists from the start, so all decoded records share one shape.
 */
function readField(record: SessionRecord, field: string, value: string): void {
  switch (field) {
    case 'secretHash':
      record.secretHash = value;
      break;
    case 'userId':
      record.userId = value;
      break;
    case 'createdAt':
      record.createdAt = Number(value);
      break;
    case 'authAt':
      record.authAt = Number(value);
      break;
    case 'lastSeenAt':
      record.lastSeenAt = Number(value);
      break;
    case 'idleExpiresAt':
      record.idleExpiresAt = Number(value);
      break;
    case 'absoluteExpiresAt':
      record.absoluteExpiresAt = Number(value);
      break;
    case 'version':
      record.version = Number(value);
      break;
    case 'device':
      record.device = JSON.parse(value) as SessionRecord['device'];
      break;
    case 'cookieMaxAgeMs':
      record.cookieMaxAgeMs = Number(value);
      break;
    case 'csrfSecret':
      record.csrfSecret = value;
      break;
    case 'aal':
      record.aal = Number(value);
      break;
    case 'stepUpAt':
      record.stepUpAt = Number(value);
      break;
    case 'rotatedAt':
      record.rotatedAt = Number(value);
      break;
    case 'successor':
      record.successor = value;
      break;
    case 'deviceKey':
      record.deviceKey = value;
      break;
    case 'deviceChallenge':
      record.deviceChallenge = value;
      break;
    case 'rememberedDeviceId':
      record.rememberedDeviceId = value;
      break;
  }
}

/** Returns the object it is given, so a subclass can stamp private fields on any object. */
class Stamped {
  constructor(target: object) {
    // biome-ignore lint/correctness/noConstructorReturn: the stamp's subject is the given object
    return target;
  }
}

/**
 * The layout each decoded record was read from: its renewal is written the way that layout's
 * live sessions and rotation pointers tell apart (a hash without {@link META} is `'fields'`, whose
 * pointer stays a hash where only the atomic RENEW script can see it). Held in a private field of
 * the record itself, which spreads, comparisons, `structuredClone` and JSON never see; a WeakMap
 * entry cost every read about 0.5 µs more, and the collector its weak entries.
 */
class LayoutStamp extends Stamped {
  #layout: RedisLayout;

  private constructor(record: SessionRecord, layout: RedisLayout) {
    super(record);
    this.#layout = layout;
  }

  static get(record: object): RedisLayout | undefined {
    return #layout in record ? (record as LayoutStamp).#layout : undefined;
  }

  static set(record: SessionRecord, layout: RedisLayout): void {
    if (#layout in record) (record as unknown as LayoutStamp).#layout = layout;
    else new LayoutStamp(record, layout);
  }
}

/** The layout this record was read from; undefined for a record built elsewhere. */
export function layoutReadFrom(record: SessionRecord): RedisLayout | undefined {
  return LayoutStamp.get(record);
}

/** `record`, known from now on as read from `layout` (a renewal's answer, built from what was read). */
export function readFrom(record: SessionRecord, layout: RedisLayout): SessionRecord {
  LayoutStamp.set(record, layout);
  return record;
}

/**
 * The fields packed in {@link META}. Read before the hash's own fields, which then win: only an
 * instance of 0.1.0 writes one of these as a field of its own, and it wrote it after the packed value.
 */
function readPacked(record: SessionRecord, packed: string): void {
  const fields = JSON.parse(packed) as Record<string, unknown>;
  for (const field in fields) {
    const value = fields[field];
    if (typeof value === 'string' && PACKED.has(field as Meta)) readField(record, field, value);
  }
}

/** A Map's or an object's field, value pairs as one flat list, as HGETALL sends them. */
function flatten(reply: object): unknown[] {
  const entries = reply instanceof Map ? [...reply] : Object.entries(reply);
  return entries.flat();
}

/**
 * The record held in a reply, or null for a missing key, a foreign hash or a renewal's stub. The
 * reply may be a string (the string layout's value, or the JSON list of a packed session's rotation
 * pointer), or a hash as the flat field, value list (what the store asks node-redis and ioredis
 * for), an object or a Map; it is read once, into the record itself: this runs on every
 * authenticated request.
 */
export function decodeRecord(handle: string, reply: unknown): SessionRecord | null {
  if (typeof reply === 'string') {
    // A rotation's pointer in the packed layout: the field, value list as a JSON array (scripts.ts).
    if (reply.charCodeAt(0) === 91 /* [ */) return decodeRecord(handle, JSON.parse(reply));
    if (reply.length <= HEADER) return null;
    const record = decodeList(handle, JSON.parse(reply.slice(HEADER)) as unknown[], false);
    if (!record) return null;
    record.lastSeenAt = Number(reply.slice(0, HEADER_FIELD));
    record.idleExpiresAt = Number(reply.slice(HEADER_FIELD, 2 * HEADER_FIELD));
    record.version = Number(reply.slice(2 * HEADER_FIELD, HEADER));
    LayoutStamp.set(record, 'string');
    return record;
  }
  if (reply === null || reply === undefined || typeof reply !== 'object') return null;
  return decodeList(handle, Array.isArray(reply) ? reply : flatten(reply), true);
}

/** A record from its field, value list; `hash`: from a hash, which without {@link META} was written field by field. */
function decodeList(handle: string, list: unknown[], hash: boolean): SessionRecord | null {
  const record: SessionRecord = {
    handle,
    secretHash: '',
    userId: null,
    createdAt: Number.NaN,
    authAt: null,
    lastSeenAt: Number.NaN,
    idleExpiresAt: Number.NaN,
    absoluteExpiresAt: Number.NaN,
    version: Number.NaN,
    device: {},
    cookieMaxAgeMs: null,
    csrfSecret: null,
    aal: -1,
    stepUpAt: null,
    rotatedAt: Number.NaN,
    successor: null,
    deviceKey: null,
    deviceChallenge: null,
    data: '',
  };
  // Only a hash (or a packed session's pointer, its list) holds META; a string session never does.
  if (hash) {
    let packed = false;
    for (let i = 0; i + 1 < list.length; i += 2) {
      if (String(list[i]) === META) {
        readPacked(record, String(list[i + 1]));
        packed = true;
        break;
      }
    }
    LayoutStamp.set(record, packed ? 'packed' : 'fields');
  }
  let data = '';
  for (let i = 0; i + 1 < list.length; i += 2) {
    const field = String(list[i]);
    const value = list[i + 1];
    if (field.startsWith(DATA)) {
      data += `${data ? ',' : ''}${JSON.stringify(field.slice(DATA.length))}:${String(value)}`;
    } else if (typeof value === 'object' && value !== null && field === 'device') {
      // The string layout's device, decoded with the list (deviceEntry).
      record.device = value as SessionDevice;
    } else if (field !== META) {
      readField(record, field, String(value));
    }
  }
  if (record.secretHash === '') return null;
  // Hashes written before these fields existed: signed-in sessions were password logins.
  if (record.aal === -1) record.aal = record.userId === null ? 0 : 1;
  if (Number.isNaN(record.rotatedAt)) record.rotatedAt = record.createdAt;
  record.data = `{${data}}`;
  return record;
}
