import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { makeRecord } from '../../packages/coatcheck/src/testing/conformance.js';
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

/** A random handle that begins with `first` (the index add prunes when it is P, p or 0). */
const handleStartingWith = (first: string) => first + makeRecord().handle.slice(1);

/**
 * A user who keeps signing in, each session ending on its own (never signed out): the index keeps
 * one member per session until an add prunes it. Adds prune by the handle's first byte (about one
 * in 20 random handles), so the test picks the handles: 12 that do not prune, then one that does.
 */
async function indexSizesOverExpiringLogins(
  kind: ClientKind,
  target: RedisServer | RedisCluster,
  cli: (...args: string[]) => Promise<string>,
) {
  const { client, close } = await connectRedis(kind, target);
  let at = Date.now();
  const store = new RedisStore({ client, prefix: `bounded-${kind}:`, now: () => at });
  const sizes: number[] = [];
  const signIn = async (first: string) => {
    const record = makeRecord({
      handle: handleStartingWith(first),
      userId: 'frequent',
      createdAt: at,
      lastSeenAt: at,
      rotatedAt: at,
      idleExpiresAt: at + ABSOLUTE_MS / 4,
      absoluteExpiresAt: at + ABSOLUTE_MS,
    });
    assert.equal(await store.create(record), true);
    // Half an absolute timeout between sign-ins: each session ends by itself, unseen again.
    at += ABSOLUTE_MS / 2;
    sizes.push(Number(await cli('ZCARD', store.userKey('frequent'))));
    return record;
  };
  try {
    for (let i = 0; i < 12; i++) await signIn('A');
    await signIn('P');
    const last = await signIn('0');
    const live = await store.listByUser('frequent');
    assert.deepEqual(
      live.map((record) => record.handle),
      [last.handle],
    );
  } finally {
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

  const check = (sizes: number[]) => {
    // Without a pruning add the index grows by one member a sign-in; a pruning add drops every
    // member past its absolute expiry (at most the one before it is still within it).
    assert.deepEqual(sizes.slice(0, 12), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], `sizes ${sizes}`);
    assert.deepEqual(sizes.slice(12), [2, 2], `sizes ${sizes}`);
  };

  for (const kind of ['node-redis', 'ioredis'] as const) {
    it(`standalone (${kind}): an add drops the members past their absolute expiry in about one in 20`, async () => {
      server ??= await startRedis();
      const redis = server;
      check(await indexSizesOverExpiringLogins(kind, redis, (...args) => redis.cli(...args)));
    });
  }

  it('cluster (ioredis): the same on a Redis Cluster', async () => {
    cluster ??= await startRedisCluster();
    const nodes = cluster.servers;
    // The index key lives on one node; -c lets redis-cli follow the redirect to it.
    check(await indexSizesOverExpiringLogins('ioredis', cluster, (...args) => nodes[0]!.cli('-c', ...args)));
  });
});
