import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SessionDevice } from '../../packages/coatcheck/src/core/store/record.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { makeRecord } from '../../packages/coatcheck/src/testing/conformance.js';
import { hasRedis, perDriverForSuite, redisForSuite } from '../support/redis-server.js';

const BROWSER =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/**
 * The string layout holds the device as an object inside its JSON list, so a read decodes it with
 * the rest. What Redis holds after each write that keeps or copies it: a create, a data update, a
 * device update (binding policy 'log' or 'step-up'), and a rotation with grace whose pointer is a hash; and the
 * device every read gives back, on both drivers.
 */
describe('RedisStore string layout: the device inside the list', {
  skip: !hasRedis && 'redis-server is not installed',
}, () => {
  const redis = redisForSuite();
  const stores = perDriverForSuite(redis, (client, kind) => [
    [kind, new RedisStore({ client, prefix: `device-${kind}:` })],
    [`${kind}, packed`, new RedisStore({ client, prefix: `device-packed-${kind}:`, layout: 'packed' })],
  ]);

  /** The device entry of a string session's list, as Redis holds it. */
  const storedDevice = async (store: RedisStore, handle: string): Promise<unknown> => {
    const text = (await redis.client.get(store.sessionKey(handle)))!;
    const list = JSON.parse(text.slice(72)) as unknown[];
    const at = list.findIndex((entry, i) => i % 2 === 0 && entry === 'device');
    return at === -1 ? undefined : list[at + 1];
  };

  for (const kind of ['node-redis', 'ioredis'] as const) {
    for (const device of [
      { userAgent: BROWSER, ip: '203.0.113.7' },
      { userAgent: 'é ü 🦄 "quoted" \\ {json} [x] /slash/', ip: '::1' },
      {},
    ] as SessionDevice[]) {
      it(`${kind}: ${JSON.stringify(device).slice(0, 40)}: kept as an object through create and data update, read back equal`, async () => {
        const store = stores.get(kind)!;
        const record = makeRecord({ userId: 'device-user', device });
        assert.equal(await store.create(record), true);
        assert.deepEqual(await storedDevice(store, record.handle), device, 'an object, not a JSON text');
        assert.deepEqual((await store.get(record.handle))?.device, device);

        const updated = await store.update(record.handle, { set: { cart: '[1,2]' } });
        assert.deepEqual(updated?.device, device);
        assert.deepEqual(
          await storedDevice(store, record.handle),
          device,
          'UPDATE re-encodes it as an object',
        );
        const read = await store.get(record.handle);
        assert.deepEqual(read?.device, device);
        assert.equal(read?.data, '{"cart":[1,2]}');
      });
    }

    it(`${kind}: a device update (binding policy 'log' or 'step-up') replaces it, and reads give the new device`, async () => {
      const store = stores.get(kind)!;
      const record = makeRecord({ device: { userAgent: BROWSER, ip: '203.0.113.7' } });
      assert.equal(await store.create(record), true);
      const moved = { userAgent: `${BROWSER} Edg/131`, ip: '198.51.100.9' };
      const updated = await store.update(record.handle, { meta: { device: moved } });
      assert.deepEqual(updated?.device, moved);
      assert.deepEqual((await store.get(record.handle))?.device, moved);
      // Then a data update on top keeps the new device.
      await store.update(record.handle, { set: { n: '1' } });
      assert.deepEqual((await store.get(record.handle))?.device, moved);
    });

    it(`${kind}: a rotation with grace turns the session into a hash pointer that keeps the device`, async () => {
      const store = stores.get(kind)!;
      for (const device of [{ userAgent: BROWSER, ip: '203.0.113.7' }, {}] as SessionDevice[]) {
        const old = makeRecord({ userId: 'grace-user', device });
        assert.equal(await store.create(old), true);
        const next = makeRecord({ userId: 'grace-user', device });
        assert.equal(await store.replace(old.handle, next, { graceUntil: Date.now() + 60_000 }), true);
        assert.equal(await redis.client.type(store.sessionKey(old.handle)), 'hash');
        const stored = await redis.client.hGet(store.sessionKey(old.handle), 'device');
        assert.deepEqual(JSON.parse(stored!), device, 'the pointer holds the device as JSON text');
        const pointer = await store.get(old.handle);
        assert.equal(pointer?.successor, next.handle);
        assert.deepEqual(pointer?.device, device);
        assert.deepEqual((await store.get(next.handle))?.device, device);
      }
    });

    it(`${kind}: a lone surrogate in a device key: kept as JSON text, and every script still reads the session`, async () => {
      const store = stores.get(kind)!;
      const device = { 'k\ud800': 'v', ip: '1.2.3.4' } as SessionDevice;
      const userId = `${kind}-surrogate-key`;
      const odd = makeRecord({ userId, device });
      const plain = makeRecord({ userId });
      for (const record of [odd, plain]) assert.equal(await store.create(record), true);
      assert.equal(typeof (await storedDevice(store, odd.handle)), 'string', 'cjson refuses the escape');
      assert.deepEqual((await store.get(odd.handle))?.device, device);
      assert.equal((await store.update(odd.handle, { set: { n: '1' } }))?.data, '{"n":1}');
      assert.deepEqual((await store.get(odd.handle))?.device, device);
      assert.equal((await store.destroyByUser(userId)).length, 2, 'sign out everywhere ends both');
      // The kill switch walks every session of the prefix, this one among them.
      const again = makeRecord({ device });
      assert.equal(await store.create(again), true);
      const removed = await store.destroyAll();
      assert.ok(removed.some((session) => session.handle === again.handle));
      assert.equal(await store.get(again.handle), null);
    });

    it(`${kind}: a device outside the type (null, undefined, an array) reads back as the packed layout reads it`, async () => {
      const store = stores.get(kind)!;
      const packed = stores.get(`${kind}, packed`)!;
      for (const device of [null, undefined, [], ['a']] as unknown as SessionDevice[]) {
        const expected = async (from: RedisStore) => {
          const record = makeRecord({ device });
          assert.equal(await from.create(record), true);
          const created = (await from.get(record.handle))?.device;
          const updated = (await from.update(record.handle, { set: { n: '1' } }))?.device;
          return { created, updated, read: (await from.get(record.handle))?.device };
        };
        assert.deepEqual(
          await expected(store),
          await expected(packed),
          JSON.stringify(device) ?? 'undefined',
        );
      }
    });

    it(`${kind}: a device whose values are not well-formed strings is kept as JSON text, value for value`, async () => {
      const store = stores.get(kind)!;
      const device = { userAgent: 'lone \ud800 surrogate', ip: '127.0.0.1' };
      const record = makeRecord({ device });
      assert.equal(await store.create(record), true);
      assert.equal(typeof (await storedDevice(store, record.handle)), 'string');
      assert.deepEqual((await store.get(record.handle))?.device, device);
      await store.update(record.handle, { set: { n: '1' } });
      assert.deepEqual((await store.get(record.handle))?.device, device);
    });
  }
});
