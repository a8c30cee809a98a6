import type BetterSqlite3 from 'better-sqlite3';
import type {
  RememberedDevice,
  RememberedDeviceStore,
  RememberedRotation,
} from '../../core/remember/device.js';

interface Row {
  id: string;
  user_id: string;
  secret_hash: string;
  previous_secret_hash: string | null;
  rotated_at: number;
  created_at: number;
  last_used_at: number;
  expires_at: number;
  device: string;
}

const toDevice = (row: Row): RememberedDevice => ({
  id: row.id,
  userId: row.user_id,
  secretHash: row.secret_hash,
  previousSecretHash: row.previous_secret_hash,
  rotatedAt: row.rotated_at,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
  expiresAt: row.expires_at,
  device: JSON.parse(row.device) as RememberedDevice['device'],
});

const toRow = (device: RememberedDevice): Row => ({
  id: device.id,
  user_id: device.userId,
  secret_hash: device.secretHash,
  previous_secret_hash: device.previousSecretHash,
  rotated_at: device.rotatedAt,
  created_at: device.createdAt,
  last_used_at: device.lastUsedAt,
  expires_at: device.expiresAt,
  device: JSON.stringify(device.device),
});

/** Schema version 4: remembered devices beside the sessions, and each session's device. */
export function rememberedDevicesDdl(table: string): string {
  return `ALTER TABLE ${table} ADD COLUMN remembered_device TEXT;
  CREATE TABLE IF NOT EXISTS ${table}_remembered (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    previous_secret_hash TEXT,
    rotated_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    device TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS ${table}_remembered_user ON ${table}_remembered (user_id);
  CREATE INDEX IF NOT EXISTS ${table}_remembered_expires ON ${table}_remembered (expires_at);`;
}

/**
 * The SqliteStore's remembered devices: one row each, rotated by compare-and-swap in one UPDATE
 * (the reference `applyRotation` spelled in SQL), so of parallel uses exactly one rotates.
 */
export function sqliteRememberedDevices(
  db: BetterSqlite3.Database,
  table: string,
): RememberedDeviceStore & {
  /** Deletes devices whose absolute lifetime ended by `now` (ms since the epoch); returns how many. */
  prune(now: number): number;
} {
  const name = `${table}_remembered`;
  const columns =
    'id, user_id, secret_hash, previous_secret_hash, rotated_at, created_at, last_used_at, expires_at, device';
  const s = {
    get: db.prepare<[string], Row>(`SELECT * FROM ${name} WHERE id = ?`),
    insert: db.prepare(
      `INSERT OR IGNORE INTO ${name} (${columns}) VALUES (${columns.replace(/(\w+)/g, '@$1')})`,
    ),
    rotate: db.prepare(
      `UPDATE ${name} SET previous_secret_hash = secret_hash, secret_hash = @secret_hash, rotated_at = @at,
       last_used_at = @at, device = @device WHERE id = @id AND secret_hash = @expected`,
    ),
    take: db.prepare<[string], Row>(`DELETE FROM ${name} WHERE id = ? RETURNING *`),
    byUser: db.prepare<[string], Row>(`SELECT * FROM ${name} WHERE user_id = ?`),
    prune: db.prepare<[number]>(`DELETE FROM ${name} WHERE expires_at <= ?`),
    destroyBefore: db.prepare<[number]>(`DELETE FROM ${name} WHERE created_at < ?`),
    destroyAll: db.prepare(`DELETE FROM ${name}`),
  };
  return {
    async get(id) {
      const row = s.get.get(id);
      return row ? toDevice(row) : null;
    },
    async create(device) {
      return s.insert.run(toRow(device)).changes === 1;
    },
    async rotate(id, rotation: RememberedRotation) {
      const { expectedHash, secretHash, at, device } = rotation;
      const params = {
        id,
        expected: expectedHash,
        secret_hash: secretHash,
        at,
        device: JSON.stringify(device),
      };
      return s.rotate.run(params).changes === 1;
    },
    async destroy(id) {
      const row = s.take.get(id);
      return row ? toDevice(row) : null;
    },
    async listByUser(userId) {
      return s.byUser.all(userId).map(toDevice);
    },
    async destroyAll({ createdBefore }) {
      return (createdBefore === undefined ? s.destroyAll.run() : s.destroyBefore.run(createdBefore)).changes;
    },
    prune: (now) => s.prune.run(now).changes,
  };
}
