import { existsSync } from 'node:fs';
import type { SessionStore } from '../core/store/store.js';
import type { CliArgs } from './args.js';
import { CliError, EXIT, usageError } from './errors.js';

/** The store the CLI opened, with what `health` needs to look inside it. */
export type OpenedStore =
  | { kind: 'sqlite'; store: SessionStore; table: string; db: import('better-sqlite3').Database }
  | { kind: 'redis'; store: SessionStore; prefix: string; client: import('redis').RedisClientType }
  | { kind: 'postgres'; store: SessionStore; schema: string; table: string; pool: import('pg').Pool };

/** How long connecting may take before the CLI gives up with exit 3. */
const CONNECT_TIMEOUT_MS = 5_000;

type Env = Record<string, string | undefined>;

const present = (value: string | undefined | null) => (value?.trim() ? value.trim() : null);

/**
 * Opens the configured store: `--sqlite` first, else REDIS_URL, else DATABASE_URL, else
 * SQLITE_PATH (the reference app's order for the environment). Drivers load only when used.
 * Nothing here prints a URL: it may hold a password.
 */
export async function openStore(
  args: CliArgs,
  env: Env,
): Promise<{ opened: OpenedStore; close: () => Promise<void> }> {
  const sqlitePath = present(args.sqlite);
  const redisUrl = sqlitePath ? null : present(env.REDIS_URL);
  const databaseUrl = sqlitePath || redisUrl ? null : present(env.DATABASE_URL);
  const fallbackPath = sqlitePath || redisUrl || databaseUrl ? null : present(env.SQLITE_PATH);
  const path = sqlitePath ?? fallbackPath;
  if (path) return openSqlite(path);
  if (redisUrl) return openRedis(redisUrl, args.redisPrefix);
  if (databaseUrl) return openPostgres(databaseUrl, args);
  throw usageError('no store configured: give --sqlite PATH, or set REDIS_URL, DATABASE_URL or SQLITE_PATH');
}

async function openSqlite(path: string) {
  // An admin command aimed at a mistyped path must not create an empty database and report success.
  if (!existsSync(path)) throw usageError(`--sqlite: no database file at ${path}`);
  const { default: BetterSqlite3 } = await import('better-sqlite3');
  const { SqliteStore } = await import('../stores/sqlite.js');
  const db = new BetterSqlite3(path, { fileMustExist: true });
  const table = 'coatcheck_sessions';
  const store = new SqliteStore({ database: db, table, sweepIntervalMs: 0 });
  const opened: OpenedStore = { kind: 'sqlite', store, table, db };
  return { opened, close: async () => void db.close() };
}

async function openRedis(url: string, prefix: string) {
  const { createClient } = await import('redis');
  const { RedisStore } = await import('../stores/redis.js');
  const client = createClient({
    url,
    disableOfflineQueue: true,
    // A one-shot command: fail at once instead of reconnecting forever.
    socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: false },
  });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    throw new CliError('CLI_STORE', 'cannot connect to Redis (REDIS_URL)', EXIT.store, { cause: error });
  }
  const store = new RedisStore({ client, prefix });
  const opened: OpenedStore = {
    kind: 'redis',
    store,
    prefix,
    client: client as import('redis').RedisClientType,
  };
  return { opened, close: async () => void (await client.close().catch(() => {})) };
}

async function openPostgres(url: string, args: CliArgs) {
  const { default: pg } = await import('pg');
  const { PostgresStore } = await import('../stores/postgres.js');
  const pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  pool.on('error', () => {});
  const store = new PostgresStore({ pool, schema: args.pgSchema, table: args.pgTable, pruneIntervalMs: 0 });
  const opened: OpenedStore = { kind: 'postgres', store, schema: args.pgSchema, table: args.pgTable, pool };
  return { opened, close: () => pool.end() };
}
