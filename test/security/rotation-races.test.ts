import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SqliteStore } from '../../packages/coatcheck/src/stores/sqlite.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Client } from '../support/http.js';

const SECOND = 1000;
const handleOf = (client: Client) => (client.jar.get('id') ?? '').split('.')[0]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const ROTATION = {
  idleTimeoutMs: 600 * SECOND,
  absoluteTimeoutMs: 3_600 * SECOND,
  rotationIntervalMs: 120 * SECOND,
  rotationGraceMs: 30 * SECOND,
};

const stores: [string, () => SessionStore][] = [
  ['memory', () => new MemoryStore()],
  ['sqlite', () => new SqliteStore({ path: ':memory:' })],
];

for (const [name, make] of stores) {
  describe(`scheduled rotation racing other requests on ${name}`, () => {
    it('S21 S30 revoking a device by the handle the list showed signs it out, even if its token rotated on schedule meanwhile', async () => {
      const app = await startTestApp(make(), ROTATION);
      const owner = new Client(app.url);
      const thief = new Client(app.url);
      await owner.post('/login', { userId: 'victim' });
      await thief.post('/login', { userId: 'victim' });
      // The owner looks at the device list and sees the other session.
      const list = (await owner.get('/sessions')).json() as { handle: string; current: boolean }[];
      const other = list.find((s) => !s.current)!.handle;
      assert.equal(other, handleOf(thief));
      // The other session is in use; its token is replaced on schedule.
      app.clock.advance(121 * SECOND);
      assert.equal((await thief.get('/me')).status, 200);
      assert.notEqual(handleOf(thief), other, 'rotated');
      // The owner clicks "sign out" on the row they saw.
      const revoked = await owner.request(`/sessions/${other}`, { method: 'DELETE' });
      const thiefAfter = await thief.get('/me');
      await app.close();
      await app.store.close();
      assert.equal(revoked.status, 204, 'the app is told the device was signed out');
      assert.equal(thiefAfter.status, 401, 'the session the owner revoked is still signed in');
    });

    /**
     * Sends `slow` (a request that takes 300 ms) on one tab, then, while it runs, moves the clock past
     * the rotation interval and lets a second tab holding the same cookie rotate the token.
     */
    async function raceRotation(app: TestApp, tab: Client, slow: () => ReturnType<Client['post']>) {
      const other = new Client(app.url);
      other.jar.set('id', tab.jar.get('id')!);
      app.clock.advance(119 * SECOND);
      const pending = slow();
      await sleep(100);
      app.clock.advance(2 * SECOND);
      const rotation = await other.get('/me');
      return { other, rotation, slow: await pending };
    }

    it('S21 S27 a logout whose request started just before a scheduled rotation still ends the session', async () => {
      const app = await startTestApp(make(), ROTATION);
      const tab = new Client(app.url);
      await tab.post('/login', { userId: 'victim' });
      const { other, rotation } = await raceRotation(app, tab, () => tab.post('/logout?ms=300'));
      const after = await other.get('/me');
      await app.close();
      await app.store.close();
      assert.equal(rotation.status, 200);
      assert.notEqual(other.jar.get('id'), tab.jar.get('id') ?? '(cleared)');
      assert.equal(after.status, 401, 'the session survived the logout under its new token');
    });

    it('S21 S20 a step-up whose request started just before a scheduled rotation replaces the session it became', async () => {
      const app = await startTestApp(make(), ROTATION);
      const tab = new Client(app.url);
      await tab.post('/login', { userId: 'stepper' });
      const { other, rotation, slow } = await raceRotation(app, tab, () =>
        tab.post('/step-up?ms=300', { level: 2 }),
      );
      const stepped = ((await tab.get('/peek')).json() as { meta: { aal: number } }).meta;
      const leftover = await other.get('/me');
      await app.close();
      await app.store.close();
      assert.equal(rotation.status, 200, 'the other tab rotates the token');
      assert.equal(slow.status, 200, 'the step-up still succeeds');
      assert.equal(stepped.aal, 2);
      assert.notEqual(other.jar.get('id'), tab.jar.get('id'));
      assert.equal(leftover.status, 401, 'the token the rotation minted died with the step-up');
    });

    it('S21 a write that started before a scheduled rotation does not stretch the old token past its grace period', async () => {
      const app = await startTestApp(make(), { ...ROTATION, renewalIntervalMs: 60 * SECOND });
      const tab = new Client(app.url);
      await tab.post('/login', { userId: 'victim' });
      const oldCookie = tab.jar.get('id')!;
      const { rotation } = await raceRotation(app, tab, () => tab.post('/slow?ms=300', { note: 'x' }));
      const pointer = await app.store.get(oldCookie.split('.')[0]!);
      const successor = await app.store.get(pointer!.successor!);
      // Well after the 30 s grace period the old token should be dead.
      app.clock.advance(60 * SECOND);
      const stale = new Client(app.url);
      stale.jar.set('id', oldCookie);
      const late = await stale.get('/me');
      await app.close();
      await app.store.close();
      assert.equal(rotation.status, 200, 'rotates');
      assert.equal(JSON.parse(successor!.data).note, 'x', 'the write landed in the session it became');
      const graceLeft = (pointer!.idleExpiresAt - (app.clock.at - 60 * SECOND)) / SECOND;
      assert.deepEqual(
        { graceLeftS: graceLeft <= 30 ? 'at most 30' : graceLeft, oldTokenAt60s: late.status },
        { graceLeftS: 'at most 30', oldTokenAt60s: 401 },
      );
    });
  });
}

describe('binding step-up policy', () => {
  const CHROME =
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
  const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';

  it('S42 S40 under the step-up policy the first request from another browser family is refused on fresh-auth and step-up routes', async () => {
    const app = await startTestApp(new MemoryStore(), { binding: { policy: 'step-up' } });
    const c = new Client(app.url, { 'user-agent': CHROME });
    await c.post('/login', { userId: 'alice', aal: 2 });
    assert.equal((await c.post('/transfer')).status, 200, 'stepped up on the own device');
    const thief = new Client(app.url, { 'user-agent': FIREFOX });
    thief.jar.set('id', c.jar.get('id')!);
    const email = await thief.post('/account/email'); // first request from the new device
    // A second stolen session, whose first request from the new device is the step-up-only route.
    const c2 = new Client(app.url, { 'user-agent': CHROME });
    await c2.post('/login', { userId: 'bob', aal: 2 });
    const thief2 = new Client(app.url, { 'user-agent': FIREFOX });
    thief2.jar.set('id', c2.jar.get('id')!);
    const transfer = await thief2.post('/transfer');
    const transferAgain = await thief2.post('/transfer');
    const mismatches = app.events.filter((e) => e.type === 'session.binding_mismatch').length;
    await app.close();
    assert.equal(mismatches, 2, 'each new device is detected');
    assert.deepEqual(
      {
        freshAuthRoute: email.status,
        stepUpRoute: transfer.status,
        stepUpRouteSecondTry: transferAgain.status,
      },
      { freshAuthRoute: 401, stepUpRoute: 401, stepUpRouteSecondTry: 401 },
      'the first request from a new device passes the fresh-auth and step-up guards',
    );
  });
});
