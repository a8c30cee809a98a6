// Over ~250 lines on purpose: one class for the whole store contract, one SQL statement per operation;
// the schema lives in sql/postgres, remembered devices in stores/remembered.
import pg from 'pg';
import { SessionConfigError } from '../core/errors.js';
import { isForbiddenKey, type SessionPatch, type SessionRecord } from '../core/store/record.js';
import type {
  DestroyAllOptions,
  Removed,
  RemovedSession,
  ReplaceOptions,
  SessionStore,
  StoreCapabilities,
} from '../core/store/store.js';
import { migrate, type TableNames, tableNames } from './postgres/schema.js';
import {
  buildStatements,
  insertValues,
  metaParameter,
  type Row,
  type Statement,
  type Statements,
  toRecord,
} from './postgres/statements.js';
import { postgresRememberedDevices } from './remembered/postgres.js';

/** Options of PostgresStore; give `pool` or `connectionString`. */
export interface PostgresStoreOptions {
  /** A pg Pool to use; the store does not close it. Give this or `connectionString`. */
  pool?: pg.Pool;
  /** Connection string for a pool the store creates, owns and closes. */
  connectionString?: string;
  /** TLS settings for the store's own pool (with `connectionString` only), as pg takes them. */
  ssl?: pg.PoolConfig['ssl'];
  /** @default 'public' */
  schema?: string;
  /** @default 'coatcheck_sessions' */
  table?: string;
  /** How often expired rows are deleted (one instance at a time); 0 turns the pruner off. @default 60_000 */
  pruneIntervalMs?: number;
  /** @default Date.now */
  now?: () => number;
  /**
   * Create the tables on first use. Turn off when migrations are run separately (with
   * sql/postgres/001_init.sql) and the application's role has no DDL privilege. @default true
   */
  createSchema?: boolean;
  /**
   * Receives errors the store absorbs itself: a pooled idle connection that broke (the next
   * operation reports the outage) and a failed scheduled prune. @default ignore them
   */
  onError?: (error: Error) => void;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,47}$/;

function identifier(option: string, value: string): string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
    throw new SessionConfigError(option, 'must be a plain SQL identifier of at most 48 characters');
  }
  return value;
}

function dataObject(set: Record<string, string> = {}): string {
  // Values are JSON texts already; forbidden keys never reach the store (S51).
  const members = Object.entries(set)
    .filter(([key]) => !isForbiddenKey(key))
    .map(([key, value]) => `${JSON.stringify(key)}:${value}`);
  return `{${members.join(',')}}`;
}

/**
 * The PostgreSQL store (pg). Every operation is one SQL statement, so it works through PgBouncer in
 * transaction mode; updates change data key by key inside the database (jsonb), so concurrent
 * requests never lose each other's writes, and an update never re-creates a destroyed session.
 *
 * @example
 * import { PostgresStore } from 'coatcheck/stores/postgres';
 * const store = new PostgresStore({ connectionString: process.env.DATABASE_URL });
 */
export class PostgresStore implements SessionStore {
  /** A per-user index, atomic patches and remembered devices: the full contract. */
  readonly capabilities: StoreCapabilities = { userIndex: true, atomicUpdate: true, rememberedDevices: true };
  readonly rememberedDevices;
  /** The pool the store queries. */
  readonly pool: pg.Pool;
  /** Quoted, schema-qualified name of the sessions table. */
  readonly tableName: string;
  readonly #names: TableNames;
  readonly #statements: Statements;
  readonly #ownsPool: boolean;
  readonly #createSchema: boolean;
  readonly #now: () => number;
  readonly #onError: (error: Error) => void;
  readonly #poolErrorListener: (error: Error) => void;
  readonly #pruner: NodeJS.Timeout | undefined;
  #ready: Promise<void> | null = null;
  #closed = false;

