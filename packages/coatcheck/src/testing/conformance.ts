// Over ~250 lines on purpose: the store contract's scenarios, one describe that a third-party store
// runs as a whole (exported from coatcheck/testing).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { SessionRecord } from '../core/store/record.js';
import { type Renewal, renewIn, type SessionStore } from '../core/store/store.js';
import { runRememberedDeviceConformance } from './conformance-remembered.js';

/** Options of {@link runStoreConformance}, the suite every store passes. */
export interface ConformanceOptions {
  /** Shown in the test names. */
  name: string;
  /** Makes a fresh, empty store. Called once for the suite. */
  createStore: () => Promise<SessionStore> | SessionStore;
  /** Tears the store down after the suite (close is called first). */
  cleanup?: () => Promise<void> | void;
  /** Skip the checks the store says it cannot promise (wrapped connect stores). */
  honourCapabilities?: boolean;
  /** The backend removes expired records by itself (Redis TTL, connect stores): pruneExpired may return 0. */
  expiresByItself?: boolean;
}

/** A valid record with random handle and secret hash; fields may be overridden. */
export function makeRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = Date.now();
  return {
    handle: randomBytes(16).toString('base64url'),
    secretHash: randomBytes(32).toString('base64url'),
    userId: null,
    createdAt: now,
    authAt: null,
    lastSeenAt: now,
    idleExpiresAt: now + 30 * 60_000,
    absoluteExpiresAt: now + 12 * 3_600_000,
    version: 1,
    device: { userAgent: 'conformance', ip: '127.0.0.1' },
    cookieMaxAgeMs: null,
    csrfSecret: randomBytes(32).toString('base64url'),
    aal: 0,
    stepUpAt: null,
    rotatedAt: now,
    successor: null,
    deviceKey: null,
    deviceChallenge: null,
    data: '{}',
    ...overrides,
  };
}

const user = () => `user-${randomBytes(6).toString('hex')}`;

/** Data is compared as JSON values: stores may re-serialise it (Postgres jsonb does). */
const normal = (record: SessionRecord | null) =>
  record && { ...record, data: JSON.parse(record.data) as unknown };

/**
 * The store conformance suite: every store must pass it. Run it from a node:test file:
 *
 * @example
 * import { runStoreConformance } from 'coatcheck/testing';
 * runStoreConformance({ name: 'my store', createStore: () => new MyStore() });
 */
