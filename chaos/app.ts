/**
 * One chaos app process: the test app of test/support/app.ts (login, per-key writes, reads) on the
 * store the environment names, with a second, loopback-only admin listener whose `GET /heap` runs
 * the garbage collector and answers the heap in use (run with --expose-gc). Prints
 * `{"port":N,"admin":M}` once both listen; SIGTERM closes it.
 *
 * STORE: `redis` (REDIS_URL), `redis-cluster` (REDIS_NODES, comma-separated host:port),
 * `redis-sentinel` (SENTINELS, SENTINEL_NAME) or `postgres` (DATABASE_URL); CLIENT: `node-redis`
 * or `ioredis`. Clients are configured as docs/operations-redis.md advises: reconnect by
 * themselves, never queue commands while offline.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Cluster, Redis } from 'ioredis';
import { createClient, createCluster, createSentinel } from 'redis';
import type { SessionStore } from '../packages/coatcheck/src/core/store/store.js';
import { PostgresStore } from '../packages/coatcheck/src/stores/postgres.js';
import { type RedisClientLike, RedisStore } from '../packages/coatcheck/src/stores/redis.js';
import { startTestApp } from '../test/support/app.js';

const env = process.env;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const hosts = (list: string) =>
  list.split(',').map((entry) => {
    const [host = '127.0.0.1', port = '0'] = entry.split(':');
    return { host, port: Number(port) };
  });
const socket = {
  connectTimeout: 500,
  reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 500),
};
const ioOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 500 } as const;

async function connectRedis(): Promise<{ client: RedisClientLike; close: () => Promise<unknown> }> {
  const nodeRedis = env.CLIENT !== 'ioredis';
  if (env.STORE === 'redis-cluster') {
    const nodes = hosts(env.REDIS_NODES ?? '');
    if (nodeRedis) {
      const client = createCluster({
        rootNodes: nodes.map(({ host, port }) => ({ url: `redis://${host}:${port}` })),
        defaults: { disableOfflineQueue: true, socket },
      });
      await client.connect();
      return { client, close: () => client.close() };
    }
    const client = new Cluster(nodes, {
      enableOfflineQueue: false,
      clusterRetryStrategy: () => 100,
      redisOptions: { maxRetriesPerRequest: 0, connectTimeout: 500 },
    });
    await new Promise((resolve) => client.once('ready', resolve));
    return { client, close: async () => client.disconnect() };
  }
  if (env.STORE === 'redis-sentinel') {
    const sentinels = hosts(env.SENTINELS ?? '');
    const name = env.SENTINEL_NAME ?? 'coatcheck';
    if (nodeRedis) {
      const client = createSentinel({
        name,
        sentinelRootNodes: sentinels,
        nodeClientOptions: { disableOfflineQueue: true, socket },
      });
      await client.connect();
      return { client, close: () => client.close() };
    }
    const client = new Redis({ sentinels, name, ...ioOptions });
    await new Promise((resolve) => client.once('ready', resolve));
    return { client, close: async () => client.disconnect() };
  }
  if (nodeRedis) {
    const client = createClient({ url: env.REDIS_URL ?? '', disableOfflineQueue: true, socket });
    await client.connect();
    return { client, close: () => client.close() };
  }
  const client = new Redis(env.REDIS_URL ?? '', ioOptions);
  await new Promise((resolve) => client.once('ready', resolve));
  return { client, close: async () => client.disconnect() };
}

async function openStore(): Promise<{ store: SessionStore; close: () => Promise<unknown> }> {
  if (env.STORE === 'postgres') {
    const store = new PostgresStore({ connectionString: env.DATABASE_URL ?? '', onError: () => {} });
    return { store, close: () => store.close() };
  }
  const { client, close } = await connectRedis();
  return { store: new RedisStore({ client }), close };
}

const { store, close } = await openStore();
// The real clock: the test app's frozen one would never expire or renew anything.
const app = await startTestApp(store, {
  now: Date.now,
  storeTimeoutMs: Number(env.STORE_TIMEOUT_MS ?? 1000),
});

const admin = createServer((req, res) => {
  if (req.url !== '/heap') {
    res.writeHead(404).end();
    return;
  }
  for (let i = 0; i < 3; i++) gc();
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(process.memoryUsage()));
});
await new Promise<void>((resolve) => admin.listen(0, '127.0.0.1', resolve));
const port = Number(new URL(app.url).port);
process.stdout.write(`${JSON.stringify({ port, admin: (admin.address() as AddressInfo).port })}\n`);

process.once('SIGTERM', () => {
  admin.close();
  void app
    .close()
    .then(close)
    .finally(() => process.exit(0));
});
