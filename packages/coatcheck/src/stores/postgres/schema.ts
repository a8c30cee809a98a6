import type pg from 'pg';
import { rememberedDevicesDdl } from '../remembered/postgres.js';

/** Version of the table layout below; recorded in `coatcheck_schema` like the SQLite store does. */
export const SCHEMA_VERSION = 4;

/** Advisory lock held while a store creates or upgrades its tables (a constant: 'coatchk1'). */
const MIGRATION_LOCK = '7165052684681636657';

/** Quoted, validated names of one store's tables. */
export interface TableNames {
  schema: string;
  table: string;
  /** `"schema"."table"` */
  sessions: string;
  /** `"schema"."coatcheck_schema"` */
  versions: string;
}

const quote = (identifier: string) => `"${identifier}"`;

/** Quotes a store's (already validated) schema and table names for use in SQL. */
export function tableNames(schema: string, table: string): TableNames {
  return {
    schema,
    table,
    sessions: `${quote(schema)}.${quote(table)}`,
    versions: `${quote(schema)}.coatcheck_schema`,
  };
}

/**
 * The DDL of one store, the same as sql/postgres/001_init.sql, 002_step_up_rotation.sql and
 * 003_device_key.sql and 004_remembered_devices.sql (which spell it out for the default names).
 * Every statement is idempotent so it can run again safely, and an older database is brought up to
 * date by the same list.
 */
export function schemaStatements(names: TableNames): string[] {
  const index = (suffix: string) => quote(`${names.table}_${suffix}`);
  return [
    `CREATE TABLE IF NOT EXISTS ${names.versions} (name text PRIMARY KEY, version integer NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${names.sessions} (
      handle text PRIMARY KEY,
      secret_hash text NOT NULL,
      user_id text,
      created_at bigint NOT NULL,
      auth_at bigint,
      last_seen_at bigint NOT NULL,
      idle_expires_at bigint NOT NULL,
      absolute_expires_at bigint NOT NULL,
      expires_at bigint NOT NULL,
      version integer NOT NULL,
      device jsonb NOT NULL,
      cookie_max_age_ms bigint,
      csrf_secret text,
      data jsonb NOT NULL
    )`,
    `CREATE INDEX IF NOT EXISTS ${index('user')} ON ${names.sessions} (user_id) WHERE user_id IS NOT NULL`,
    `CREATE INDEX IF NOT EXISTS ${index('expires')} ON ${names.sessions} (expires_at)`,
    // 2: step-up level and time (S40), periodic rotation (S21).
    `ALTER TABLE ${names.sessions}
      ADD COLUMN IF NOT EXISTS aal integer NOT NULL DEFAULT 0,
      ADD COLUMN IF NOT EXISTS step_up_at bigint,
      ADD COLUMN IF NOT EXISTS rotated_at bigint,
      ADD COLUMN IF NOT EXISTS successor text`,
    // Sessions signed in before version 2 were password logins.
    `UPDATE ${names.sessions} SET aal = 1 WHERE aal = 0 AND user_id IS NOT NULL AND step_up_at IS NULL`,
    // 3: the device key of a DBSC-bound session and its outstanding challenges.
    `ALTER TABLE ${names.sessions}
      ADD COLUMN IF NOT EXISTS device_key text,
      ADD COLUMN IF NOT EXISTS device_challenge text`,
    // 4: remembered devices ("keep me signed in").
    ...rememberedDevicesDdl(names),
  ];
}

async function installedVersion(db: pg.Pool | pg.PoolClient, names: TableNames): Promise<number | null> {
  const present = await db.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [
    names.versions,
  ]);
  if (!present.rows[0]?.present) return null;
  const row = await db.query<{ version: number }>(`SELECT version FROM ${names.versions} WHERE name = $1`, [
    names.table,
  ]);
  return row.rows[0]?.version ?? null;
}

function checkVersion(version: number | null, names: TableNames): boolean {
  if (version !== null && version > SCHEMA_VERSION) {
    throw new Error(
      `${names.sessions} has schema version ${version}; this coatcheck knows ${SCHEMA_VERSION}`,
    );
  }
  return version === SCHEMA_VERSION;
}

/**
 * Creates the tables if they are missing. Instances starting together serialise on an advisory
 * lock; a database already at this version costs two reads and needs no DDL privilege.
 */
export async function migrate(pool: pg.Pool, names: TableNames): Promise<void> {
  if (checkVersion(await installedVersion(pool, names), names)) return;
  const client = await pool.connect();
  let failure: Error | undefined;
  try {
    await client.query('BEGIN');
    // Two concurrent CREATE TABLE IF NOT EXISTS can still collide in the catalog; the lock orders them.
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    const schema = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [names.schema]);
    // CREATE SCHEMA IF NOT EXISTS checks the CREATE privilege even when the schema exists.
    if (schema.rowCount === 0) await client.query(`CREATE SCHEMA IF NOT EXISTS ${quote(names.schema)}`);
    if (!checkVersion(await installedVersion(client, names), names)) {
      for (const statement of schemaStatements(names)) await client.query(statement);
      await client.query(
        `INSERT INTO ${names.versions} (name, version) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version`,
        [names.table, SCHEMA_VERSION],
      );
    }
    await client.query('COMMIT');
  } catch (error) {
    failure = error instanceof Error ? error : new Error(String(error));
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    // A client that failed mid-transaction is discarded rather than returned to the pool.
    client.release(failure);
  }
}
