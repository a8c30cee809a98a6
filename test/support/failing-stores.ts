/**
 * Every store the integration tests run on, each one fresh per call and able to fail for real in
 * the middle of a request. Redis and PostgreSQL start from the system binaries on first use and
 * are skipped only when those are missing (outside CI).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import pg from 'pg';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { PostgresStore } from '../../packages/coatcheck/src/stores/postgres.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { SqliteStore } from '../../packages/coatcheck/src/stores/sqlite.js';
import { findPostgres, type PostgresServer, startPostgres } from './postgres-server.js';
import { connectRedis, hasRedis, type RedisServer, startRedis } from './redis-server.js';

/** A store, and how to make it fail for real in the middle of a request. */
export interface Opened {
  store: SessionStore;
  fail(): Promise<void>;
  close(): Promise<void>;
}

export interface Backend {
  name: string;
  skip: string | false;
  open(): Promise<Opened>;
}

/** Started on first use, stopped when the file ends. */
function lazy<T>(start: () => Promise<T>, stop: (value: T) => Promise<void>): () => Promise<T> {
  let started: Promise<T> | null = null;
  after(async () => {
    if (started !== null) await stop(await started);
  });
  return () => (started ??= start());
}

/**
 * The memory store lives in this process and cannot fail by itself: once switched off, every call
 * throws, as a store whose disk or network is gone would.
 */
class SwitchableMemoryStore extends MemoryStore {
  down = false;
  #check() {
    if (this.down) throw new Error('the store is unavailable');
  }
  override async get(...args: Parameters<MemoryStore['get']>) {
    this.#check();
    return super.get(...args);
  }
  override async create(...args: Parameters<MemoryStore['create']>) {
    this.#check();
    return super.create(...args);
  }
  override async update(...args: Parameters<MemoryStore['update']>) {
    this.#check();
    return super.update(...args);
  }
  override async replace(...args: Parameters<MemoryStore['replace']>) {
    this.#check();
    return super.replace(...args);
  }
  override async destroy(...args: Parameters<MemoryStore['destroy']>) {
    this.#check();
    return super.destroy(...args);
  }
}

/** Call at the top level of a test file: the servers and files are removed when it ends. */
export function failingStores(): Backend[] {
  const redis = lazy<RedisServer>(
    () => startRedis(),
    (server) => server.dispose(),
  );
  const postgres = lazy<PostgresServer>(
    () => startPostgres(),
    (server) => server.stop(),
  );
  const dir = mkdtempSync(join(tmpdir(), 'coatcheck-stores-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let opened = 0;
  return [
    {
      name: 'memory',
      skip: false,
      async open() {
        const store = new SwitchableMemoryStore();
        return {
          store,
          fail: async () => {
            store.down = true;
          },
          close: () => store.close(),
        };
      },
    },
    {
      name: 'SQLite',
      skip: false,
      async open() {
        const store = new SqliteStore({ path: join(dir, `passport-${opened++}.db`) });
        // Closing the database under the store: every later statement throws.
        return { store, fail: () => store.close(), close: () => store.close() };
      },
    },
    {
      name: 'Redis',
      skip: !hasRedis && 'redis-server is not installed',
      async open() {
        const connection = await connectRedis('node-redis', await redis());
        let closed = false;
        const close = async () => {
          if (!closed) await connection.close();
          closed = true;
        };
        const store = new RedisStore({ client: connection.client, prefix: `passport-${opened++}:` });
        return { store, fail: close, close };
      },
    },
    {
      name: 'PostgreSQL',
      skip: !findPostgres() && 'postgres is not installed',
      async open() {
        const pool = new pg.Pool({ connectionString: (await postgres()).connectionString, max: 4 });
        const end = async () => {
          if (!pool.ended) await pool.end();
        };
        const store = new PostgresStore({ pool, pruneIntervalMs: 0 });
        const close = async () => {
          await store.close();
          await end();
        };
        return { store, fail: end, close };
      },
    },
  ];
}
