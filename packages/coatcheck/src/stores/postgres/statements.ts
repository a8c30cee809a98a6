import { createHash } from 'node:crypto';
import { expiresAt, type SessionMetaPatch, type SessionRecord } from '../../core/store/record.js';
import type { TableNames } from './schema.js';

/** Advisory lock class shared by every instance's pruner; the table's name hash is the second key. */
const PRUNE_LOCK_CLASS = 1668243828;

/** A named (prepared) statement: parsed once per connection, then only bound and executed. */
export interface Statement {
  name: string;
  text: string;
}

/** A session row as pg returns it: bigint columns arrive as strings. */
export interface Row {
  handle: string;
  secret_hash: string;
  user_id: string | null;
  created_at: string | number;
  auth_at: string | number | null;
  last_seen_at: string | number;
  idle_expires_at: string | number;
  absolute_expires_at: string | number;
  version: number;
  device: string;
  cookie_max_age_ms: string | number | null;
  csrf_secret: string | null;
  aal: number;
  step_up_at: string | number | null;
  rotated_at: string | number | null;
  successor: string | null;
  device_key: string | null;
  device_challenge: string | null;
  remembered_device?: string | null;
  data: string;
}

// jsonb is returned as text: the record carries JSON text, and a pg type parser an application
// installed for jsonb cannot change what the store reads.
const RETURNED = `handle, secret_hash, user_id, created_at, auth_at, last_seen_at, idle_expires_at,
  absolute_expires_at, version, device::text AS device, cookie_max_age_ms, csrf_secret, aal, step_up_at,
  rotated_at, successor, device_key, device_challenge, remembered_device, data::text AS data`;

const INSERTED = `handle, secret_hash, user_id, created_at, auth_at, last_seen_at, idle_expires_at,
  absolute_expires_at, expires_at, version, device, cookie_max_age_ms, csrf_secret, aal, step_up_at,
  rotated_at, successor, device_key, device_challenge, remembered_device, data`;

/** Placeholders for `insertValues`, typed so they also work in `INSERT ... SELECT`. */
const placeholders = (first: number) =>
  [
    'text',
    'text',
    'text',
    'bigint',
    'bigint',
    'bigint',
    'bigint',
    'bigint',
    'bigint',
    'integer',
    'jsonb',
    'bigint',
    'text',
    'integer',
    'bigint',
    'bigint',
    'text',
    'text',
    'text',
    'text',
    'jsonb',
  ]
    .map((type, i) => `$${first + i}::${type}`)
    .join(', ');

/** Meta fields as one jsonb parameter: a key present means "set", so null stays a value. */
const metaColumn = (column: string, key: keyof SessionMetaPatch, type: 'text' | 'bigint') => {
  const value = type === 'text' ? `$4::jsonb->>'${key}'` : `($4::jsonb->>'${key}')::bigint`;
  return `CASE WHEN $4::jsonb ? '${key}' THEN ${value} ELSE ${column} END`;
};

function named(operation: string, text: string): Statement {
  const digest = createHash('sha256').update(text).digest('hex').slice(0, 12);
  return { name: `coatcheck_${operation}_${digest}`, text };
}

