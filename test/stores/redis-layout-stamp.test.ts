import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import type { SessionRecord } from '../../packages/coatcheck/src/core/store/record.js';
import { layoutReadFrom } from '../../packages/coatcheck/src/stores/redis/codec.js';
import { makeRecord } from '../../packages/coatcheck/src/testing/conformance.js';
import {
  commandCounts,
  hasRedis,
  perDriverForSuite,
  redisForSuite,
  resetCommandCounts,
  storesPerLayout,
} from '../support/redis-server.js';

const BROWSER =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15';

/**
 * The layout a record was read from is a private field on the record (codec.ts LayoutStamp).
 * Copies (spread, structuredClone, JSON) carry no stamp and are renewed by the UPDATE script;
 * stamped records (a read, a renewal's answer) by SETRANGE. Also: a frozen record, a Proxy, two
 * concurrent renewals of one record, a stamped record of one layout handed to a store of another.
 */
describe('RedisStore: the layout stamp on records', {
  skip: !hasRedis && 'redis-server is not installed',
}, () => {
  const redis = redisForSuite();
  const stores = perDriverForSuite(redis, (client, kind) => storesPerLayout(client, kind, () => 'stamp:'));

  const device = { userAgent: BROWSER, ip: '2001:db8::1' };
  const renewal = (offset = 0) => {
    const now = Date.now() + offset;
    return { lastSeenAt: now, idleExpiresAt: now + 600_000 };
  };
  /** How many SETRANGE and EVALSHA/EVAL calls `work` made (the server's own command stats). */
  const calls = async (work: () => Promise<unknown>) => {
    await resetCommandCounts([redis.server]);
    await work();
    const counts = await commandCounts([redis.server]);
    return {
      setrange: counts.get('setrange') ?? 0,
      script: (counts.get('evalsha') ?? 0) + (counts.get('eval') ?? 0),
    };
  };

  for (const kind of ['node-redis', 'ioredis'] as const) {
    const copies: [string, (r: SessionRecord) => SessionRecord][] = [
      ['spread', (r) => ({ ...r })],
      ['structuredClone', (r) => structuredClone(r)],
      ['JSON round trip', (r) => JSON.parse(JSON.stringify(r)) as SessionRecord],
      ['Object.assign({}, r)', (r) => Object.assign({}, r)],
      ['Proxy', (r) => new Proxy(r, {})],
    ];
    for (const [name, copy] of copies) {
      it(`${kind}: a ${name} copy of a read record has no stamp and renews by UPDATE, correctly`, async () => {
        const store = stores.get(`${kind}, string`)!;
        const record = makeRecord({ userId: 'stamp-user', device });
        assert.equal(await store.create(record), true);
        await store.update(record.handle, { set: { cart: '{"items":[1,2,3]}' } });
        const read = (await store.get(record.handle))!;
        assert.equal(layoutReadFrom(read), 'string');
        const copied = copy(read);
        assert.equal(layoutReadFrom(copied), undefined, 'copies carry no stamp');
        assert.ok(isDeepStrictEqual(copied, read), 'the stamp is invisible to a deep comparison');
        let renewed: SessionRecord | null = null;
        const counted = await calls(async () => {
          renewed = await store.renew(copied, renewal());
        });
        assert.deepEqual(counted, { setrange: 0, script: 1 }, 'one UPDATE script, no SETRANGE');
        assert.equal(renewed!.version, read.version + 1);
        assert.deepEqual(renewed!.device, device);
        assert.equal(renewed!.data, read.data);
        assert.equal(layoutReadFrom(renewed!), 'string', 'the UPDATE answer is decoded, hence stamped');
        const again = (await store.get(record.handle))!;
        assert.equal(again.version, read.version + 1);
        assert.deepEqual(again.device, device);
        assert.equal(again.data, '{"cart":{"items":[1,2,3]}}');
        // The answer renews in place next time.
        const next = await calls(() => store.renew(renewed!, renewal(1)));
        assert.deepEqual(next, { setrange: 1, script: 0 });
        assert.equal((await store.get(record.handle))!.version, read.version + 2);
        await store.destroy(record.handle);
      });
    }

    it(`${kind}: a frozen read record renews in place, and its answer renews again`, async () => {
      const store = stores.get(`${kind}, string`)!;
      const record = makeRecord({ device });
      assert.equal(await store.create(record), true);
      const read = Object.freeze((await store.get(record.handle))!);
      assert.equal(layoutReadFrom(read), 'string');
      const counted = await calls(async () => {
        const first = await store.renew(read, renewal());
        assert.equal(first?.version, read.version + 1);
        const second = await store.renew(first!, renewal(1));
        assert.equal(second?.version, read.version + 2);
        assert.equal(Object.getPrototypeOf(second), Object.prototype);
      });
      assert.deepEqual(counted, { setrange: 2, script: 0 });
      const got = (await store.get(record.handle))!;
      assert.equal(got.version, read.version + 2);
      assert.deepEqual(got.device, device);
      assert.equal(Object.getPrototypeOf(got), Object.prototype, 'the stamp leaves the prototype alone');
      assert.deepEqual(Object.keys(got).includes('layout'), false);
      await store.destroy(record.handle);
    });

    it(`${kind}: one record renewed twice concurrently: both answer, the session stays whole`, async () => {
      const store = stores.get(`${kind}, string`)!;
      const record = makeRecord({ userId: 'stamp-concurrent', device });
      assert.equal(await store.create(record), true);
      const read = (await store.get(record.handle))!;
      const [a, b] = await Promise.all([store.renew(read, renewal()), store.renew(read, renewal(5))]);
      assert.equal(a?.version, read.version + 1);
      assert.equal(b?.version, read.version + 1);
      const got = (await store.get(record.handle))!;
      assert.equal(got.version, read.version + 1);
      assert.deepEqual(got.device, device);
      assert.equal(got.secretHash, read.secretHash);
      await store.destroy(record.handle);
    });

    it(`${kind}: a renewal racing a rotation with grace answers the pointer with its device`, async () => {
      const store = stores.get(`${kind}, string`)!;
      const old = makeRecord({ userId: 'stamp-race', device });
      assert.equal(await store.create(old), true);
      const read = (await store.get(old.handle))!;
      const next = makeRecord({ userId: 'stamp-race', device });
      assert.equal(await store.replace(old.handle, next, { graceUntil: Date.now() + 30_000 }), true);
      const answer = await store.renew(read, renewal());
      assert.equal(answer?.successor, next.handle);
      assert.deepEqual(answer?.device, device);
      const ttl = await redis.client.pTTL(store.sessionKey(old.handle));
      assert.ok(ttl > 0 && ttl <= 30_000, `pointer TTL back within grace, got ${ttl}`);
      await store.destroy(next.handle);
    });

    for (const [from, to] of [
      ['string', 'packed'],
      ['string', 'fields'],
      ['packed', 'string'],
      ['fields', 'string'],
    ] as const) {
      it(`${kind}: a record read by a '${from}' store, renewed by a '${to}' store (same keys)`, async () => {
        const writer = stores.get(`${kind}, ${from}`)!;
        const renewer = stores.get(`${kind}, ${to}`)!;
        const record = makeRecord({ userId: 'stamp-mixed', device });
        assert.equal(await writer.create(record), true);
        const read = (await renewer.get(record.handle))!;
        assert.equal(layoutReadFrom(read), from);
        const answer = await renewer.renew(read, renewal());
        assert.equal(answer?.version, read.version + 1);
        const got = (await writer.get(record.handle))!;
        assert.equal(got.version, read.version + 1);
        assert.deepEqual(got.device, device);
        await writer.update(record.handle, { set: { x: '1' } });
        assert.deepEqual((await renewer.get(record.handle))?.device, device);
        await writer.destroy(record.handle);
      });
    }
  }
});
