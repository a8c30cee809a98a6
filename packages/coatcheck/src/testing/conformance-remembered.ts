import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import type { RememberedDevice } from '../core/remember/device.js';
import type { SessionStore } from '../core/store/store.js';
import { makeRecord } from './conformance.js';

const random = (bytes: number) => randomBytes(bytes).toString('base64url');

/** A valid remembered device with a random id and hash; fields may be overridden. */
export function makeRememberedDevice(overrides: Partial<RememberedDevice> = {}): RememberedDevice {
  const now = Date.now();
  return {
    id: random(16),
    userId: `user-${random(6)}`,
    secretHash: random(32),
    previousSecretHash: null,
    rotatedAt: now,
    createdAt: now,
    lastUsedAt: now,
    expiresAt: now + 30 * 86_400_000,
    device: { userAgent: 'conformance', ip: '127.0.0.1' },
    ...overrides,
  };
}

/**
 * The remembered-device half of the store conformance suite ("keep me signed in"), run inside
 * `runStoreConformance`. A store without `capabilities.rememberedDevices` must say so by name.
 */
export function runRememberedDeviceConformance(storeOf: () => SessionStore): void {
  const devicesOf = () => {
    const devices = storeOf().rememberedDevices;
    assert.ok(devices, 'a store with capabilities.rememberedDevices has rememberedDevices');
    return devices;
  };
  const supported = () => storeOf().capabilities.rememberedDevices === true;

  it('says whether it keeps remembered devices, and keeps them if it says so', async (t) => {
    if (!supported()) {
      assert.equal(storeOf().capabilities.rememberedDevices, false, 'an explicit false, not a silent gap');
      return t.skip('the store says it cannot keep remembered devices');
    }
    const devices = devicesOf();
    const device = makeRememberedDevice({ previousSecretHash: random(32) });
    assert.equal(await devices.create(device), true);
    assert.deepEqual(await devices.get(device.id), device);
    assert.equal(
      await devices.create({ ...device, userId: 'someone-else' }),
      false,
      'an id is never taken over',
    );
    assert.equal((await devices.get(device.id))?.userId, device.userId);
    assert.equal(await devices.get(random(16)), null);
  });

  it('S18 rotates a remembered credential only from its current hash (compare-and-swap)', async (t) => {
    if (!supported()) return t.skip('no remembered devices');
    const devices = devicesOf();
    const device = makeRememberedDevice();
    await devices.create(device);
    const next = random(32);
    const at = device.rotatedAt + 5_000;
    const facts = { userAgent: 'moved', ip: '10.0.0.1' };
    assert.equal(
      await devices.rotate(device.id, { expectedHash: random(32), secretHash: next, at, device: facts }),
      false,
    );
    assert.deepEqual(await devices.get(device.id), device, 'a stale hash writes nothing');
    assert.equal(
      await devices.rotate(device.id, {
        expectedHash: device.secretHash,
        secretHash: next,
        at,
        device: facts,
      }),
      true,
    );
    assert.deepEqual(await devices.get(device.id), {
      ...device,
      secretHash: next,
      previousSecretHash: device.secretHash,
      rotatedAt: at,
      lastUsedAt: at,
      device: facts,
    });
    const again = { expectedHash: device.secretHash, secretHash: random(32), at, device: facts };
    assert.equal(await devices.rotate(device.id, again), false, 'the replaced hash no longer rotates');
    assert.equal(await devices.rotate(random(16), again), false, 'nor does an unknown device');
  });

  it('S18 of parallel rotations of one credential exactly one wins (50 runs)', async (t) => {
    if (!supported()) return t.skip('no remembered devices');
    const devices = devicesOf();
    for (let run = 0; run < 50; run++) {
      const device = makeRememberedDevice();
      await devices.create(device);
      const hashes = Array.from({ length: 4 }, () => random(32));
      const results = await Promise.all(
        hashes.map((secretHash) =>
          devices.rotate(device.id, {
            expectedHash: device.secretHash,
            secretHash,
            at: Date.now(),
            device: {},
          }),
        ),
      );
      assert.equal(results.filter(Boolean).length, 1);
      const stored = await devices.get(device.id);
      assert.equal(stored?.secretHash, hashes[results.indexOf(true)]);
      assert.equal(stored?.previousSecretHash, device.secretHash);
    }
  });

  it('lists a user’s remembered devices by the per-user index, and destroys one', async (t) => {
    if (!supported()) return t.skip('no remembered devices');
    const devices = devicesOf();
    const userId = `user-${random(6)}`;
    const mine = Array.from({ length: 30 }, () => makeRememberedDevice({ userId }));
    await Promise.all([...mine, makeRememberedDevice()].map((device) => devices.create(device)));
    const ids = (list: RememberedDevice[]) => list.map((device) => device.id).sort();
    assert.deepEqual(ids(await devices.listByUser(userId)), ids(mine));
    const [gone, ...rest] = mine;
    assert.deepEqual(await devices.destroy(gone!.id), gone);
    assert.equal(await devices.destroy(gone!.id), null);
    assert.equal(await devices.get(gone!.id), null);
    assert.deepEqual(ids(await devices.listByUser(userId)), ids(rest));
  });

  it('keeps the remembered device a session belongs to through create, update and rotation', async (t) => {
    if (!supported()) return t.skip('no remembered devices');
    const store = storeOf();
    const userId = `user-${random(6)}`;
    const linked = makeRecord({ userId, rememberedDeviceId: random(16) });
    await store.create(linked);
    assert.equal((await store.get(linked.handle))?.rememberedDeviceId, linked.rememberedDeviceId);
    const plain = makeRecord({ userId });
    await store.create(plain);
    assert.equal((await store.get(plain.handle))?.rememberedDeviceId, undefined);
    const id = random(16);
    assert.equal(
      (await store.update(plain.handle, { meta: { rememberedDeviceId: id } }))?.rememberedDeviceId,
      id,
    );
    assert.equal((await store.get(plain.handle))?.rememberedDeviceId, id);
    const next = makeRecord({ userId, rememberedDeviceId: id });
    assert.equal(await store.replace(plain.handle, next), true);
    const listed = (await store.listByUser(userId)).find((record) => record.handle === next.handle);
    assert.equal(listed?.rememberedDeviceId, id);
  });

  it('ends every remembered device, or those created before a time (the kill switch)', async (t) => {
    if (!supported()) return t.skip('no remembered devices');
    const devices = devicesOf();
    const userId = `user-${random(6)}`;
    const old = makeRememberedDevice({ userId, createdAt: 1_000 });
    const recent = makeRememberedDevice({ userId, createdAt: 2_000 });
    const current = makeRememberedDevice({ userId });
    for (const device of [old, recent, current]) assert.equal(await devices.create(device), true);
    assert.equal(await devices.destroyAll({ createdBefore: 2_000 }), 1, 'only the one created before');
    assert.equal(await devices.get(old.id), null);
    assert.deepEqual(await devices.get(recent.id), recent);
    assert.ok((await devices.destroyAll({})) >= 2, 'every device left');
    assert.deepEqual(await devices.listByUser(userId), []);
    assert.equal(await devices.get(current.id), null);
  });
}
