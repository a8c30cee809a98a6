import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { makeRecord } from '../../packages/coatcheck/src/testing/conformance.js';
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

  it('a new index expires with its member; one that outlives a new member keeps its TTL, and the next sign-in prunes it', async () => {
    server ??= await startRedis();
    const { client, close } = await connectRedis('node-redis', server);
    try {
      const store = new RedisStore({ client, prefix: 'index-ttl:' });
      const now = Date.now();
      const long = makeRecord({ userId: 'ttl-user', absoluteExpiresAt: now + 10 * ABSOLUTE_MS });
      assert.equal(await store.create(long, { randomHandle: true }), true);
      const key = store.userKey('ttl-user');
      const first = await client.pTTL(key);
      assert.ok(first > 10 * ABSOLUTE_MS - 5_000 && first <= 10 * ABSOLUTE_MS, `new index TTL ${first} ms`);
      await client.zAdd(key, { score: now - 1, value: 'ended' });
      const short = makeRecord({ userId: 'ttl-user', absoluteExpiresAt: now + ABSOLUTE_MS });
      assert.equal(await store.create(short, { randomHandle: true }), true);
      assert.ok((await client.pTTL(key)) > 10 * ABSOLUTE_MS - 5_000, 'the TTL is not shortened');
      const next = makeRecord({ userId: 'ttl-user', absoluteExpiresAt: now + 11 * ABSOLUTE_MS });
      assert.equal(await store.create(next, { randomHandle: true }), true);
      assert.deepEqual(
        (await client.zRange(key, 0, -1)).sort(),
        [long.handle, short.handle, next.handle].sort(),
        'the sign-in that moved the TTL dropped the member past its expiry',
      );
    } finally {
      await close();
    }
  });

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
