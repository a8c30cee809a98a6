// Over ~250 lines on purpose: one class for the whole store contract, one prepared statement per
// operation, plus the schema migrations it runs on open; remembered devices live in stores/remembered.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import {
  applyPatch,
  expiresAt,
  type SessionPatch,
  type SessionRecord,
  supersede,
} from '../core/store/record.js';
import type {
  DestroyAllOptions,
  Removed,
  RemovedSession,
  Renewal,
  ReplaceOptions,
  SessionStore,
  StoreCapabilities,
} from '../core/store/store.js';
import { rememberedDevicesDdl, sqliteRememberedDevices } from './remembered/sqlite.js';
import { TurnReads } from './sqlite/turn-reads.js';

/** Options of {@link SqliteStore}. */
export interface SqliteStoreOptions {
  /** Database file; created if missing, with its folder. `':memory:'` for a throwaway database. */
  path?: string;
  /** An open better-sqlite3 database to use instead of `path`. */
  database?: BetterSqlite3.Database;
  /** @default 'coatcheck_sessions' */
  table?: string;
  /** How often expired rows are deleted; 0 turns the sweeper off. @default 60_000 */
  sweepIntervalMs?: number;
  /** @default Date.now */
  now?: () => number;
}

const SCHEMA_VERSION = 4;

/**
 * The columns that are NULL on most sessions, read as one: NULL when all are, else a JSON array of
 * them in this order. Each column a read returns costs better-sqlite3 about 0.2 µs.
 */
const RARE_COLUMNS = [
  'cookie_max_age_ms',
  'step_up_at',
  'successor',
  'device_key',
  'device_challenge',
  'remembered_device',
];
const RARE = `CASE WHEN ${RARE_COLUMNS.map((c) => `${c} IS NULL`).join(' AND ')} THEN NULL ELSE json_array(${RARE_COLUMNS.join(', ')}) END`;

/**
 * What a read selects, in the order of the values `recordFrom` takes; the handle is the one asked
 * for, so a read by handle does not select it.
 */
const RECORD_COLUMNS = `secret_hash, user_id, created_at, auth_at, last_seen_at, idle_expires_at, absolute_expires_at, version, device, csrf_secret, aal, rotated_at, data, ${RARE}`;

type Rare = [number | null, number | null, string | null, string | null, string | null, string | null];
const NO_RARE: Rare = [null, null, null, null, null, null];

/**
 * The record a read's values hold, in RECORD_COLUMNS order. Reads ask better-sqlite3 for plain
 * value arrays: building a named-column object in the driver cost about 9 µs per read, half the read.
 */
const recordFrom = (handle: string, v: unknown[]): SessionRecord => {
  const rare = v[13] === null ? NO_RARE : (JSON.parse(v[13] as string) as Rare);
  return {
    handle,
    secretHash: v[0] as string,
    userId: v[1] as string | null,
    createdAt: v[2] as number,
    authAt: v[3] as number | null,
    lastSeenAt: v[4] as number,
    idleExpiresAt: v[5] as number,
    absoluteExpiresAt: v[6] as number,
    version: v[7] as number,
    device: JSON.parse(v[8] as string) as SessionRecord['device'],
    cookieMaxAgeMs: rare[0],
    csrfSecret: v[9] as string | null,
    aal: v[10] as number,
    stepUpAt: rare[1],
    rotatedAt: (v[11] as number | null) ?? (v[2] as number),
    successor: rare[2],
    deviceKey: rare[3],
    deviceChallenge: rare[4],
    ...(rare[5] === null ? {} : { rememberedDeviceId: rare[5] }),
    data: v[12] as string,
  };
};

const toRow = (record: SessionRecord) => ({
  handle: record.handle,
  secret_hash: record.secretHash,
  user_id: record.userId,
  created_at: record.createdAt,
  auth_at: record.authAt,
  last_seen_at: record.lastSeenAt,
  idle_expires_at: record.idleExpiresAt,
  absolute_expires_at: record.absoluteExpiresAt,
  expires_at: expiresAt(record),
  version: record.version,
  device: JSON.stringify(record.device),
  cookie_max_age_ms: record.cookieMaxAgeMs,
  csrf_secret: record.csrfSecret,
  aal: record.aal,
  step_up_at: record.stepUpAt,
  rotated_at: record.rotatedAt,
  successor: record.successor,
  device_key: record.deviceKey,
  device_challenge: record.deviceChallenge,
  remembered_device: record.rememberedDeviceId ?? null,
  data: record.data,
});

