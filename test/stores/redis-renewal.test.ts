import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SessionRecord } from '../../packages/coatcheck/src/core/store/record.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { makeRecord } from '../../packages/coatcheck/src/testing/conformance.js';
import {
  hasRedis,
  perDriverForSuite,
  redisForSuite,
  storesPerLayout,
  stringFields,
} from '../support/redis-server.js';

/**
 * The renewal (SETRANGE of the header and PEXPIRE, repaired when SETRANGE made a stub or met a hash
 * pointer; HSET and PEXPIRE for a packed hash, repaired when HSET added fields or met a string
 * pointer; the RENEW script for hashes written field by field) at the level of the key: what is
 * left in Redis after each race, on both drivers and the three layouts. The store contract's
 * answers are in the conformance suite.
 */
describe('RedisStore renewal', {
  skip: !hasRedis && 'redis-server is not installed',
}, () => {
  const redis = redisForSuite();
  const stores = perDriverForSuite(redis, (client, kind) =>
    storesPerLayout(client, kind, (layout) => `renewal-${layout}:`),
  );

  const pttl = (store: RedisStore, handle: string) => redis.client.pTTL(store.sessionKey(handle));
  /**
   * A key's Redis type and fields: a string session's header and field, value list, or a packed
   * pointer's JSON list, read as a hash.
   */
  const stored = async (store: RedisStore, handle: string) => {
    const key = store.sessionKey(handle);
    const type = await redis.client.type(key);
    if (type !== 'string') return { type, fields: await redis.client.hGetAll(key) };
    return { type, fields: stringFields((await redis.client.get(key))!) };
  };
  const hash = async (store: RedisStore, handle: string) => (await stored(store, handle)).fields;
  const created = async (store: RedisStore, overrides: Partial<SessionRecord> = {}) => {
    const record = makeRecord({ userId: 'renewal-user', ...overrides });
    assert.equal(await store.create(record), true);
    return (await store.get(record.handle))!;
  };

  for (const kind of [
    'node-redis, string',
    'ioredis, string',
    'node-redis, packed',
    'ioredis, packed',
    'node-redis, fields',
    'ioredis, fields',
  ] as const) {
    it(`${kind}: writes the two times and the version, and moves the TTL to the new idle expiry`, async () => {
      const store = stores.get(kind)!;
      const record = await created(store, { idleExpiresAt: Date.now() + 60_000 });
      const idleExpiresAt = Date.now() + 600_000;
      const next = await store.renew(record, { lastSeenAt: Date.now(), idleExpiresAt });
      assert.equal(next?.idleExpiresAt, idleExpiresAt);
      const fields = await hash(store, record.handle);
      assert.equal(fields.idleExpiresAt, String(idleExpiresAt));
      assert.equal(fields.version, String(record.version + 1));
      // The live marker belongs to hashes written field by field; a packed hash never has one.
      assert.equal(fields.live, kind.endsWith('fields') ? '1' : undefined);
      const ttl = await pttl(store, record.handle);
      assert.ok(ttl > 590_000 && ttl <= 600_000, `TTL ${ttl} ms`);
    });

    it(`${kind}: S29 a renewal that lost the race to a logout leaves no key behind`, async () => {
      const store = stores.get(kind)!;
      const record = await created(store);
      await store.destroy(record.handle);
      assert.equal(
        await store.renew(record, { lastSeenAt: Date.now(), idleExpiresAt: Date.now() + 60_000 }),
        null,
      );
      assert.equal(await redis.client.exists(store.sessionKey(record.handle)), 0);
    });

    it(`${kind}: S21 a renewal that lost the race to a rotation leaves the pointer's TTL at its grace deadline`, async () => {
      const store = stores.get(kind)!;
      const record = await created(store);
      const graceUntil = Date.now() + 20_000;
      const next = makeRecord({ userId: record.userId, createdAt: record.createdAt });
      assert.equal(await store.replace(record.handle, next, { graceUntil }), true);
      const answer = await store.renew(record, {
        lastSeenAt: Date.now(),
        idleExpiresAt: Date.now() + 600_000,
      });
      assert.equal(answer?.successor, next.handle);
      const { type, fields } = await stored(store, record.handle);
      // A packed session's pointer is a string, on which every racing HSET fails, and a string
      // session's a hash, on which every racing SETRANGE fails; one written field by field stays a
      // hash (0.1.0 reads it) that RENEW put right.
      assert.equal(type, kind.endsWith('packed') ? 'string' : 'hash');
      assert.equal(fields.idleExpiresAt, String(graceUntil));
      assert.equal(fields.successor, next.handle);
      assert.equal(fields.live, undefined, 'a pointer has no live marker');
      const ttl = await pttl(store, record.handle);
      assert.ok(ttl > 0 && ttl <= 20_000, `TTL ${ttl} ms`);
    });

    it(`${kind}: S21 every renewal that races a rotation sees the pointer, however many instances send one`, async () => {
      const store = stores.get(kind)!;
      const other = stores.get(
        kind.startsWith('node-redis')
          ? kind.replace('node-redis', 'ioredis')
          : kind.replace('ioredis', 'node-redis'),
      )!;
      const record = await created(store);
      const graceUntil = Date.now() + 20_000;
      const next = makeRecord({ userId: record.userId, createdAt: record.createdAt });
      assert.equal(await store.replace(record.handle, next, { graceUntil }), true);
      const renewal = { lastSeenAt: Date.now(), idleExpiresAt: Date.now() + 600_000 };
      // Two instances (two drivers, two connections), three requests each, all read before the rotation.
      const answers = await Promise.all(
        [store, other, store, other, store, other].map((instance) => instance.renew(record, renewal)),
      );
      for (const answer of answers) assert.equal(answer?.successor, next.handle);
      const { fields } = await stored(store, record.handle);
      assert.equal(fields.idleExpiresAt, String(graceUntil));
      assert.equal(fields.live, undefined);
      const ttl = await pttl(store, record.handle);
      assert.ok(ttl > 0 && ttl <= 20_000, `TTL ${ttl} ms`);
    });

    it(`${kind}: S29 the stub a renewal leaves for a moment after losing to a logout is no session to anything`, async () => {
      const store = stores.get(kind)!;
      const record = await created(store);
      await store.destroy(record.handle);
      // What the renewal's HSET or SETRANGE writes into the emptied key before its REPAIR deletes it.
      const key = store.sessionKey(record.handle);
      if (kind.endsWith('string')) {
        await redis.client.setRange(key, 0, `${'1'.padEnd(24)}${String(Date.now() + 60_000).padEnd(24)}9`);
      } else {
        await redis.client.hSet(key, {
          lastSeenAt: '1',
          idleExpiresAt: String(Date.now() + 60_000),
          version: '9',
          live: '1',
        });
      }
      await redis.client.pExpire(key, 60_000);
      assert.equal(await store.get(record.handle), null);
      assert.equal(await store.update(record.handle, { set: { theme: '"dark"' } }), null);
      const next = makeRecord({ userId: record.userId, createdAt: record.createdAt });
      assert.equal(
        await store.replace(record.handle, next),
        false,
        'a rotation of it would outlive the logout',
      );
      assert.equal(await store.replace(record.handle, next, { graceUntil: Date.now() + 20_000 }), false);
      assert.equal(await store.get(next.handle), null);
      const listed = (await store.listByUser(record.userId!)).map((session) => session.handle);
      assert.ok(!listed.includes(record.handle) && !listed.includes(next.handle));
      assert.equal((await hash(store, record.handle)).theme, undefined, 'nothing was written into it');
      assert.equal(await store.destroy(record.handle), null, 'a logout finds no session in it');
    });

    it(`${kind}: a session without the live marker is renewed (one written by 0.1.0 gains it)`, async () => {
      const store = stores.get(kind)!;
      const record = await created(store);
      const removed = kind.endsWith('string')
        ? 0
        : await redis.client.hDel(store.sessionKey(record.handle), 'live');
      assert.equal(removed, kind.endsWith('fields') ? 1 : 0, 'only a hash written field by field has it');
      const idleExpiresAt = Date.now() + 120_000;
      const next = await store.renew(record, { lastSeenAt: Date.now(), idleExpiresAt });
      assert.equal(next?.idleExpiresAt, idleExpiresAt);
      assert.equal(next?.secretHash, record.secretHash);
      assert.equal((await hash(store, record.handle)).live, kind.endsWith('fields') ? '1' : undefined);
      assert.equal((await store.get(record.handle))?.idleExpiresAt, idleExpiresAt);
    });
  }

  it("renewal: 'script' renews through the UPDATE script, and any other value is refused", async () => {
    const store = new RedisStore({
      client: redis.client,
      prefix: 'script:',
      renewal: 'script',
      layout: 'packed',
    });
    const record = await created(store);
    await redis.client.hDel(store.sessionKey(record.handle), 'live');
    const next = await store.renew(record, { lastSeenAt: Date.now(), idleExpiresAt: Date.now() + 60_000 });
    assert.equal(next?.version, record.version + 1);
    assert.equal((await hash(store, record.handle)).live, undefined, 'the script writes only the patch');
    assert.throws(
      () => new RedisStore({ client: redis.client, renewal: 'fast' as 'write' }),
      /renewal.*'write' or 'script'/,
    );
  });
});
