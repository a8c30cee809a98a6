import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SessionRecord } from '../../packages/coatcheck/src/core/store/record.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { makeRecord } from '../../packages/coatcheck/src/testing/conformance.js';
import { type Connection, connectRedis, hasRedis, redisForSuite } from '../support/redis-server.js';

/**
 * The session hash's two layouts: `'packed'` (the metadata no script uses on its own in one JSON
 * field, `meta`) and `'fields'` (0.1.0's, one field each). Both are read and updated by
 * this release, whichever instance wrote them, and a value survives the Lua merge byte for byte.
 */
describe('Redis store: packed and field-by-field metadata', {
  skip: !hasRedis && 'redis-server is not installed',
}, () => {
  const redis = redisForSuite();
  const connections: Connection<never>[] = [];
  let ioredis: Connection<never>;
  before(async () => {
    ioredis = (await connectRedis('ioredis', redis.server)) as Connection<never>;
    connections.push(ioredis);
  });
  after(async () => {
    for (const connection of connections) await connection.close();
  });

  const prefix = () => `packed-${Math.random().toString(36).slice(2)}:`;
  const stores = (p = prefix()) => ({
    packed: new RedisStore({ client: redis.client, prefix: p, layout: 'packed' }),
    fields: new RedisStore({ client: redis.client, prefix: p, layout: 'fields' }),
    packedIoredis: new RedisStore({ client: ioredis.client, prefix: p, layout: 'packed' }),
  });
  // A hash with a field over 64 bytes is a hash table: HGETALL's order, and so the order of the
  // data's keys, is not the order written. The records are compared with their data parsed.
  const same = (actual: SessionRecord | null, expected: SessionRecord | null) =>
    assert.deepEqual(
      actual && { ...actual, data: JSON.parse(actual.data) },
      expected && { ...expected, data: JSON.parse(expected.data) },
    );
  const hash = (store: RedisStore, handle: string) => redis.client.hGetAll(store.sessionKey(handle));
  const signedIn = () =>
    makeRecord({
      userId: 'ada',
      authAt: 1_700_000_000_000,
      aal: 1,
      csrfSecret: 'csrf-secret-value',
      device: { userAgent: 'Mozilla/5.0 (X11; Linux x86_64)', ip: '203.0.113.9' },
      data: '{"passport":{"user":"ada"}}',
    });

  it('a new signed-in session is 6 metadata fields and its data: the rest is one JSON field', async () => {
    const { packed } = stores();
    const record = signedIn();
    await packed.create(record);
    const fields = await hash(packed, record.handle);
    assert.deepEqual(Object.keys(fields).sort(), [
      'absoluteExpiresAt',
      'd:passport',
      'idleExpiresAt',
      'lastSeenAt',
      'meta',
      'userId',
      'version',
    ]);
    const meta = JSON.parse(fields.meta!) as Record<string, unknown>;
    assert.equal(meta.secretHash, record.secretHash);
    assert.equal(meta.device, JSON.stringify(record.device));
    assert.ok(
      Object.values(meta).every((value) => typeof value === 'string'),
      'every packed value is a string',
    );
    same(await packed.get(record.handle), record);
  });

  it("layout: 'fields' writes one field each, as 0.1.0 did, and the packed layout reads it", async () => {
    const { packed, fields } = stores();
    const record = signedIn();
    await fields.create(record);
    const written = await hash(fields, record.handle);
    assert.equal(written.meta, undefined);
    assert.equal(written.secretHash, record.secretHash);
    assert.equal(written.csrfSecret, 'csrf-secret-value');
    same(await packed.get(record.handle), record);
  });

  it('an update keeps the layout of the hash it writes, whichever instance sends it', async () => {
    const { packed, fields } = stores();
    for (const [writer, reader, layoutOf] of [
      [packed, fields, fields],
      [fields, packed, packed],
    ] as const) {
      const record = signedIn();
      await layoutOf.create({ ...record, deviceChallenge: '{"c":"x"}' });
      const stepUp = {
        aal: 2,
        stepUpAt: 1_700_000_100_000,
        deviceChallenge: null,
        cookieMaxAgeMs: 86_400_000,
      };
      const next = await writer.update(record.handle, { meta: stepUp, set: { theme: '"dark"' } });
      assert.equal(next?.aal, 2);
      assert.equal(next?.stepUpAt, stepUp.stepUpAt);
      assert.equal(next?.deviceChallenge, null);
      assert.equal(next?.cookieMaxAgeMs, 86_400_000);
      assert.equal(next?.secretHash, record.secretHash);
      same(await reader.get(record.handle), next);
      const written = await hash(writer, record.handle);
      if (layoutOf === packed) {
        assert.equal(written.aal, undefined);
        assert.equal(written.deviceChallenge, undefined);
        assert.deepEqual(JSON.parse(written.meta!).aal, '2');
        assert.equal(JSON.parse(written.meta!).deviceChallenge, undefined);
      } else {
        assert.equal(written.meta, undefined);
        assert.equal(written.aal, '2');
        assert.equal(written.deviceChallenge, undefined);
      }
    }
  });

  it('a field 0.1.0 wrote beside the packed value wins, and the next update folds it back in', async () => {
    const { packed } = stores();
    const record = signedIn();
    await packed.create(record);
    const key = packed.sessionKey(record.handle);
    // An instance of 0.1.0 stepping up writes its fields by name into a hash it does not know.
    await redis.client.hSet(key, { aal: '2', stepUpAt: '1700000200000' });
    const read = await packed.get(record.handle);
    assert.equal(read?.aal, 2);
    assert.equal(read?.stepUpAt, 1_700_000_200_000);
    const next = await packed.update(record.handle, { meta: { aal: 3, stepUpAt: 1_700_000_300_000 } });
    assert.equal(next?.aal, 3);
    const written = await hash(packed, record.handle);
    assert.equal(written.aal, undefined);
    assert.equal(written.stepUpAt, undefined);
    assert.equal(JSON.parse(written.meta!).aal, '3');
    same(await packed.get(record.handle), next);
  });

  it('values survive the Lua merge byte for byte: quotes, slashes, escapes, line separators, emoji, NUL', async () => {
    const { packed, packedIoredis } = stores();
    const userAgent = 'Agent "quoted" \\ back/slash\u2028line\u2029para\n\t\u0000 \u00e9 \u{1F600} </script>';
    const record = { ...signedIn(), device: { userAgent, ip: '::1' } };
    await packed.create(record);
    const csrfSecret = 'a/b+c=\\"d"\u2028';
    const next = await packed.update(record.handle, { meta: { csrfSecret, rememberedDeviceId: 'device-é' } });
    assert.equal(next?.device.userAgent, userAgent);
    assert.equal(next?.csrfSecret, csrfSecret);
    assert.equal(next?.rememberedDeviceId, 'device-é');
    same(await packed.get(record.handle), next);
    same(await packedIoredis.get(record.handle), next);
  });

  it('the kill switch finds the creation time in either layout', async () => {
    const { packed, fields } = stores();
    const old = makeRecord({ createdAt: Date.now() - 60_000 });
    const oldFields = makeRecord({ createdAt: Date.now() - 60_000 });
    const fresh = makeRecord({ createdAt: Date.now() + 60_000 });
    await packed.create(old);
    await fields.create(oldFields);
    await packed.create(fresh);
    const removed = await packed.destroyAll({ createdBefore: Date.now() });
    assert.deepEqual(removed.map((session) => session.handle).sort(), [old.handle, oldFields.handle].sort());
    assert.notEqual(await packed.get(fresh.handle), null);
  });

  it('refuses a layout it does not know, naming the option', () => {
    assert.throws(
      () => new RedisStore({ client: redis.client, layout: 'json' as never }),
      (error: Error & { option?: string }) => error.option === 'layout' || /layout/.test(error.message),
    );
  });
});
