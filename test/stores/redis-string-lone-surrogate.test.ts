// A data key holding a lone surrogate, in the string layout: the key is written as U+FFFD, as it
// is in a hash field's name, so the Lua scripts can decode the session (cjson refuses the escape of
// a lone surrogate) and update, logout, revoke-all and the kill switch answer on it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { makeRecord } from '../../packages/coatcheck/src/testing/conformance.js';
import { type Connection, connectRedis, hasRedis, redisForSuite } from '../support/redis-server.js';

const settle = (p: Promise<unknown>) =>
  p.then(
    (value) => ({ ok: true, value }),
    (error: Error) => ({ ok: false, value: error.message.slice(0, 60) }),
  );

describe('Redis string layout: a data key with a lone surrogate', { skip: !hasRedis && 'no redis' }, () => {
  const redis = redisForSuite();
  const conns: Connection<unknown>[] = [];
  before(async () => {
    conns.push(await connectRedis('node-redis', redis.server), await connectRedis('ioredis', redis.server));
  });
  after(async () => {
    for (const c of conns) await c.close();
  });

  for (const i of [0, 1]) {
    it(`${i ? 'ioredis' : 'node-redis'}: update, destroy, destroyByUser and destroyAll answer`, async () => {
      const store = new RedisStore({ client: (conns[i] as Connection<never>).client, prefix: `lsd${i}:` });
      const bystander = makeRecord({ userId: 'bystander' });
      const record = makeRecord({ userId: 'mallory', data: JSON.stringify({ '\ud800': 1 }) });
      assert.equal(await store.create(bystander), true);
      assert.equal(await store.create(record), true);
      assert.ok(await store.get(record.handle), 'readable in JavaScript');

      const update = await settle(store.update(record.handle, { set: { a: '1' } }));
      const destroyByUser = await settle(store.destroyByUser('mallory'));
      const destroyAll = await settle(store.destroyAll());
      const destroy = await settle(store.destroy(record.handle));
      assert.deepEqual(
        {
          update: update.ok,
          destroyByUser: destroyByUser.ok,
          destroyAll: destroyAll.ok,
          destroy: destroy.ok,
        },
        { update: true, destroyByUser: true, destroyAll: true, destroy: true },
        JSON.stringify({ update, destroyByUser, destroyAll, destroy }),
      );
      assert.equal(await store.get(bystander.handle), null, 'the kill switch removed every session');
    });
  }

  it('packed layout, same record (control)', async () => {
    const store = new RedisStore({ client: redis.client, prefix: 'lsd-packed:', layout: 'packed' });
    const record = makeRecord({ userId: 'mallory', data: JSON.stringify({ '\ud800': 1 }) });
    assert.equal(await store.create(record), true);
    assert.ok(await store.update(record.handle, { set: { a: '1' } }));
    assert.equal((await store.destroyAll()).length, 1);
  });
});