/**
 * The embedded store: one SQLite file in WAL mode, shared safely by every process on the machine,
 * surviving restarts. Each change is one short write transaction, so concurrent writers to one
 * session never lose each other's keys.
 *
 * @example
 * const store = new SqliteStore({ path: 'data/sessions.db' });
 */
export class SqliteStore implements SessionStore {
  /** A per-user index, atomic patches and remembered devices: the full contract. */
  readonly capabilities: StoreCapabilities = { userIndex: true, atomicUpdate: true, rememberedDevices: true };
  /** The better-sqlite3 database in use (given, or opened from `path`). */
  readonly db: BetterSqlite3.Database;
  readonly rememberedDevices;
  readonly #ownsDb: boolean;
  readonly #sweeper: NodeJS.Timeout | undefined;
  readonly #statements;
  readonly #read: (handle: string) => SessionRecord | null;
  readonly #turnReads: TurnReads<SessionRecord> | null;
  readonly #update;
  readonly #replace;
  readonly #destroyByUser;

  constructor(options: SqliteStoreOptions = {}) {
    const table = options.table ?? 'coatcheck_sessions';
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(table))
      throw new RangeError('table must be a plain SQL identifier');
    if (options.database) {
      this.db = options.database;
      this.#ownsDb = false;
    } else {
      const path = options.path ?? ':memory:';
      // The README's `data/sessions.db` in a fresh project: SQLite creates the file, not its folder.
      if (path !== ':memory:' && path !== '') mkdirSync(dirname(path), { recursive: true });
      this.db = new BetterSqlite3(path);
      this.#ownsDb = true;
    }
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('busy_timeout = 5000');
      migrate(this.db, table);
    } catch (error) {
      // A file of a newer schema, or not a database: the connection this store opened is closed.
      if (this.#ownsDb) this.db.close();
      throw error;
    }
    this.rememberedDevices = sqliteRememberedDevices(this.db, table);

    const columns =
      'handle, secret_hash, user_id, created_at, auth_at, last_seen_at, idle_expires_at, absolute_expires_at, expires_at, version, device, cookie_max_age_ms, csrf_secret, aal, step_up_at, rotated_at, successor, device_key, device_challenge, remembered_device, data';
    const values = columns
      .split(', ')
      .map((c) => `@${c}`)
      .join(', ');
    const readByHandle = `SELECT ${RECORD_COLUMNS} FROM ${table} WHERE handle = ?`;
    const s = {
      read: this.db.prepare<[string], unknown[]>(readByHandle).raw(true),
      insert: this.db.prepare(`INSERT OR IGNORE INTO ${table} (${columns}) VALUES (${values})`),
      write: this.db.prepare(
        `UPDATE ${table} SET user_id=@user_id, auth_at=@auth_at, last_seen_at=@last_seen_at, idle_expires_at=@idle_expires_at,
         absolute_expires_at=@absolute_expires_at, expires_at=@expires_at, version=@version, device=@device,
         cookie_max_age_ms=@cookie_max_age_ms, csrf_secret=@csrf_secret, aal=@aal, step_up_at=@step_up_at,
         successor=@successor, device_key=@device_key, device_challenge=@device_challenge,
         remembered_device=@remembered_device, data=@data WHERE handle=@handle`,
      ),
      // One statement, so atomic without a transaction; a pointer (S21) or a gone row is left alone.
      renew: this.db
        .prepare<[number, number, number, string], unknown[]>(
          `UPDATE ${table} SET last_seen_at = ?, idle_expires_at = ?, expires_at = MIN(?, absolute_expires_at),
           version = version + 1 WHERE handle = ? AND successor IS NULL RETURNING ${RECORD_COLUMNS}`,
        )
        .raw(true),
      destroy: this.db.prepare<[string]>(`DELETE FROM ${table} WHERE handle = ?`),
      take: this.db.prepare<[string], { successor: string | null }>(
        `DELETE FROM ${table} WHERE handle = ? RETURNING successor`,
      ),
      byUser: this.db
        .prepare<[string], unknown[]>(`SELECT ${RECORD_COLUMNS}, handle FROM ${table} WHERE user_id = ?`)
        .raw(true),
      handlesByUser: this.db.prepare<[string], { handle: string }>(
        `SELECT handle FROM ${table} WHERE user_id = ?`,
      ),
      prune: this.db.prepare<[number]>(`DELETE FROM ${table} WHERE expires_at <= ?`),
      destroyAll: this.db.prepare<[number | null, number | null], { handle: string; user_id: string | null }>(
        `DELETE FROM ${table} WHERE ? IS NULL OR created_at < ? RETURNING handle, user_id`,
      ),
    };
    this.#statements = s;
    const read = (handle: string): SessionRecord | null => {
      const values = s.read.get(handle);
      return values ? recordFrom(handle, values) : null;
    };
    this.#read = read;
    // A file this store opened gets a second connection for `get`; a given database or a memory one
    // (which a second connection would not see) is read on its own connection.
    this.#turnReads =
      this.#ownsDb && !this.db.memory ? new TurnReads(this.db.name, readByHandle, recordFrom) : null;
    // BEGIN IMMEDIATE (see the calls below) takes the write lock first, so read-modify-write is atomic across processes.
    this.#update = this.db.transaction((handle: string, patch: SessionPatch) => {
      const record = read(handle);
      if (!record) return null;
      if (record.successor !== null) return record;
      const next = applyPatch(record, patch);
      s.write.run(toRow(next));
      return next;
    });
    this.#replace = this.db.transaction((oldHandle: string, next: SessionRecord, graceUntil?: number) => {
      const record = read(oldHandle);
      if (!record || record.successor !== null) return false;
      if (graceUntil === undefined) s.destroy.run(oldHandle);
      else s.write.run(toRow(supersede(record, next.handle, graceUntil)));
      if (s.insert.run(toRow(next)).changes === 1) return true;
      // A taken handle: roll the old record back too.
      throw Object.assign(new Error('handle taken'), { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
    });
    this.#destroyByUser = this.db.transaction((userId: string, exceptHandle: string | null) => {
      const handles = s.handlesByUser
        .all(userId)
        .map((row) => row.handle)
        .filter((h) => h !== exceptHandle);
      for (const handle of handles) s.destroy.run(handle);
      return handles;
    });

    const interval = options.sweepIntervalMs ?? 60_000;
    const now = options.now ?? Date.now;
    if (interval > 0) {
      this.#sweeper = setInterval(() => void this.pruneExpired(now()).catch(() => {}), interval);
      this.#sweeper.unref();
    }
  }

  async get(handle: string): Promise<SessionRecord | null> {
    if (!this.#turnReads || this.#turnReads.afterWrite) return this.#read(handle);
    return this.#turnReads.get(handle);
  }

  /**
   * Runs the reads asked for before the write (they do not see it), then the write on the main
   * connection, where the rest of the turn's reads see it.
   */
  #write<T>(write: () => T): T {
    this.#turnReads?.beforeWrite();
    return write();
  }

  async create(record: SessionRecord): Promise<boolean> {
    return this.#write(() => this.#statements.insert.run(toRow(record)).changes === 1);
  }

  async update(handle: string, patch: SessionPatch): Promise<SessionRecord | null> {
    return this.#write(() => this.#update.immediate(handle, patch));
  }

  /**
   * A renewal in one UPDATE (`update` takes a write transaction around a read and a write of every
   * column). Answers as `update(record.handle, { meta: renewal })` does: the renewed record, a
   * rotation's pointer unchanged, or null when the session is gone.
   */
  async renew(record: SessionRecord, renewal: Renewal): Promise<SessionRecord | null> {
    const { lastSeenAt, idleExpiresAt } = renewal;
    const renewed = this.#write(() =>
      this.#statements.renew.get(lastSeenAt, idleExpiresAt, idleExpiresAt, record.handle),
    );
    // Read on the main connection, as it is now: a gone session is not brought back from a snapshot.
    return renewed ? recordFrom(record.handle, renewed) : this.#read(record.handle);
  }

  async replace(oldHandle: string, next: SessionRecord, options: ReplaceOptions = {}): Promise<boolean> {
    try {
      return this.#write(() => this.#replace.immediate(oldHandle, next, options.graceUntil));
    } catch (error) {
      // A taken handle rolls the whole swap back: the old session stays.
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return false;
      throw error;
    }
  }

  async destroy(handle: string): Promise<Removed | null> {
    return this.#write(() => this.#statements.take.get(handle)) ?? null;
  }

  async listByUser(userId: string): Promise<SessionRecord[]> {
    return this.#statements.byUser.all(userId).map((v) => recordFrom(v[14] as string, v));
  }

  async destroyByUser(userId: string, options: { exceptHandle?: string } = {}): Promise<string[]> {
    return this.#write(() => this.#destroyByUser.immediate(userId, options.exceptHandle ?? null));
  }

  async destroyAll(options: DestroyAllOptions = {}): Promise<RemovedSession[]> {
    const before = options.createdBefore ?? null;
    return this.#write(() => this.#statements.destroyAll.all(before, before)).map((row) => ({
      handle: row.handle,
      userId: row.user_id,
    }));
  }

  async pruneExpired(now: number): Promise<number> {
    return this.#write(() => this.#statements.prune.run(now).changes) + this.rememberedDevices.prune(now);
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#turnReads?.close();
    if (this.#ownsDb && this.db.open) this.db.close();
  }
}

