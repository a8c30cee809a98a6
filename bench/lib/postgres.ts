/**
 * A throwaway PostgreSQL cluster pinned to the load generator's core. pg_stat_statements is loaded
 * so statements per request can be counted per database. Durability is off (fsync, synchronous
 * commit): the cluster is thrown away, and the figures measure the library, not this machine's disk.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { findBinary } from '../../test/support/servers.js';
import { freePort, removeOnExit, startPinned, supervise } from './processes.js';

export interface BenchPostgres {
  readonly pid: number;
  /** Times the server was stopped from outside the benchmark and started again. */
  readonly restarts: number;
  /** Connection string of a new, empty database. */
  createDatabase(name: string): Promise<string>;
  /** Top-level statements executed in database `name` so far (BEGIN/COMMIT included). */
  statementCount(name: string): Promise<number>;
  stop(): Promise<void>;
}

/** Where postgres lives: on PATH, or Debian's versioned directory (not on PATH). */
export function findPostgres(): string | null {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  return findBinary(
    'postgres',
    versions.map((version) => join(root, version, 'bin', 'postgres')),
  );
}

/** postgres refuses to run as root: run it as the `postgres` system user when we are root. */
function asServerUser(command: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [command, args];
  return ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', command, ...args]];
}

function serverUserIds(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

export async function startBenchPostgres(postgresBinary: string, core: number): Promise<BenchPostgres> {
  const bin = dirname(realpathSync(postgresBinary));
  const dir = mkdtempSync(join(tmpdir(), 'coatcheck-bench-pg-'));
  removeOnExit(dir);
  const ids = serverUserIds();
  if (ids) chownSync(dir, ids.uid, ids.gid);
  const data = join(dir, 'data');
  const [initdb, initArgs] = asServerUser(join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    'bench',
    '-A',
    'trust',
    '--no-sync',
    '--locale=C',
    '-E',
    'UTF8',
  ]);
  execFileSync(initdb, initArgs, { stdio: 'pipe' });
  const port = await freePort();
  const [command, args] = asServerUser(postgresBinary, [
    '-D',
    data,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    `port=${port}`,
    '-c',
    `unix_socket_directories=${dir}`,
    '-c',
    'shared_preload_libraries=pg_stat_statements',
    '-c',
    'pg_stat_statements.track=top',
    '-c',
    'pg_stat_statements.track_utility=on',
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'shared_buffers=512MB',
    '-c',
    'max_connections=200',
  ]);
  const server = await supervise(
    'postgres',
    () => startPinned(core, command, args),
    /ready to accept connections/,
  );
  const base = `postgres://bench@127.0.0.1:${port}`;
  const admin = new pg.Client({ connectionString: `${base}/postgres` });
  await admin.connect();
  await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  admin.on('error', () => {});
  return {
    get pid() {
      return server.pid;
    },
    get restarts() {
      return server.restarts;
    },
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
      await admin.query(`CREATE DATABASE ${name}`);
      return `${base}/${name}`;
    },
    async statementCount(name) {
      const { rows } = await admin.query<{ n: string }>(
        `SELECT coalesce(sum(calls), 0)::bigint AS n FROM pg_stat_statements
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1)`,
        [name],
      );
      return Number(rows[0]?.n ?? 0);
    },
    async stop() {
      await admin.end().catch(() => {});
      await server.stop('SIGINT', 10_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
