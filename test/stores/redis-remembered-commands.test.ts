import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { makeRememberedDevice } from '../../packages/coatcheck/src/testing/conformance-remembered.js';
import {
  connectRedis,
  hasRedis,
  type RedisServer,
  recordCommands,
  startRedis,
} from '../support/redis-server.js';

describe('redis remembered devices: commands per operation', {
  skip: !hasRedis && 'redis-server is not installed',
}, () => {
  let server: RedisServer | undefined;
  after(async () => server?.dispose());

  it('writes a whole device with one HSET, at sign-in and at every rotation', async () => {
    server = await startRedis();
    const { client, close } = await connectRedis('node-redis', server);
    after(close);
    const store = new RedisStore({ client, prefix: 'rc:' });
    const device = makeRememberedDevice({ id: 'dev1', userId: 'alice', secretHash: 'hash-1' });
    const now = device.createdAt;
    const devices = store.rememberedDevices;
    // The first EVALSHA of a script answers NOSCRIPT and falls back to EVAL: warm them up.
    await devices.create({ ...device, id: 'warm' });
    await devices.rotate('warm', {
      expectedHash: 'hash-1',
      secretHash: 'hash-w',
      at: now,
      device: device.device,
    });
    await devices.destroy('warm');

    const inside = (commands: string[]) =>
      commands.filter((c) => c.startsWith('script:')).map((c) => c.slice(7));
    const created = await recordCommands([server], () => devices.create(device), { insideScripts: true });
    // The user's device index is new here (the warm-up device left it empty): PEXPIRE GT leaves a
    // key without a TTL alone, and PEXPIRE NX gives it one; a new index has nothing to prune.
    assert.deepEqual(inside(created), ['exists', 'hset', 'pexpire', 'zadd', 'pexpire', 'pexpire']);
    const rotated = await recordCommands(
      [server],
      () =>
        devices.rotate('dev1', {
          expectedHash: 'hash-1',
          secretHash: 'hash-2',
          at: now + 1,
          device: device.device,
        }),
      { insideScripts: true },
    );
    assert.deepEqual(inside(rotated), ['hget', 'hset']);
    const stored = await devices.get('dev1');
    assert.equal(stored?.secretHash, 'hash-2');
    assert.equal(stored?.previousSecretHash, 'hash-1');
    assert.equal(stored?.lastUsedAt, now + 1);
    const missed = await recordCommands(
      [server],
      () =>
        devices.rotate('dev1', {
          expectedHash: 'hash-1',
          secretHash: 'hash-3',
          at: now + 2,
          device: device.device,
        }),
      { insideScripts: true },
    );
    assert.deepEqual(inside(missed), ['hget'], 'a rotation from a stale hash writes nothing');
    const gone = await recordCommands([server], () => devices.destroy('nobody'), { insideScripts: true });
    assert.deepEqual(inside(gone), ['hgetall'], 'taking a device that is gone deletes nothing');
  });
});