/** Each schema version's DDL, applied in order from the version a database is at. */
const MIGRATIONS = (table: string): string[] => [
  `CREATE TABLE IF NOT EXISTS ${table} (
    handle TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    user_id TEXT,
    created_at INTEGER NOT NULL,
    auth_at INTEGER,
    last_seen_at INTEGER NOT NULL,
    idle_expires_at INTEGER NOT NULL,
    absolute_expires_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    device TEXT NOT NULL,
    cookie_max_age_ms INTEGER,
    csrf_secret TEXT,
    data TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS ${table}_user ON ${table} (user_id) WHERE user_id IS NOT NULL;
  CREATE INDEX IF NOT EXISTS ${table}_expires ON ${table} (expires_at);`,
  // 2: step-up level and time (S40), periodic rotation (S21). Signed-in sessions were password logins.
  `ALTER TABLE ${table} ADD COLUMN aal INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE ${table} ADD COLUMN step_up_at INTEGER;
  ALTER TABLE ${table} ADD COLUMN rotated_at INTEGER;
  ALTER TABLE ${table} ADD COLUMN successor TEXT;
  UPDATE ${table} SET aal = 1 WHERE user_id IS NOT NULL;`,
  // 3: the device key of a DBSC-bound session and its outstanding challenges.
  `ALTER TABLE ${table} ADD COLUMN device_key TEXT;
  ALTER TABLE ${table} ADD COLUMN device_challenge TEXT;`,
  // 4: remembered devices ("keep me signed in").
  rememberedDevicesDdl(table),
];

function migrate(db: BetterSqlite3.Database, table: string): void {
  db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS coatcheck_schema (name TEXT PRIMARY KEY, version INTEGER NOT NULL)`);
    const row = db
      .prepare<[string], { version: number }>('SELECT version FROM coatcheck_schema WHERE name = ?')
      .get(table);
    const version = row?.version ?? 0;
    if (version > SCHEMA_VERSION) {
      throw new Error(`${table} has schema version ${version}; this coatcheck knows ${SCHEMA_VERSION}`);
    }
    if (version === SCHEMA_VERSION) return;
    for (const ddl of MIGRATIONS(table).slice(version)) db.exec(ddl);
    db.prepare('INSERT OR REPLACE INTO coatcheck_schema (name, version) VALUES (?, ?)').run(
      table,
      SCHEMA_VERSION,
    );
  }).immediate();
}
