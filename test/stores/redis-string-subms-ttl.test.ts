// UPDATE of a session with less than half a millisecond left before its expiry (a clock that is not
// whole milliseconds): the TTL rounds to 0, and every layout deletes the key and answers, as PEXPIRE 0
// does for a hash (SET ... PX 0 would be refused).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { makeRecord } from '../../packages/coatcheck/src/testing/conformance.js';
import { hasRedis, redisForSuite } from '../support/redis-server.js';

describe('Redis update with a sub-millisecond TTL left', { skip: !hasRedis && 'no redis' }, () => {
  const redis = redisForSuite();
  for (const layout of ['string', 'packed', 'fields'] as const) {
    it(`${layout}: update answers instead of throwing`, async () => {
      const start = Date.now();
      let t = start + 0.7;
      const store = new RedisStore({
        client: redis.client,
        prefix: `subms-${layout}:`,
        now: () => t,
        layout,
      });
      const record = makeRecord({ createdAt: start, lastSeenAt: start, idleExpiresAt: start + 60_000 });
      assert.equal(await store.create(record), true);
      t = start + 60_000 - 0.3; // 0.3 ms of idle time left
      await assert.doesNotReject(store.update(record.handle, { set: { a: '1' } }));
    });
  }
});
