/**
 * Opens the Redis and Postgres stores. Their modules are loaded by path, so the benchmark servers
 * type-check and start before those stores exist in the source tree; the harness skips their rows
 * until the files are there.
 */
import { MemoryStore } from 'coatcheck/stores/memory';
import { createClient } from 'redis';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';
import { importOptional } from './common.js';

export interface OpenedStore {
  store: SessionStore;
  close(): Promise<void>;
}

type StoreClass<Options> = new (options: Options) => SessionStore;

/** coatcheck's bounded MemoryStore, bound far above what a run creates, so pre-created sessions are never evicted mid-run. */
export function openMemoryStore(): OpenedStore {
  const store = new MemoryStore({ maxSessions: 2_000_000 });
  return { store, close: () => store.close() };
}

/**
 * RedisStore (`{ client }`, node-redis v5) on BENCH_REDIS_URL; with `cacheTtlMs`, on a RESP3 client
 * with node-redis's client-side cache (entries kept at most that long).
 */
export async function openRedisStore(options: { cacheTtlMs?: number } = {}): Promise<OpenedStore> {
  const url = process.env.BENCH_REDIS_URL;
  if (!url) throw new Error('BENCH_REDIS_URL is not set');
  const client = options.cacheTtlMs
    ? createClient({ url, RESP: 3, clientSideCache: { ttl: options.cacheTtlMs, maxEntries: 100_000 } })
    : createClient({ url });
  await client.connect();
  const { RedisStore } = await importOptional<{ RedisStore: StoreClass<{ client: unknown }> }>(
    'packages/coatcheck/dist/esm/stores/redis.js',
  );
  const store = new RedisStore({ client });
  return {
    store,
    close: async () => {
      await store.close();
      if (client.isOpen) await client.quit();
    },
  };
}

/** PostgresStore (`{ connectionString }`) on BENCH_PG_URL. */
export async function openPostgresStore(): Promise<OpenedStore> {
  const connectionString = process.env.BENCH_PG_URL;
  if (!connectionString) throw new Error('BENCH_PG_URL is not set');
  const { PostgresStore } = await importOptional<{
    PostgresStore: StoreClass<{ connectionString: string }>;
  }>('packages/coatcheck/dist/esm/stores/postgres.js');
  const store = new PostgresStore({ connectionString });
  // A store that prepares its schema on demand exposes a promise or method for it; wait for it here.
  const ready = (store as { ready?: unknown }).ready;
  if (typeof ready === 'function') await (ready as () => Promise<unknown>).call(store);
  else if (ready instanceof Promise) await ready;
  return { store, close: () => store.close() };
}
