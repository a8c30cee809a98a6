/** Every store that keeps remembered devices, on real servers started from the system's binaries. */
import { after } from 'node:test';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { PostgresStore } from '../../packages/coatcheck/src/stores/postgres.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { SqliteStore } from '../../packages/coatcheck/src/stores/sqlite.js';
import { findPostgres, type PostgresServer, startPostgres } from '../support/postgres-server.js';
import { connectRedis, hasRedis, type RedisServer, startRedis } from '../support/redis-server.js';

export interface RememberStore {
  name: string;
  /** A new, empty store. */
  create(): Promise<SessionStore>;
}

function lazy<T>(start: () => Promise<T>, stop: (value: T) => Promise<void>) {
  let started: Promise<T> | null = null;
  after(async () => {
    if (started !== null) await stop(await started);
  });
  return () => (started ??= start());
}

let count = 0;

/** memory, sqlite, redis (node-redis) and postgres; the servers start on first use and stop at the end. */
export function rememberStores(): RememberStore[] {
  const stores: RememberStore[] = [
    { name: 'memory', create: async () => new MemoryStore() },
    { name: 'sqlite', create: async () => new SqliteStore({ path: ':memory:', sweepIntervalMs: 0 }) },
  ];
  if (hasRedis) {
    const redis = lazy(
      async () => {
        const server = await startRedis();
        return { server, connection: await connectRedis('node-redis', server) };
      },
      async ({ server, connection }: { server: RedisServer; connection: { close(): Promise<void> } }) => {
        await connection.close();
        await server.dispose();
      },
    );
    stores.push({
      name: 'redis',
      create: async () =>
        new RedisStore({ client: (await redis()).connection.client, prefix: `r${count++}:` }),
    });
  }
  if (findPostgres()) {
    const postgres = lazy(startPostgres, (server: PostgresServer) => server.stop());
    const pools: PostgresStore[] = [];
    after(async () => {
      for (const store of pools) await store.close();
    });
    stores.push({
      name: 'postgres',
      create: async () => {
        const server = await postgres();
        const store = new PostgresStore({
          connectionString: await server.createDatabase(`remember${count++}`),
          pruneIntervalMs: 0,
        });
        pools.push(store);
        return store;
      },
    });
  }
  return stores;
}
