import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import expressSession from 'express-session';
import { createSessionEngine } from '../../packages/coatcheck/src/core/engine.js';
import type { SessionEvent } from '../../packages/coatcheck/src/core/events.js';
import { endedSessionsOf } from '../../packages/coatcheck/src/core/lifecycle/session-end.js';
import { ConnectStore } from '../../packages/coatcheck/src/stores/connect.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { makeRecord } from '../../packages/coatcheck/src/testing/conformance.js';
import { SECRET } from '../support/app.js';

describe('engine.revokeAllSessions (the kill switch)', () => {
  it('ends every session and reports one sign-out everywhere per user, anonymous ones together', async () => {
    const store = new MemoryStore();
    const engine = createSessionEngine({ store, secret: SECRET, warn: () => {} });
    const events: SessionEvent[] = [];
    engine.on((event) => events.push(event));
    const records = [
      makeRecord({ userId: 'alice' }),
      makeRecord({ userId: 'alice' }),
      makeRecord({ userId: 'bob' }),
      makeRecord(),
    ];
    for (const record of records) await store.create(record);
    assert.deepEqual(await engine.revokeAllSessions({ by: 'ops' }), {
      sessionsEnded: 4,
      users: 2,
      rememberedDevicesEnded: 0,
    });
    assert.equal(store.size, 0);
    const byUser = new Map(events.map((e) => [e.userId, e]));
    assert.equal(byUser.get('alice')?.count, 2);
    assert.deepEqual(
      new Set(byUser.get('alice')?.handles),
      new Set([records[0]!.handle, records[1]!.handle]),
    );
    assert.equal(byUser.get(null)?.count, 1);
    assert.ok(
      events.every((e) => e.type === 'session.logout_all' && e.by === 'ops' && e.reason === 'end_all'),
    );
    // Live connections close on these events as on any sign-out everywhere.
    assert.deepEqual(endedSessionsOf(byUser.get('bob')!)?.handles, [records[2]!.handle]);
    await store.close();
  });

  it('spares sessions created at or after createdBefore', async () => {
    const store = new MemoryStore();
    const engine = createSessionEngine({ store, secret: SECRET, warn: () => {} });
    const old = makeRecord({ userId: 'alice', createdAt: 1_000 });
    const kept = makeRecord({ userId: 'alice', createdAt: 2_000 });
    for (const record of [old, kept]) await store.create(record);
    assert.deepEqual(await engine.revokeAllSessions({ createdBefore: 2_000 }), {
      sessionsEnded: 1,
      users: 1,
      rememberedDevicesEnded: 0,
    });
    assert.equal(await store.get(old.handle), null);
    assert.ok(await store.get(kept.handle));
    await store.close();
  });

  it('ends remembered devices too, so none starts a new session after the kill switch', async () => {
    const store = new MemoryStore();
    const engine = createSessionEngine({ store, secret: SECRET, warn: () => {}, remember: true });
    const info = (cookieHeader?: string) => ({
      cookieHeader,
      secure: false,
      ip: '127.0.0.1',
      userAgent: 'kill',
    });
    const state = await engine.load(info());
    await engine.login(state, 'alice', { remember: true });
    await engine.commit(state);
    const cookies = engine.cookieHeaders(state).map((header) => header.split(';')[0]!);
    const remembered = cookies.find((cookie) => cookie.startsWith('remember='));
    assert.ok(remembered, 'a remembered-device cookie was set');
    // The credential works on its own while the device lives: the session cookie is gone.
    const revived = await engine.load(info(remembered));
    assert.equal(revived.record?.userId ?? null, 'alice');
    await engine.commit(revived);
    const rotated = engine.cookieHeaders(revived).find((header) => header.startsWith('remember='));
    const latest = rotated ? rotated.split(';')[0]! : remembered;

    // An engine without `remember` (the admin CLI's) still ends the store's devices.
    const operator = createSessionEngine({ store, secret: SECRET, warn: () => {} });
    const result = await operator.revokeAllSessions({ by: 'ops' });
    assert.equal(result.rememberedDevicesEnded, 1);
    assert.equal(result.sessionsEnded, 2);
    const after = await engine.load(info(latest));
    assert.equal(after.record, null, 'the remembered credential no longer signs anyone in');
    await engine.commit(after);
    assert.equal(store.size, 0);
    await store.close();
  });

  it('names the missing capability on a store that cannot enumerate its sessions', async () => {
    const wrapped = new ConnectStore(new expressSession.MemoryStore() as never);
    const engine = createSessionEngine({ store: wrapped, secret: SECRET, warn: () => {} });
    await assert.rejects(engine.revokeAllSessions(), {
      code: 'SESSION_CAPABILITY',
      capability: 'destroyAll',
    });
    const memory = new MemoryStore();
    const bare = createSessionEngine({ store: bind(memory), secret: SECRET, warn: () => {} });
    await assert.rejects(bare.revokeAllSessions(), { code: 'SESSION_CAPABILITY', capability: 'destroyAll' });
    await memory.close();
  });
});

/** A plain object with the store's methods, as a third-party store written before destroyAll. */
function bind(store: MemoryStore) {
  return {
    capabilities: store.capabilities,
    get: store.get.bind(store),
    create: store.create.bind(store),
    update: store.update.bind(store),
    replace: store.replace.bind(store),
    destroy: store.destroy.bind(store),
    listByUser: store.listByUser.bind(store),
    destroyByUser: store.destroyByUser.bind(store),
    pruneExpired: store.pruneExpired.bind(store),
    close: store.close.bind(store),
  };
}
