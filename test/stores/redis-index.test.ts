import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { Clock, startTestApp } from '../support/app.js';
import { Client } from '../support/http.js';
import {
  type ClientKind,
  connectRedis,
  hasRedis,
  type RedisCluster,
  type RedisServer,
  startRedis,
  startRedisCluster,
} from '../support/redis-server.js';

const ABSOLUTE_MS = 3_600_000;

/**
 * Issue 14: a user who keeps signing in, each session ending on its own (never signed out), left
 * one index member per session for good; only a listing pruned them.
 */
async function indexSizesOverExpiringLogins(
  kind: ClientKind,
  target: RedisServer | RedisCluster,
  cli: (...args: string[]) => Promise<string>,
) {
  const { client, close } = await connectRedis(kind, target);
  const clock = new Clock();
  const store = new RedisStore({ client, prefix: `bounded-${kind}:`, now: clock.now });
  const app = await startTestApp(store, { absoluteTimeoutMs: ABSOLUTE_MS, idleTimeoutMs: 600_000 });
  app.clock.at = clock.at;
  const sizes: number[] = [];
  try {
    for (let i = 0; i < 40; i++) {
      const device = new Client(app.url);
      assert.equal((await device.post('/login', { userId: 'frequent' })).status, 200);
      assert.equal((await device.post('/set', { visit: i })).status, 200);
      // Half an absolute timeout between sign-ins: each session ends by itself, unseen again.
      app.clock.advance(ABSOLUTE_MS / 2);
      clock.at = app.clock.at;
      sizes.push(Number(await cli('ZCARD', store.userKey('frequent'))));
    }
  } finally {
    await app.close();
    await close();
  }
  return sizes;
}

describe('redis user index stays bounded', { skip: !hasRedis && 'redis-server is not installed' }, () => {
  let server: RedisServer | undefined;
  let cluster: RedisCluster | undefined;
  after(async () => {
    await server?.dispose();
    await cluster?.stop();
  });

  for (const kind of ['node-redis', 'ioredis'] as const) {
    it(`standalone (${kind}): members past their absolute expiry are dropped when one is added`, async () => {
      server ??= await startRedis();
      const redis = server;
      const sizes = await indexSizesOverExpiringLogins(kind, redis, (...args) => redis.cli(...args));
      assert.ok(Math.max(...sizes) <= 3, `index sizes ${sizes.join(',')}`);
    });
  }

  it('cluster (ioredis): the same on a Redis Cluster', async () => {
    cluster ??= await startRedisCluster();
    const nodes = cluster.servers;
    // The index key lives on one node; -c lets redis-cli follow the redirect to it.
    const sizes = await indexSizesOverExpiringLogins('ioredis', cluster, (...args) =>
      nodes[0]!.cli('-c', ...args),
    );
    assert.ok(Math.max(...sizes) <= 3, `index sizes ${sizes.join(',')}`);
  });
});
