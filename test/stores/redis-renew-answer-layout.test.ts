// renew() answers `{ ...record, ...renewal, version }`, a new object: it is known as read from the
// same layout as the record renewed, so renewing that answer again sends the right command for the
// session's type in a mixed fleet (or with sessions left from before an upgrade), and never SETRANGE
// on a packed session's string pointer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { makeRecord } from '../../packages/coatcheck/src/testing/conformance.js';
import { hasRedis, redisForSuite } from '../support/redis-server.js';

describe('Redis: renewing a renewal answer across layouts', { skip: !hasRedis && 'no redis' }, () => {
  const redis = redisForSuite();
  for (const [mine, theirs] of [
    ['string', 'packed'],
    ['string', 'fields'],
    ['packed', 'string'],
    ['fields', 'string'],
  ] as const) {
    it(`a ${mine} instance renews twice a session written in the ${theirs} layout`, async () => {
      const store = new RedisStore({
        client: redis.client,
        prefix: `twice-${mine}-${theirs}:`,
        layout: mine,
      });
      const writer = new RedisStore({
        client: redis.client,
        prefix: `twice-${mine}-${theirs}:`,
        layout: theirs,
      });
      const record = makeRecord({ userId: 'u' });
      assert.equal(await writer.create(record), true);
      const read = (await store.get(record.handle))!;
      const once = await store.renew(read, {
        lastSeenAt: read.lastSeenAt + 1000,
        idleExpiresAt: read.idleExpiresAt + 1000,
      });
      assert.equal(once?.idleExpiresAt, read.idleExpiresAt + 1000);
      const twice = await store.renew(once!, {
        lastSeenAt: read.lastSeenAt + 2000,
        idleExpiresAt: read.idleExpiresAt + 2000,
      });
      const stored = await store.get(record.handle);
      assert.deepEqual(
        { answered: twice?.idleExpiresAt, stored: stored?.idleExpiresAt },
        { answered: read.idleExpiresAt + 2000, stored: read.idleExpiresAt + 2000 },
      );
    });
  }

  it('a string instance renews its renewal answer after a packed instance rotated the session with grace', async () => {
    const store = new RedisStore({ client: redis.client, prefix: 'twice-grace:' });
    const packed = new RedisStore({ client: redis.client, prefix: 'twice-grace:', layout: 'packed' });
    const record = makeRecord({ userId: 'u' });
    assert.equal(await packed.create(record), true);
    const read = (await store.get(record.handle))!;
    const once = (await store.renew(read, {
      lastSeenAt: read.lastSeenAt + 1,
      idleExpiresAt: read.idleExpiresAt + 1,
    }))!;
    const next = makeRecord({ userId: 'u' });
    const grace = Date.now() + 2000;
    assert.equal(await packed.replace(record.handle, next, { graceUntil: grace }), true);
    // The packed pointer is a string: SETRANGE of the header succeeds on it and overwrites its JSON.
    const twice = await store.renew(once, {
      lastSeenAt: read.lastSeenAt + 2,
      idleExpiresAt: read.idleExpiresAt + 2,
    });
    const pttl = await redis.client.pTTL(store.sessionKey(record.handle));
    const reread = await store.get(record.handle).then(
      (value) => ({ threw: false, successor: value?.successor ?? null }),
      () => ({ threw: true, successor: null }),
    );
    const logout = await store.destroy(record.handle).then(
      () => 'answered',
      () => 'threw',
    );
    assert.deepEqual(
      { renewAnswer: twice?.successor ?? null, pointerTtlWithinGrace: pttl <= 2000, reread, logout },
      {
        renewAnswer: next.handle,
        pointerTtlWithinGrace: true,
        reread: { threw: false, successor: next.handle },
        logout: 'answered',
      },
    );
  });
});