export function runStoreConformance(options: ConformanceOptions): void {
  describe(`store conformance: ${options.name}`, () => {
    let store: SessionStore;
    before(async () => {
      store = await options.createStore();
    });
    after(async () => {
      await store?.close();
      await options.cleanup?.();
    });
    const needs = (capability: 'userIndex' | 'atomicUpdate') =>
      options.honourCapabilities && !store.capabilities[capability];

    it('returns what was created, and null for an unknown handle', async () => {
      const record = makeRecord({ userId: user(), data: '{"a":1,"nested":{"b":[1,2]}}', authAt: 5 });
      assert.equal(await store.create(record), true);
      assert.deepEqual(normal(await store.get(record.handle)), normal(record));
      assert.equal(await store.get(makeRecord().handle), null);
    });

    it('refuses to create over an existing handle', async () => {
      const record = makeRecord({ data: '{"first":true}' });
      assert.equal(await store.create(record), true);
      assert.equal(await store.create({ ...record, data: '{"second":true}' }), false);
      assert.deepEqual(JSON.parse((await store.get(record.handle))!.data), { first: true });
    });

    it('keeps a DBSC device key through writes that do not name it', async () => {
      const record = makeRecord({ userId: user(), deviceChallenge: '{"current":"c1"}' });
      await store.create(record);
      const key = '{"id":"k","jwk":{"kty":"EC","crv":"P-256","x":"a","y":"b"}}';
      await store.update(record.handle, { meta: { deviceKey: key, deviceChallenge: '{"current":"c2"}' } });
      // A page load that renews the session right after the registration must not drop the key.
      const renewed = await store.update(record.handle, { set: { a: '1' }, meta: { lastSeenAt: 9 } });
      assert.equal(renewed?.deviceKey, key);
      assert.equal(renewed?.deviceChallenge, '{"current":"c2"}');
      const cleared = await store.update(record.handle, { meta: { deviceChallenge: null } });
      assert.equal(cleared?.deviceChallenge, null);
      assert.equal((await store.get(record.handle))?.deviceKey, key);
    });

    it('updates keys and metadata and bumps the version', async () => {
      const record = makeRecord({ data: '{"keep":1,"drop":2,"change":3}' });
      await store.create(record);
      const next = await store.update(record.handle, {
        set: { change: '"x"', added: '{"deep":true}' },
        unset: ['drop'],
        meta: { lastSeenAt: record.lastSeenAt + 1000, idleExpiresAt: record.idleExpiresAt + 1000 },
      });
      assert.ok(next, 'update returns the new record');
      assert.equal(next.version, record.version + 1);
      assert.deepEqual(JSON.parse(next.data), { keep: 1, change: 'x', added: { deep: true } });
      const read = await store.get(record.handle);
      assert.deepEqual(normal(read), normal(next));
      assert.equal(read?.lastSeenAt, record.lastSeenAt + 1000);
    });

    it('S29 never recreates a session by updating it after it was destroyed', async () => {
      const record = makeRecord();
      await store.create(record);
      assert.deepEqual(await store.destroy(record.handle), { successor: null });
      assert.equal(await store.update(record.handle, { set: { late: 'true' } }), null);
      assert.equal(await store.get(record.handle), null);
      assert.equal(await store.destroy(record.handle), null);
    });

    it('renews: a renewal changes only the idle expiry and the last use', async () => {
      const record = makeRecord({ userId: user(), data: '{"cart":[1]}' });
      await store.create(record);
      const meta = { lastSeenAt: record.lastSeenAt + 1000, idleExpiresAt: record.idleExpiresAt + 1000 };
      const next = await store.update(record.handle, { meta });
      assert.ok(next, 'a renewal of a live session returns it');
      assert.equal(next.lastSeenAt, meta.lastSeenAt);
      assert.equal(next.idleExpiresAt, meta.idleExpiresAt);
      assert.equal(next.successor, null);
      const read = await store.get(record.handle);
      assert.equal(read?.lastSeenAt, meta.lastSeenAt);
      assert.equal(read?.idleExpiresAt, meta.idleExpiresAt);
      assert.equal(read?.absoluteExpiresAt, record.absoluteExpiresAt);
      assert.equal(read?.secretHash, record.secretHash);
      assert.deepEqual(JSON.parse(read!.data), { cart: [1] });
    });

    it('S29 a renewal after a logout brings nothing back', async () => {
      const record = makeRecord({ userId: user() });
      await store.create(record);
      await store.destroy(record.handle);
      const meta = { lastSeenAt: Date.now(), idleExpiresAt: Date.now() + 60_000 };
      assert.equal(await store.update(record.handle, { meta }), null);
      assert.equal(await store.get(record.handle), null);
      assert.equal(await store.destroy(record.handle), null);
    });

    // `renew` is optional: a store without it is renewed by `update`, with the same guarantees.
    const renew = (record: SessionRecord, renewal: Renewal) => renewIn(store, record, renewal);
    const renewalOf = (record: SessionRecord) => ({
      lastSeenAt: record.lastSeenAt + 1000,
      idleExpiresAt: record.idleExpiresAt + 1000,
    });

    it('renews the record it was given: only the idle expiry, the last use and the version move', async () => {
      const record = makeRecord({ userId: user(), data: '{"cart":[1]}' });
      await store.create(record);
      const read = (await store.get(record.handle))!;
      const renewal = renewalOf(read);
      const next = await renew(read, renewal);
      assert.ok(next, 'a renewal of a live session returns it');
      assert.deepEqual(normal(next), normal({ ...read, ...renewal, version: read.version + 1 }));
      assert.deepEqual(normal(await store.get(record.handle)), normal(next));
    });

    it('S29 a renewal of a record read before its logout or rotation brings nothing back', async () => {
      for (const end of ['logout', 'rotation'] as const) {
        const record = makeRecord({ userId: user() });
        await store.create(record);
        const read = (await store.get(record.handle))!;
        if (end === 'logout') await store.destroy(record.handle);
        else assert.equal(await store.replace(record.handle, makeRecord({ userId: record.userId })), true);
        assert.equal(await renew(read, renewalOf(read)), null, end);
        assert.equal(await store.get(record.handle), null, end);
        assert.equal(await store.destroy(record.handle), null, end);
      }
    });

    it('S21 a renewal of a record read before a rotation with grace answers the pointer and keeps its deadline', async () => {
      const userId = user();
      const old = makeRecord({ userId });
      await store.create(old);
      const read = (await store.get(old.handle))!;
      const graceUntil = Date.now() + 30_000;
      const next = makeRecord({ userId, createdAt: old.createdAt });
      assert.equal(await store.replace(old.handle, next, { graceUntil }), true);
      const answer = await renew(read, { lastSeenAt: Date.now(), idleExpiresAt: Date.now() + 600_000 });
      assert.equal(answer?.successor, next.handle);
      const pointer = await store.get(old.handle);
      assert.equal(pointer?.successor, next.handle);
      assert.ok(pointer!.idleExpiresAt <= graceUntil, 'the grace period is not stretched');
      assert.equal(pointer?.absoluteExpiresAt, graceUntil);
      assert.deepEqual(normal(await store.get(next.handle)), normal(next));
    });

    it('S29 a logout racing renewals leaves no session (200 runs)', async (t) => {
      if (needs('atomicUpdate')) return t.skip('store does not promise atomic updates');
      for (let run = 0; run < 200; run++) {
        const record = makeRecord({ userId: user() });
        await store.create(record);
        const read = (await store.get(record.handle))!;
        await Promise.all([
          renew(read, renewalOf(read)),
          store.destroy(record.handle),
          renew(read, renewalOf(read)),
        ]);
        assert.equal(await store.get(record.handle), null, `run ${run}`);
      }
    });

    it('keeps every key when many requests write different keys at once', async (t) => {
      if (needs('atomicUpdate')) return t.skip('store does not promise atomic updates');
      const record = makeRecord();
      await store.create(record);
      await Promise.all(
        Array.from({ length: 50 }, (_, i) => store.update(record.handle, { set: { [`k${i}`]: String(i) } })),
      );
      const data = JSON.parse((await store.get(record.handle))!.data) as Record<string, number>;
      for (let i = 0; i < 50; i++) assert.equal(data[`k${i}`], i);
      return undefined;
    });

    it('S29 a logout racing slow writers leaves no session (200 runs)', async (t) => {
      if (needs('atomicUpdate')) return t.skip('store does not promise atomic updates');
      for (let run = 0; run < 200; run++) {
        const record = makeRecord({ userId: user() });
        await store.create(record);
        const renewal = { lastSeenAt: Date.now(), idleExpiresAt: Date.now() + 60_000 };
        await Promise.all([
          store.update(record.handle, { set: { a: '1' } }),
          store.destroy(record.handle),
          store.update(record.handle, { meta: { lastSeenAt: Date.now() } }),
          store.update(record.handle, { meta: renewal }),
        ]);
        assert.equal(await store.get(record.handle), null, `run ${run}`);
      }
      return undefined;
    });

    it('replaces a session atomically on rotation', async () => {
      const userId = user();
      const old = makeRecord({ userId, data: '{"cart":[1]}' });
      await store.create(old);
      const next = makeRecord({ userId, data: old.data });
      assert.equal(await store.replace(old.handle, next), true);
      assert.equal(await store.get(old.handle), null);
      assert.deepEqual(normal(await store.get(next.handle)), normal(next));
      if (!needs('userIndex')) {
        const listed = (await store.listByUser(userId)).map((r) => r.handle);
        assert.deepEqual(listed, [next.handle]);
      }
    });

    it('S40 keeps the step-up level and time, and changes them by update', async () => {
      const record = makeRecord({ userId: user(), authAt: 5, aal: 1 });
      await store.create(record);
      assert.deepEqual(normal(await store.get(record.handle)), normal(record));
      const stepUpAt = record.createdAt + 500;
      const next = await store.update(record.handle, { meta: { aal: 2, stepUpAt } });
      assert.equal(next?.aal, 2);
      assert.equal(next?.stepUpAt, stepUpAt);
      const read = await store.get(record.handle);
      assert.equal(read?.aal, 2);
      assert.equal(read?.stepUpAt, stepUpAt);
      assert.equal((await store.update(record.handle, { meta: { stepUpAt: null } }))?.stepUpAt, null);
    });

    it('S21 rotation with a grace period keeps the old record as a short-lived pointer to the new one', async () => {
      const userId = user();
      const old = makeRecord({ userId, aal: 1, data: '{"cart":[1]}' });
      await store.create(old);
      const graceUntil = Date.now() + 30_000;
      const next = makeRecord({ userId, aal: 1, data: old.data, createdAt: old.createdAt });
      assert.equal(await store.replace(old.handle, next, { graceUntil }), true);
      const kept = await store.get(old.handle);
      assert.equal(kept?.successor, next.handle);
      assert.equal(kept?.idleExpiresAt, graceUntil);
      assert.equal(kept?.absoluteExpiresAt, graceUntil);
      assert.equal(kept?.secretHash, old.secretHash);
      assert.deepEqual(normal(await store.get(next.handle)), normal(next));
      // A late write to the old record is not applied there and does not stretch its grace period:
      // the store hands back the pointer, and the caller writes to the successor.
      const late = await store.update(old.handle, {
        set: { late: 'true' },
        meta: { lastSeenAt: graceUntil, idleExpiresAt: graceUntil + 600_000 },
      });
      assert.equal(late?.successor, next.handle);
      const unchanged = await store.get(old.handle);
      assert.equal(unchanged?.idleExpiresAt, graceUntil);
      assert.deepEqual(JSON.parse(unchanged!.data), { cart: [1] });
      // A second rotation of the same record loses, and writes nothing.
      const rival = makeRecord({ userId });
      assert.equal(await store.replace(old.handle, rival, { graceUntil }), false);
      assert.equal(await store.replace(old.handle, rival), false);
      assert.equal(await store.get(rival.handle), null);
      assert.equal((await store.get(old.handle))?.successor, next.handle);
      // Destroying the old record says where it led, so a logout can end the successor too.
      assert.deepEqual(await store.destroy(old.handle), { successor: next.handle });
    });

    it('S21 of parallel rotations of one record exactly one wins', async (t) => {
      if (needs('atomicUpdate')) return t.skip('store does not promise atomic updates');
      for (let run = 0; run < 20; run++) {
        const old = makeRecord({ userId: user() });
        await store.create(old);
        const rivals = Array.from({ length: 5 }, () => makeRecord({ userId: old.userId }));
        const graceUntil = Date.now() + 30_000;
        const won = await Promise.all(rivals.map((next) => store.replace(old.handle, next, { graceUntil })));
        assert.equal(won.filter(Boolean).length, 1, `run ${run}`);
        const winner = rivals[won.indexOf(true)]!;
        assert.equal((await store.get(old.handle))?.successor, winner.handle);
        for (const [i, rival] of rivals.entries()) {
          assert.equal((await store.get(rival.handle)) !== null, won[i], `run ${run} rival ${i}`);
        }
      }
      return undefined;
    });

    it('refuses to rotate a session that is already gone', async () => {
      const old = makeRecord();
      await store.create(old);
      await store.destroy(old.handle);
      const next = makeRecord();
      assert.equal(await store.replace(old.handle, next), false);
      assert.equal(await store.get(next.handle), null);
    });

    it('lists and revokes a user by the per-user index', async (t) => {
      if (needs('userIndex')) return t.skip('store has no per-user index');
      const alice = user();
      const bob = user();
      const mine = await Promise.all([1, 2, 3].map(() => makeRecord({ userId: alice })));
      const theirs = makeRecord({ userId: bob });
      for (const record of [...mine, theirs]) await store.create(record);
      assert.deepEqual(
        (await store.listByUser(alice)).map((r) => r.handle).sort(),
        mine.map((r) => r.handle).sort(),
      );
      const removed = await store.destroyByUser(alice, { exceptHandle: mine[0]!.handle });
      assert.deepEqual(removed.sort(), [mine[1]!.handle, mine[2]!.handle].sort());
      assert.deepEqual(
        (await store.listByUser(alice)).map((r) => r.handle),
        [mine[0]!.handle],
      );
      assert.ok(await store.get(theirs.handle), 'another user keeps their session');
      assert.deepEqual(await store.destroyByUser(alice), [mine[0]!.handle]);
      assert.deepEqual(await store.listByUser(alice), []);
      return undefined;
    });

    it('moves a session between users in the index when its user id changes', async (t) => {
      if (needs('userIndex')) return t.skip('store has no per-user index');
      const alice = user();
      const record = makeRecord({ userId: alice });
      await store.create(record);
      const bob = user();
      await store.update(record.handle, { meta: { userId: bob } });
      assert.deepEqual(await store.listByUser(alice), []);
      assert.deepEqual(
        (await store.listByUser(bob)).map((r) => r.handle),
        [record.handle],
      );
      return undefined;
    });

    it('lists exactly 100 sessions after 100 parallel logins of one user', async (t) => {
      if (needs('userIndex')) return t.skip('store has no per-user index');
      const alice = user();
      await Promise.all(Array.from({ length: 100 }, () => store.create(makeRecord({ userId: alice }))));
      assert.equal((await store.listByUser(alice)).length, 100);
      return undefined;
    });

    it('revoke-all racing logins leaves no session created before the revoke', async (t) => {
      if (needs('userIndex')) return t.skip('store has no per-user index');
      const alice = user();
      const before = Array.from({ length: 20 }, () => makeRecord({ userId: alice }));
      for (const record of before) await store.create(record);
      const during = Array.from({ length: 20 }, () => makeRecord({ userId: alice }));
      await Promise.all([...during.map((record) => store.create(record)), store.destroyByUser(alice)]);
      for (const record of before) assert.equal(await store.get(record.handle), null);
      return undefined;
    });

    it('S26 prunes expired sessions and keeps live ones', async () => {
      const now = Date.now();
      const expired = makeRecord({ idleExpiresAt: now - 1000 });
      const absoluteGone = makeRecord({ absoluteExpiresAt: now - 1000, idleExpiresAt: now + 1000 });
      const live = makeRecord();
      for (const record of [expired, absoluteGone, live]) await store.create(record);
      const pruned = await store.pruneExpired(now);
      if (!options.expiresByItself) assert.ok(pruned >= 2, `pruned ${pruned}`);
      assert.equal(await store.get(expired.handle), null);
      assert.equal(await store.get(absoluteGone.handle), null);
      assert.ok(await store.get(live.handle), 'a live session survives pruning');
    });

    runRememberedDeviceConformance(() => store);

    it('keeps hostile data keys as plain text', async () => {
      const data = '{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"isAdmin":true}}}';
      const record = makeRecord({ data });
      await store.create(record);
      assert.deepEqual(JSON.parse((await store.get(record.handle))!.data), JSON.parse(data));
      assert.equal(({} as Record<string, unknown>).isAdmin, undefined);
    });

    // Last: it empties the store.
    it('ends every session created before a time, then every session (the kill switch)', async () => {
      if (options.honourCapabilities && !store.capabilities.userIndex) {
        await assert.rejects(
          Promise.resolve().then(() => store.destroyAll?.()),
          {
            code: 'SESSION_CAPABILITY',
          },
        );
        return;
      }
      assert.equal(typeof store.destroyAll, 'function', 'every store in this package has destroyAll');
      const destroyAll = store.destroyAll!.bind(store);
      const alice = user();
      const cutoff = Date.now() - 60_000;
      const oldSignedIn = makeRecord({ userId: alice, createdAt: cutoff - 5_000 });
      const oldAnonymous = makeRecord({ createdAt: cutoff - 1 });
      const recent = makeRecord({ userId: alice, createdAt: cutoff });
      for (const record of [oldSignedIn, oldAnonymous, recent])
        assert.equal(await store.create(record), true);
      const byHandle = <T extends { handle: string }>(list: T[]) =>
        [...list].sort((a, b) => a.handle.localeCompare(b.handle));
      assert.deepEqual(
        byHandle(await destroyAll({ createdBefore: cutoff })),
        byHandle([
          { handle: oldSignedIn.handle, userId: alice },
          { handle: oldAnonymous.handle, userId: null },
        ]),
      );
      assert.equal(await store.get(oldSignedIn.handle), null);
      assert.equal(await store.get(oldAnonymous.handle), null);
      assert.deepEqual(
        (await store.listByUser(alice)).map((record) => record.handle),
        [recent.handle],
      );
      const everything = await destroyAll();
      assert.ok(everything.some((session) => session.handle === recent.handle && session.userId === alice));
      assert.equal(await store.get(recent.handle), null);
      assert.deepEqual(await store.listByUser(alice), []);
      assert.deepEqual(await destroyAll(), [], 'nothing is left');
    });
  });
}
