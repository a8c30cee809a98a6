// Instances of the three layouts on one prefix, on both drivers: renewals racing data updates lose
// no write, and renewals racing logout, rotation with grace, destroyByUser and the kill switch leave
// no session, no stub and no pointer past its grace deadline.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { makeRecord } from '../../packages/coatcheck/src/testing/conformance.js';
import { type Connection, connectRedis, hasRedis, redisForSuite } from '../support/redis-server.js';

describe('Redis mixed-layout fleet races', { skip: !hasRedis && 'no redis' }, () => {
  const redis = redisForSuite();
  const conns: Connection<unknown>[] = [];
  const stores: RedisStore[] = [];
  before(async () => {
    for (const kind of ['node-redis', 'ioredis', 'node-redis', 'ioredis'] as const) {
      const c = await connectRedis(kind, redis.server);
      conns.push(c);
    }
    const layouts = ['string', 'packed', 'fields', 'string'] as const;
    for (const [i, c] of conns.entries()) {
      stores.push(
        new RedisStore({ client: (c as Connection<never>).client, prefix: 'race:', layout: layouts[i]! }),
      );
    }
  });
  after(async () => {
    for (const c of conns) await c.close();
  });

  it('renewals + updates racing, no lost data writes', async () => {
    for (let round = 0; round < 30; round++) {
      const r = makeRecord({ userId: 'u' });
      await stores[round % 4]!.create(r);
      const reads = await Promise.all(stores.map((s) => s.get(r.handle)));
      const work: Promise<unknown>[] = [];
      for (let i = 0; i < 20; i++) {
        const s = stores[i % 4]!;
        if (i % 2) work.push(s.update(r.handle, { set: { [`k${i}`]: String(i) } }));
        else
          work.push(
            s.renew(reads[i % 4]!, { lastSeenAt: r.lastSeenAt + i, idleExpiresAt: r.idleExpiresAt + i }),
          );
      }
      await Promise.all(work);
      const got = await stores[0]!.get(r.handle);
      const data = JSON.parse(got!.data);
      for (let i = 1; i < 20; i += 2) assert.equal(data[`k${i}`], i, `round ${round} k${i}`);
    }
  });
  it('renewals racing logout, rotation with grace and destroyAll leave nothing alive', async () => {
    for (let round = 0; round < 40; round++) {
      const r = makeRecord({ userId: 'u2' });
      await stores[round % 4]!.create(r);
      const reads = await Promise.all(stores.map((s) => s.get(r.handle)));
      const kind = round % 3;
      const next = makeRecord({ userId: 'u2' });
      const grace = Date.now() + 2000;
      const work: Promise<unknown>[] = [];
      for (let i = 0; i < 12; i++) {
        work.push(
          stores[i % 4]!.renew(reads[i % 4]!, {
            lastSeenAt: Date.now(),
            idleExpiresAt: Date.now() + 600_000,
          }),
        );
        if (i === 5) {
          if (kind === 0) work.push(stores[(round + 1) % 4]!.destroy(r.handle));
          if (kind === 1) work.push(stores[(round + 1) % 4]!.replace(r.handle, next, { graceUntil: grace }));
          if (kind === 2) work.push(stores[(round + 1) % 4]!.destroyByUser('u2'));
        }
      }
      await Promise.all(work);
      const key = stores[0]!.sessionKey(r.handle);
      const pttl = await redis.client.pTTL(key);
      const got = await stores[0]!.get(r.handle);
      if (kind === 1) {
        assert.ok(got?.successor === next.handle, `round ${round} pointer`);
        assert.ok(pttl <= 2100, `round ${round} pointer pttl ${pttl}`);
        assert.ok(got.idleExpiresAt <= grace && got.absoluteExpiresAt <= grace);
        await stores[0]!.destroy(next.handle);
        await stores[0]!.destroy(r.handle);
      } else {
        assert.equal(got, null, `round ${round} kind ${kind}`);
        assert.equal(pttl, -2, `round ${round} kind ${kind} key left`);
      }
    }
  });
});
