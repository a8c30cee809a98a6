// get() of a session in a layout other than the instance's takes two reads: GET (or HGETALL),
// WRONGTYPE, then the other command. A rotation with grace between the two flips the key's type
// again (a packed session becomes a string pointer, a string session a hash pointer): get() reads
// once more and answers the pointer. Reachable in a fleet that moved to the 'string' default while
// its packed sessions rotate.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { makeRecord } from '../../packages/coatcheck/src/testing/conformance.js';
import { type Connection, connectRedis, hasRedis, redisForSuite } from '../support/redis-server.js';

/** The ioredis client, with `hook` run before the named command's next call. */
function withHook(client: object, command: 'get' | 'hgetall', state: { hook: (() => Promise<void>) | null }) {
  return new Proxy(client, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      if (name !== command) return value.bind(target);
      return async (...args: unknown[]) => {
        const hook = state.hook;
        state.hook = null;
        if (hook) await hook();
        return value.apply(target, args);
      };
    },
  });
}

describe('Redis get() racing a rotation that flips the key type', { skip: !hasRedis && 'no redis' }, () => {
  const redis = redisForSuite();
  let io: Connection<never>;
  before(async () => {
    io = (await connectRedis('ioredis', redis.server)) as Connection<never>;
  });
  after(async () => {
    await io.close();
  });

  for (const [mine, theirs, second] of [
    ['string', 'packed', 'hgetall'],
    ['packed', 'string', 'get'],
  ] as const) {
    it(`a ${mine} instance reads a ${theirs} session while it rotates with grace`, async () => {
      const state: { hook: (() => Promise<void>) | null } = { hook: null };
      const prefix = `flip-${mine}:`;
      const reader = new RedisStore({
        client: withHook(io.client, second, state) as never,
        prefix,
        layout: mine,
      });
      const rotator = new RedisStore({ client: redis.client, prefix, layout: 'string' });
      const writer = new RedisStore({ client: redis.client, prefix, layout: theirs });
      const record = makeRecord({ userId: 'u' });
      assert.equal(await writer.create(record), true);
      const next = makeRecord({ userId: 'u' });
      state.hook = async () => {
        assert.equal(await rotator.replace(record.handle, next, { graceUntil: Date.now() + 5000 }), true);
      };
      const read = await reader.get(record.handle).then(
        (value) => ({ threw: null, successor: value?.successor ?? null }),
        (error: Error) => ({ threw: error.message.slice(0, 40), successor: null }),
      );
      assert.deepEqual(read, { threw: null, successor: next.handle });
    });
  }
});
