import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cluster } from 'ioredis';
import { createCluster } from 'redis';
import type { RedisClientLike } from '../../packages/coatcheck/src/stores/redis.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { startTestApp } from '../support/app.js';
import { Client } from '../support/http.js';
import { type ClientKind, hasRedis, type RedisCluster, startRedisCluster } from '../support/redis-server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Cluster clients configured as docs/operations-redis.md shows: one root node, no offline queue. */
async function clusterClient(kind: ClientKind, cluster: RedisCluster) {
  if (kind === 'node-redis') {
    const client = createCluster({
      rootNodes: [{ url: cluster.urls[0]! }],
      defaults: {
        disableOfflineQueue: true,
        socket: { connectTimeout: 500, reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 500) },
      },
    });
    await client.connect();
    return { client: client as RedisClientLike, close: () => client.close() };
  }
  const client = new Cluster(cluster.nodes, {
    enableOfflineQueue: false,
    clusterRetryStrategy: () => 100,
    redisOptions: { maxRetriesPerRequest: 0, connectTimeout: 500 },
  });
  await new Promise((resolve) => client.once('ready', resolve));
  return { client: client as RedisClientLike, close: async () => void client.disconnect() };
}

/** Waits until every replica of `master` has acknowledged all of its writes (INFO replication), 10 s at most. */
async function replicated(master: RedisCluster['servers'][number]): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const info = await master.cli('INFO', 'replication');
    const offset = Number(/master_repl_offset:(\d+)/.exec(info)?.[1]);
    const replicas = [...info.matchAll(/^slave\d+:.*offset=(\d+)/gm)].map((match) => Number(match[1]));
    if (replicas.length > 0 && replicas.every((acked) => acked >= offset)) return;
    if (Date.now() > deadline) throw new Error(`replicas did not catch up: ${info}`);
    await sleep(50);
  }
}

describe('Redis Cluster failover', { skip: !hasRedis && 'redis-server is not installed' }, () => {
  for (const kind of ['node-redis', 'ioredis'] as const) {
    it(`sessions on a killed master are served from its promoted replica without a restart (${kind})`, async (t) => {
      const cluster = await startRedisCluster({ replicas: 1, nodeTimeoutMs: 1_000 });
      const { client, close } = await clusterClient(kind, cluster);
      const app = await startTestApp(new RedisStore({ client }), { storeTimeoutMs: 300 });
      t.after(async () => {
        await app.close();
        await close();
        await cluster.stop();
      });
      const users = Array.from({ length: 30 }, () => new Client(app.url));
      for (const [i, user] of users.entries()) {
        assert.equal((await user.post('/login', { userId: `f${i}` })).status, 200);
      }
      // Replication is asynchronous: let the replicas catch up before the master dies. (WAIT on a
      // connection of its own returns at once: it waits for that connection's writes only.)
      await Promise.all(cluster.servers.slice(0, 3).map((server) => replicated(server)));

      await cluster.servers[0]!.stop('SIGKILL');
      const killedAt = Date.now();
      let statuses: number[] = [];
      let sawOutage = false;
      do {
        await sleep(100);
        statuses = (await Promise.all(users.map((user) => user.get('/me')))).map((r) => r.status);
        sawOutage ||= statuses.includes(503);
      } while (statuses.some((status) => status !== 200) && Date.now() - killedAt < 30_000);
      const recoveredMs = Date.now() - killedAt;
      t.diagnostic(`${kind}: every session served again ${recoveredMs} ms after the kill`);
      assert.ok(sawOutage, 'some sessions lived on the killed master');
      assert.deepEqual(
        new Set(statuses),
        new Set([200]),
        `statuses 30 s after the kill: ${statuses.join(',')}`,
      );
    });
  }
});