  constructor(options: PostgresStoreOptions = {}) {
    const { pool, connectionString, ssl } = options;
    if (pool && connectionString !== undefined) {
      throw new SessionConfigError('pool', 'give either pool or connectionString, not both');
    }
    if (!pool && typeof connectionString !== 'string') {
      throw new SessionConfigError('connectionString', 'give a connectionString or a pg Pool');
    }
    if (pool && ssl !== undefined) {
      throw new SessionConfigError('ssl', "applies to the store's own pool; configure TLS on the given pool");
    }
    const interval = options.pruneIntervalMs ?? 60_000;
    if (typeof interval !== 'number' || !Number.isFinite(interval) || interval < 0) {
      throw new SessionConfigError('pruneIntervalMs', 'must be 0 (off) or a positive number of milliseconds');
    }
    this.#names = tableNames(
      identifier('schema', options.schema ?? 'public'),
      identifier('table', options.table ?? 'coatcheck_sessions'),
    );
    this.tableName = this.#names.sessions;
    this.#statements = buildStatements(this.#names);
    this.rememberedDevices = postgresRememberedDevices(this.#names, (statement, values) =>
      this.#run(statement, values),
    );
    this.#createSchema = options.createSchema ?? true;
    this.#now = options.now ?? Date.now;
    this.#onError = options.onError ?? (() => {});
    this.#ownsPool = !pool;
    this.pool =
      pool ??
      new pg.Pool({
        connectionString,
        ...(ssl === undefined ? {} : { ssl }),
        application_name: 'coatcheck',
        // Fail fast when the server is unreachable; the engine turns the error into a 503.
        connectionTimeoutMillis: 5_000,
      });
    // pg emits 'error' on the pool when an idle connection breaks (server restart, network cut);
    // without a listener that would crash the process.
    this.#poolErrorListener = (error) => this.#onError(error);
    this.pool.on('error', this.#poolErrorListener);
    if (interval > 0) {
      this.#pruner = setInterval(() => {
        this.pruneOnce().catch((error: unknown) =>
          this.#onError(error instanceof Error ? error : new Error(String(error))),
        );
      }, interval);
      this.#pruner.unref();
    }
  }

  async get(handle: string): Promise<SessionRecord | null> {
    const result = await this.#run<Row>(this.#statements.get, [handle]);
    const row = result.rows[0];
    return row ? toRecord(row) : null;
  }

  async create(record: SessionRecord): Promise<boolean> {
    return (await this.#run(this.#statements.create, insertValues(record))).rowCount === 1;
  }

  async update(handle: string, patch: SessionPatch): Promise<SessionRecord | null> {
    const result = await this.#run<Row>(this.#statements.update, [
      handle,
      patch.unset ?? [],
      dataObject(patch.set),
      metaParameter(patch.meta),
    ]);
    const row = result.rows[0];
    if (row) return toRecord(row);
    // Gone, or replaced by a scheduled rotation (the UPDATE skips such rows): tell them apart.
    const kept = await this.get(handle);
    return kept?.successor ? kept : null;
  }

  async replace(oldHandle: string, next: SessionRecord, options: ReplaceOptions = {}): Promise<boolean> {
    const { graceUntil } = options;
    try {
      const result =
        graceUntil === undefined
          ? await this.#run(this.#statements.replace, [oldHandle, ...insertValues(next)])
          : await this.#run(this.#statements.replaceWithGrace, [
              oldHandle,
              Math.round(graceUntil),
              ...insertValues(next),
            ]);
      return result.rowCount === 1;
    } catch (error) {
      // A taken handle fails the whole statement, so the old session is still there.
      if ((error as { code?: string }).code === '23505') return false;
      throw error;
    }
  }

  async destroy(handle: string): Promise<Removed | null> {
    const result = await this.#run<{ successor: string | null }>(this.#statements.destroy, [handle]);
    return result.rows[0] ?? null;
  }

  async listByUser(userId: string): Promise<SessionRecord[]> {
    return (await this.#run<Row>(this.#statements.listByUser, [userId])).rows.map(toRecord);
  }

  async destroyByUser(userId: string, options: { exceptHandle?: string } = {}): Promise<string[]> {
    const result = await this.#run<{ handle: string }>(this.#statements.destroyByUser, [
      userId,
      options.exceptHandle ?? null,
    ]);
    return result.rows.map((row) => row.handle);
  }

  async destroyAll(options: DestroyAllOptions = {}): Promise<RemovedSession[]> {
    const before = options.createdBefore === undefined ? null : Math.ceil(options.createdBefore);
    const result = await this.#run<{ handle: string; user_id: string | null }>(this.#statements.destroyAll, [
      before,
    ]);
    return result.rows.map((row) => ({ handle: row.handle, userId: row.user_id }));
  }

  async pruneExpired(now: number): Promise<number> {
    const devices = await this.rememberedDevices.prune(now);
    return ((await this.#run(this.#statements.prune, [Math.floor(now)])).rowCount ?? 0) + devices;
  }

  /**
   * One scheduled prune, shared by every instance on the database: it deletes expired rows unless
   * another instance is pruning this table at that moment, in which case it returns null.
   */
  async pruneOnce(): Promise<number | null> {
    const result = await this.#run<{ held: boolean; deleted: number }>(this.#statements.pruneShared, [
      Math.floor(this.#now()),
      this.#names.sessions,
    ]);
    const row = result.rows[0];
    if (!row?.held) return null;
    // The instance holding the sessions' turn prunes remembered devices too (indexed by expiry).
    await this.rememberedDevices.prune(this.#now());
    return row.deleted;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#pruner);
    if (this.#ownsPool) {
      await this.pool.end();
    } else {
      this.pool.removeListener('error', this.#poolErrorListener);
    }
  }

  /** Creates the tables once, inside the first operation; a failed attempt is retried by the next one. */
  #ensureSchema(): Promise<void> {
    if (!this.#createSchema) return Promise.resolve();
    this.#ready ??= migrate(this.pool, this.#names).catch((error: unknown) => {
      this.#ready = null;
      throw error;
    });
    return this.#ready;
  }

  async #run<R extends object = Record<string, unknown>>(
    statement: Statement,
    values: unknown[],
  ): Promise<pg.QueryResult<R>> {
    await this.#ensureSchema();
    return this.pool.query<R>({ name: statement.name, text: statement.text, values });
  }
}
