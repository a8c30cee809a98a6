import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { RememberedDevice, RememberedDeviceStore } from '../../core/remember/device.js';
import type { TableNames } from '../postgres/schema.js';
import type { Statement } from '../postgres/statements.js';

interface Row {
  id: string;
  user_id: string;
  secret_hash: string;
  previous_secret_hash: string | null;
  rotated_at: string | number;
  created_at: string | number;
  last_used_at: string | number;
  expires_at: string | number;
  device: RememberedDevice['device'];
}

/** `"schema"."<table>_remembered"`: the devices table beside a store's sessions table. */
export function rememberedTable(names: TableNames): string {
  return `"${names.schema}"."${names.table}_remembered"`;
}

/**
 * Schema version 4 (sql/postgres/004_remembered_devices.sql spells it out for the default names):
 * each session's remembered device, and the devices table with its per-user index.
 */
export function rememberedDevicesDdl(names: TableNames): string[] {
  const t = rememberedTable(names);
  const index = (suffix: string) => `"${names.table}_remembered_${suffix}"`;
  return [
    `ALTER TABLE ${names.sessions} ADD COLUMN IF NOT EXISTS remembered_device text`,
    `CREATE TABLE IF NOT EXISTS ${t} (
      id text PRIMARY KEY,
      user_id text NOT NULL,
      secret_hash text NOT NULL,
      previous_secret_hash text,
      rotated_at bigint NOT NULL,
      created_at bigint NOT NULL,
      last_used_at bigint NOT NULL,
      expires_at bigint NOT NULL,
      device jsonb NOT NULL
    )`,
    `CREATE INDEX IF NOT EXISTS ${index('user')} ON ${t} (user_id)`,
    `CREATE INDEX IF NOT EXISTS ${index('expires')} ON ${t} (expires_at)`,
  ];
}

const toDevice = (row: Row): RememberedDevice => ({
  id: row.id,
  userId: row.user_id,
  secretHash: row.secret_hash,
  previousSecretHash: row.previous_secret_hash,
  rotatedAt: Number(row.rotated_at),
  createdAt: Number(row.created_at),
  lastUsedAt: Number(row.last_used_at),
  expiresAt: Number(row.expires_at),
  device: {
    ...(typeof row.device?.userAgent === 'string' ? { userAgent: row.device.userAgent } : {}),
    ...(typeof row.device?.ip === 'string' ? { ip: row.device.ip } : {}),
  },
});

type Run = <R extends object>(statement: Statement, values: unknown[]) => Promise<pg.QueryResult<R>>;

/**
 * The PostgresStore's remembered devices: every operation one statement (PgBouncer-safe), the
 * rotation a compare-and-swap UPDATE, so of parallel uses of one credential exactly one rotates.
 */
export function postgresRememberedDevices(
  names: TableNames,
  run: Run,
): RememberedDeviceStore & {
  /** Deletes devices whose absolute lifetime ended by `now` (ms since the epoch); resolves to how many. */
  prune(now: number): Promise<number>;
} {
  const t = rememberedTable(names);
  const columns =
    'id, user_id, secret_hash, previous_secret_hash, rotated_at, created_at, last_used_at, expires_at, device';
  // Prepared per connection by name: the digest keeps stores on other tables from sharing one.
  const statement = (name: string, text: string): Statement => ({
    name: `coatcheck_remembered_${name}_${createHash('sha256').update(text).digest('hex').slice(0, 12)}`,
    text,
  });
  const s = {
    get: statement('get', `SELECT ${columns} FROM ${t} WHERE id = $1`),
    create: statement(
      'create',
      `INSERT INTO ${t} (${columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb) ON CONFLICT (id) DO NOTHING`,
    ),
    rotate: statement(
      'rotate',
      `UPDATE ${t} SET previous_secret_hash = secret_hash, secret_hash = $3, rotated_at = $4,
       last_used_at = $4, device = $5::jsonb WHERE id = $1 AND secret_hash = $2`,
    ),
    destroy: statement('destroy', `DELETE FROM ${t} WHERE id = $1 RETURNING ${columns}`),
    byUser: statement('by_user', `SELECT ${columns} FROM ${t} WHERE user_id = $1`),
    prune: statement('prune', `DELETE FROM ${t} WHERE expires_at <= $1`),
    destroyBefore: statement('destroy_before', `DELETE FROM ${t} WHERE created_at < $1`),
  };
  return {
    async get(id) {
      const row = (await run<Row>(s.get, [id])).rows[0];
      return row ? toDevice(row) : null;
    },
    async create(device) {
      const values = [
        device.id,
        device.userId,
        device.secretHash,
        device.previousSecretHash,
        Math.round(device.rotatedAt),
        Math.round(device.createdAt),
        Math.round(device.lastUsedAt),
        Math.round(device.expiresAt),
        JSON.stringify(device.device),
      ];
      return (await run(s.create, values)).rowCount === 1;
    },
    async rotate(id, { expectedHash, secretHash, at, device }) {
      const values = [id, expectedHash, secretHash, Math.round(at), JSON.stringify(device)];
      return (await run(s.rotate, values)).rowCount === 1;
    },
    async destroy(id) {
      const row = (await run<Row>(s.destroy, [id])).rows[0];
      return row ? toDevice(row) : null;
    },
    async listByUser(userId) {
      return (await run<Row>(s.byUser, [userId])).rows.map(toDevice);
    },
    async destroyAll({ createdBefore }) {
      // Every device when no time is given: no created_at is at or past the largest bigint.
      const before = createdBefore === undefined ? '9223372036854775807' : Math.floor(createdBefore);
      return (await run(s.destroyBefore, [before])).rowCount ?? 0;
    },
    async prune(now) {
      return (await run(s.prune, [Math.floor(now)])).rowCount ?? 0;
    },
  };
}
