/**
 * A throwaway PostgreSQL server for tests: initdb into a temporary directory, listen on a free
 * loopback port, stop by the postmaster's own PID. PostgreSQL refuses to run as root, so as root the
 * binaries run as the `postgres` system user through runuser.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { requireBinary } from './servers.js';

export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:<port>/coatcheck`, a database created for the caller. */
  connectionString: string;
  port: number;
  /** PID of the running postmaster (changes after a restart). */
  readonly pid: number;
  /** Creates another empty database on this server and returns its connection string. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (fast shutdown) but keeps its data directory, for outage tests. */
  halt(): Promise<void>;
  /** Starts the server again on the same port and data directory, stopping it first if it runs. */
  restart(): Promise<void>;
  /** Stops the server and removes its temporary directories. */
  stop(): Promise<void>;
}

interface Binaries {
  initdb: string;
  postgres: string;
}

function versionedCandidates(name: string): string[] {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((version) => /^\d+$/.test(version))
    .sort((a, b) => Number(b) - Number(a))
    .map((version) => join(root, version, 'bin', name));
}

/** The initdb and postgres binaries (newest installed version first), or null when missing. */
export function findPostgres(): Binaries | null {
  const postgres = requireBinary('postgres', versionedCandidates('postgres'));
  if (!postgres) return null;
  const initdb = join(dirname(postgres), 'initdb');
  return { postgres, initdb: existsSync(initdb) ? initdb : (requireBinary('initdb') ?? initdb) };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const asRoot = () => process.getuid?.() === 0;

/** Runs a PostgreSQL binary as the current user, or as `postgres` through runuser when we are root. */
function command(binary: string, args: string[]): [string, string[]] {
  return asRoot() ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, args];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Thrown when the server exited before it accepted a connection (its port was taken, say). */
class ExitedEarly extends Error {}

/**
 * Waits until the server on `port` accepts connections and serves `dataDir`: between choosing a free
 * port and the bind, a parallel test process may take the port, and its server must not pass for ours.
 */
async function waitForConnections(
  port: number,
  dataDir: string,
  child: ChildProcess,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new ExitedEarly(`postgres exited with ${child.exitCode}:\n${output()}`);
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
    client.on('error', () => {});
    try {
      await client.connect();
      const { rows } = await client.query<{ data_directory: string }>('SHOW data_directory');
      await client.end();
      if (rows[0]?.data_directory === dataDir) return;
      throw new Error(`port ${port} is served by another postgres (${rows[0]?.data_directory})`);
    } catch (error) {
      await client.end().catch(() => {});
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections: ${String(error)}`);
      await sleep(100);
    }
  }
}

/**
 * A test process killed by a signal runs no exit handler: this small shell process outlives it,
 * notices, stops the server by its PID and removes the temporary directory.
 */
function guard(serverPid: number, directory: string): ChildProcess {
  const script =
    'while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -INT "$2" 2>/dev/null; ' +
    'while kill -0 "$2" 2>/dev/null; do sleep 0.2; done; rm -rf "$3"';
  const watchdog = spawn(
    'sh',
    ['-c', script, 'postgres-guard', String(process.pid), String(serverPid), directory],
    {
      stdio: 'ignore',
      detached: true,
    },
  );
  watchdog.unref();
  return watchdog;
}

/**
 * Starts a PostgreSQL server on 127.0.0.1 with a fresh data directory and one database, `coatcheck`.
 * Throws when PostgreSQL is not installed; call `findPostgres()` first to skip instead.
 * `options.port`: the port tried first (a test of the launcher); taken, the server moves to a free one.
 *
 * @example
 * const server = await startPostgres();
 * const store = new PostgresStore({ connectionString: server.connectionString });
 */
export async function startPostgres(options: { port?: number } = {}): Promise<PostgresServer> {
  const binaries = findPostgres();
  if (!binaries) throw new Error('postgres is not installed');
  const base = mkdtempSync(join(tmpdir(), 'coatcheck-pg-'));
  const dataDir = join(base, 'data');
  const socketDir = join(base, 'socket');
  mkdirSync(socketDir);
  if (asRoot()) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(base, uid, gid);
    chownSync(socketDir, uid, gid);
  }
  const [initCommand, initArgs] = command(binaries.initdb, [
    '-D',
    dataDir,
    '-U',
    'postgres',
    '-A',
    'trust',
    '-E',
    'UTF8',
    '--no-locale',
    '--no-sync',
  ]);
  execFileSync(initCommand, initArgs, { stdio: 'pipe' });
  let port = 0;

  let child: ChildProcess | null = null;
  let watchdog: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let pid = 0;
  let log = '';

  const start = async () => {
    log = '';
    const [runCommand, runArgs] = command(binaries.postgres, [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-k',
      socketDir,
      '-h',
      '127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'synchronous_commit=off',
    ]);
    const started = spawn(runCommand, runArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-8_000);
    };
    started.stdout?.on('data', keep);
    started.stderr?.on('data', keep);
    exited = new Promise((resolve) => started.once('exit', () => resolve()));
    child = started;
    await waitForConnections(port, dataDir, started, () => log);
    // Through runuser the child is runuser itself; postmaster.pid names the server process.
    pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    watchdog = guard(pid, base);
  };
  /**
   * The first start takes `options.port` or a free port, and another free one when that port was
   * taken before the server bound it (5 tries).
   */
  const launch = async () => {
    for (let attempt = 1; ; attempt++) {
      port = attempt === 1 && options.port ? options.port : await freePort();
      try {
        return await start();
      } catch (error) {
        if (!(error instanceof ExitedEarly) || attempt >= 5) throw error;
      }
    }
  };

  /**
   * Fast shutdown (SIGINT) closes open connections at once, as an outage does. The final stop asks
   * for a smart shutdown (SIGTERM) first: connections a pool is still closing end by themselves
   * instead of receiving a FATAL their client no longer listens for.
   */
  const halt = async (mode: 'fast' | 'smart' = 'fast') => {
    const running = child;
    try {
      if (watchdog?.pid) process.kill(watchdog.pid, 'SIGTERM');
    } catch {}
    watchdog = null;
    if (!running || running.exitCode !== null) return;
    const signal = (name: NodeJS.Signals) => {
      try {
        process.kill(pid, name);
      } catch {}
    };
    signal(mode === 'smart' ? 'SIGTERM' : 'SIGINT');
    const timers = [setTimeout(() => signal('SIGINT'), 3_000), setTimeout(() => signal('SIGQUIT'), 20_000)];
    await exited;
    for (const timer of timers) clearTimeout(timer);
    child = null;
  };

  // If the test process ends without calling stop(), do not leave the server behind.
  const onExit = () => {
    if (child && child.exitCode === null) {
      try {
        process.kill(pid, 'SIGQUIT');
      } catch {}
    }
  };
  process.once('exit', onExit);

  try {
    await launch();
  } catch (error) {
    await halt().catch(() => {});
    rmSync(base, { recursive: true, force: true });
    throw error;
  }

  const admin = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const createDatabase = async (name: string) => {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name: ${name}`);
    const client = new pg.Client({ connectionString: admin('postgres') });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${name}`);
    } finally {
      await client.end();
    }
    return admin(name);
  };

  const connectionString = await createDatabase('coatcheck');
  return {
    connectionString,
    port,
    get pid() {
      return pid;
    },
    createDatabase,
    halt: () => halt('fast'),
    async restart() {
      await halt();
      await start();
    },
    async stop() {
      await halt('smart');
      process.removeListener('exit', onExit);
      rmSync(base, { recursive: true, force: true });
    },
  };
}