/** Every statement the store runs; each operation is exactly one of them. */
export function buildStatements(names: TableNames) {
  const t = names.sessions;
  const idle = metaColumn('idle_expires_at', 'idleExpiresAt', 'bigint');
  const absolute = metaColumn('absolute_expires_at', 'absoluteExpiresAt', 'bigint');
  return {
    get: named('get', `SELECT ${RETURNED} FROM ${t} WHERE handle = $1`),
    create: named(
      'create',
      `INSERT INTO ${t} (${INSERTED}) VALUES (${placeholders(1)}) ON CONFLICT (handle) DO NOTHING`,
    ),
    // The data change is applied to the row as it is when the UPDATE runs (READ COMMITTED re-reads a
    // row another writer just changed), so concurrent writers to different keys keep both.
    update: named(
      'update',
      `UPDATE ${t} SET
        data = (data - $2::text[]) || $3::jsonb,
        user_id = ${metaColumn('user_id', 'userId', 'text')},
        auth_at = ${metaColumn('auth_at', 'authAt', 'bigint')},
        last_seen_at = ${metaColumn('last_seen_at', 'lastSeenAt', 'bigint')},
        idle_expires_at = ${idle},
        absolute_expires_at = ${absolute},
        expires_at = LEAST(${idle}, ${absolute}),
        device = CASE WHEN $4::jsonb ? 'device' THEN $4::jsonb->'device' ELSE device END,
        cookie_max_age_ms = ${metaColumn('cookie_max_age_ms', 'cookieMaxAgeMs', 'bigint')},
        csrf_secret = ${metaColumn('csrf_secret', 'csrfSecret', 'text')},
        aal = ${metaColumn('aal', 'aal', 'bigint')},
        step_up_at = ${metaColumn('step_up_at', 'stepUpAt', 'bigint')},
        device_key = ${metaColumn('device_key', 'deviceKey', 'text')},
        device_challenge = ${metaColumn('device_challenge', 'deviceChallenge', 'text')},
        remembered_device = ${metaColumn('remembered_device', 'rememberedDeviceId', 'text')},
        version = version + 1
      WHERE handle = $1 AND successor IS NULL RETURNING ${RETURNED}`,
    ),
    // One statement: the insert only happens if this statement deleted the old row, and a taken new
    // handle fails the whole statement, so the old row is never lost without its successor.
    replace: named(
      'replace',
      `WITH gone AS (DELETE FROM ${t} WHERE handle = $1 AND successor IS NULL RETURNING 1)
       INSERT INTO ${t} (${INSERTED}) SELECT ${placeholders(2)} WHERE EXISTS (SELECT 1 FROM gone)`,
    ),
    // Periodic rotation: the old row becomes a pointer to the new one until $2. A second rotation of
    // the same row waits for the first one's row lock, then finds the successor set and inserts nothing.
    replaceWithGrace: named(
      'replace_with_grace',
      `WITH kept AS (
         UPDATE ${t} SET successor = $3::text, idle_expires_at = LEAST(idle_expires_at, $2::bigint),
           absolute_expires_at = LEAST(absolute_expires_at, $2::bigint),
           expires_at = LEAST(expires_at, $2::bigint), version = version + 1
         WHERE handle = $1 AND successor IS NULL RETURNING 1)
       INSERT INTO ${t} (${INSERTED}) SELECT ${placeholders(3)} WHERE EXISTS (SELECT 1 FROM kept)`,
    ),
    destroy: named('destroy', `DELETE FROM ${t} WHERE handle = $1 RETURNING successor`),
    listByUser: named('list_by_user', `SELECT ${RETURNED} FROM ${t} WHERE user_id = $1`),
    destroyByUser: named(
      'destroy_by_user',
      `DELETE FROM ${t} WHERE user_id = $1 AND ($2::text IS NULL OR handle <> $2::text) RETURNING handle`,
    ),
    prune: named('prune', `DELETE FROM ${t} WHERE expires_at <= $1`),
    destroyAll: named(
      'destroy_all',
      `DELETE FROM ${t} WHERE $1::bigint IS NULL OR created_at < $1::bigint RETURNING handle, user_id`,
    ),
    // A transaction-scoped lock taken in the same statement: released when the statement ends, and
    // safe behind PgBouncer in transaction mode, where a session lock could stay on a server connection.
    pruneShared: named(
      'prune_shared',
      `WITH lock AS MATERIALIZED (SELECT pg_try_advisory_xact_lock(${PRUNE_LOCK_CLASS}, hashtext($2::text)) AS held),
       gone AS (DELETE FROM ${t} WHERE (SELECT held FROM lock) AND expires_at <= $1 RETURNING 1)
       SELECT (SELECT held FROM lock) AS held, (SELECT count(*) FROM gone)::integer AS deleted`,
    ),
  };
}

/** The statements of one store, by operation. */
export type Statements = ReturnType<typeof buildStatements>;

const time = (value: string | number) => Number(value);
const maybeTime = (value: string | number | null) => (value === null ? null : Number(value));
/** Times are whole milliseconds in bigint columns. */
const whole = (value: number | null) => (value === null ? null : Math.round(value));

function device(text: string): SessionRecord['device'] {
  const parsed = JSON.parse(text) as Record<string, unknown>;
  return {
    ...(typeof parsed.userAgent === 'string' ? { userAgent: parsed.userAgent } : {}),
    ...(typeof parsed.ip === 'string' ? { ip: parsed.ip } : {}),
  };
}

/** A row as a SessionRecord; the device is rebuilt from its two known string fields only. */
export function toRecord(row: Row): SessionRecord {
  return {
    handle: row.handle,
    secretHash: row.secret_hash,
    userId: row.user_id,
    createdAt: time(row.created_at),
    authAt: maybeTime(row.auth_at),
    lastSeenAt: time(row.last_seen_at),
    idleExpiresAt: time(row.idle_expires_at),
    absoluteExpiresAt: time(row.absolute_expires_at),
    version: row.version,
    device: device(row.device),
    cookieMaxAgeMs: maybeTime(row.cookie_max_age_ms),
    csrfSecret: row.csrf_secret,
    aal: row.aal,
    stepUpAt: maybeTime(row.step_up_at),
    rotatedAt: row.rotated_at === null ? time(row.created_at) : time(row.rotated_at),
    successor: row.successor,
    deviceKey: row.device_key,
    deviceChallenge: row.device_challenge,
    ...(row.remembered_device ? { rememberedDeviceId: row.remembered_device } : {}),
    data: row.data,
  };
}

/** Parameters for the 21 columns of `INSERTED`, in order. */
export function insertValues(record: SessionRecord): unknown[] {
  return [
    record.handle,
    record.secretHash,
    record.userId,
    whole(record.createdAt),
    whole(record.authAt),
    whole(record.lastSeenAt),
    whole(record.idleExpiresAt),
    whole(record.absoluteExpiresAt),
    whole(expiresAt(record)),
    record.version,
    JSON.stringify(record.device),
    whole(record.cookieMaxAgeMs),
    record.csrfSecret,
    record.aal,
    whole(record.stepUpAt),
    whole(record.rotatedAt),
    record.successor,
    record.deviceKey,
    record.deviceChallenge,
    record.rememberedDeviceId ?? null,
    record.data,
  ];
}

/** The meta patch as the jsonb parameter of `update`, times rounded to whole milliseconds. */
export function metaParameter(meta: SessionMetaPatch = {}): string {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(meta)) {
    if (value === undefined) continue;
    out[key] = typeof value === 'number' ? Math.round(value) : value;
  }
  return JSON.stringify(out);
}
