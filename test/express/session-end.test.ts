import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SessionEvent } from '../../packages/coatcheck/src/core/events.js';
import { endedSessionsOf, type SessionEnd } from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Client } from '../support/http.js';

const handleOf = (client: Client) => client.jar.get('id')?.split('.')[0] ?? '';

/** What endedSessionsOf says about the events emitted while `work` ran, skipping events that ended nothing. */
async function endsDuring(app: TestApp, work: () => Promise<unknown>): Promise<SessionEnd[]> {
  const from = app.events.length;
  await work();
  return app.events
    .slice(from)
    .map(endedSessionsOf)
    .filter((ended): ended is SessionEnd => ended !== null);
}

async function signIn(app: TestApp, userId: string): Promise<Client> {
  const client = new Client(app.url);
  assert.equal((await client.post('/login', { userId })).status, 200);
  return client;
}

describe('endedSessionsOf: which sessions an event ended', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp(new MemoryStore(), { idleTimeoutMs: 60_000 });
  });
  after(async () => {
    await app.close();
    await app.store.close();
  });

  it('a logout ends that session', async () => {
    const a = await signIn(app, 'alice');
    const handle = handleOf(a);
    assert.deepEqual(await endsDuring(app, () => a.post('/logout')), [
      { handles: [handle], userId: 'alice', reason: 'logout' },
    ]);
  });

  it('a revocation from another device ends the revoked session only', async () => {
    const a = await signIn(app, 'alice');
    const b = await signIn(app, 'alice');
    const handle = handleOf(a);
    const ends = await endsDuring(app, () => b.request(`/sessions/${handle}`, { method: 'DELETE' }));
    assert.deepEqual(ends, [{ handles: [handle], userId: 'alice', reason: 'revoked' }]);
  });

  it('sign-out everywhere names every session it ended, and not the one that asked', async () => {
    const a = await signIn(app, 'dora');
    const b = await signIn(app, 'dora');
    const c = await signIn(app, 'dora');
    const ends = await endsDuring(app, () => c.post('/logout-all'));
    assert.equal(ends.length, 1);
    assert.deepEqual([...ends[0]!.handles].sort(), [handleOf(a), handleOf(b)].sort());
    assert.deepEqual({ ...ends[0], handles: [] }, { handles: [], userId: 'dora', reason: 'logout_all' });
  });

  it('a rotation ends the old handle', async () => {
    const a = await signIn(app, 'alice');
    const before = handleOf(a);
    const ends = await endsDuring(app, () => a.post('/login', { userId: 'alice' }));
    assert.deepEqual(ends, [{ handles: [before], userId: 'alice', reason: 'rotated' }]);
    assert.notEqual(handleOf(a), before);
  });

  it('an idle timeout ends the session when its cookie is next presented', async () => {
    const a = await signIn(app, 'erin');
    const handle = handleOf(a);
    app.clock.advance(60_001);
    assert.deepEqual(await endsDuring(app, () => a.get('/peek')), [
      { handles: [handle], userId: 'erin', reason: 'expired' },
    ]);
  });

  it('creation, sign-in, renewal and refused cookies end nothing', () => {
    const quiet: SessionEvent['type'][] = [
      'session.created',
      'session.renewed',
      'session.migrated',
      'auth.login.success',
      'auth.reauthenticated',
      'auth.step_up',
      'session.binding_mismatch',
      'session.write_dropped',
      'session.tamper',
      'session.unknown_id',
      'csrf.reject',
      'store.error',
    ];
    for (const type of quiet) {
      const event: SessionEvent = { type, time: new Date().toISOString(), handle: 'h', userId: 'u' };
      assert.equal(endedSessionsOf(event), null, type);
    }
  });
});

describe('endedSessionsOf with a session limit', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp(new MemoryStore(), { maxSessionsPerUser: 2 });
  });
  after(async () => {
    await app.close();
    await app.store.close();
  });

  it('an eviction by the session limit ends the oldest session', async () => {
    const first = await signIn(app, 'carol');
    app.clock.advance(1_000);
    await signIn(app, 'carol');
    app.clock.advance(1_000);
    const ends = await endsDuring(app, () => signIn(app, 'carol'));
    assert.deepEqual(ends, [{ handles: [handleOf(first)], userId: 'carol', reason: 'evicted' }]);
  });
});
