import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import type { SessionStore } from '../../src/core/store.js';
import { session } from '../../src/express/index.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { SqliteStore } from '../../src/stores/sqlite.js';
import { Clock, SECRET, startTestApp } from '../support/app.js';
import { Client, listen } from '../support/http.js';

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

    it('S21 S27 a logout whose request started just before a scheduled rotation still ends the session', async () => {
      const clock = new Clock();
      const store = make();
      const app = express();
      app.use(express.json());
      const middleware = session({
        secret: SECRET,
        store,
        now: clock.now,
        warn: () => {},
        guessLimit: false,
        ...ROTATION,
      });
      app.use(middleware);
      app.post('/login', async (req, res) => {
        await req.session.login('victim');
        res.json({ ok: true });
      });
      app.get('/me', (req, res) => res.status(req.session.meta?.userId ? 200 : 401).end());
      app.post('/slow-logout', async (req, res) => {
        await sleep(300);
        await req.session.logout();
        res.json({ ok: true });
      });
      const running = await listen(app as never);
      const tab1 = new Client(running.url);
      await tab1.post('/login', {});
      const tab2 = new Client(running.url);
      tab2.jar.set('id', tab1.jar.get('id')!);
      clock.advance(119 * SECOND);
      // Tab 1 presses "sign out" (request loaded before the token is due)...
      const logout = tab1.post('/slow-logout', {});
      await sleep(100);
      // ...while tab 2 of the same browser makes a request once the token is due.
      clock.advance(2 * SECOND);
      const rotatedBy = await tab2.get('/me');
      await logout;
      const after = await tab2.get('/me');
      await running.close();
      await store.close();
      assert.equal(rotatedBy.status, 200);
      assert.notEqual(tab2.jar.get('id'), tab1.jar.get('id') ?? '(cleared)');
      assert.equal(after.status, 401, 'the session survived the logout under its new token');
    });

    it('S21 S20 a step-up whose request started just before a scheduled rotation replaces the session it became', async () => {
      const clock = new Clock();
      const store = make();
      const app = express();
      app.use(express.json());
      app.use(
        session({ secret: SECRET, store, now: clock.now, warn: () => {}, guessLimit: false, ...ROTATION }),
      );
      app.post('/login', async (req, res) => {
        await req.session.login('stepper');
        res.json({ ok: true });
      });
      app.get('/me', (req, res) => res.status(req.session.meta?.userId ? 200 : 401).json(req.session.meta));
      app.post('/slow-step-up', async (req, res) => {
        await sleep(300);
        await req.session.stepUp(2);
        res.json({ ok: true });
      });
      const running = await listen(app as never);
      const tab1 = new Client(running.url);
      await tab1.post('/login', {});
      const tab2 = new Client(running.url);
      tab2.jar.set('id', tab1.jar.get('id')!);
      clock.advance(119 * SECOND);
      const stepUp = tab1.post('/slow-step-up', {});
      await sleep(100);
      clock.advance(2 * SECOND);
      assert.equal((await tab2.get('/me')).status, 200, 'tab 2 rotates the token');
      const rotatedTo = tab2.jar.get('id');
      assert.equal((await stepUp).status, 200, 'the step-up still succeeds');
      const stepped = (await tab1.get('/me')).json() as { aal: number };
      const leftover = await tab2.get('/me');
      await running.close();
      await store.close();
      assert.equal(stepped.aal, 2);
      assert.notEqual(rotatedTo, tab1.jar.get('id'));
      assert.equal(leftover.status, 401, 'the token the rotation minted died with the step-up');
    });

    it('S21 a write that started before a scheduled rotation does not stretch the old token past its grace period', async () => {
      const clock = new Clock();
      const store = make();
      const app = express();
      app.use(express.json());
      app.use(
        session({
          secret: SECRET,
          store,
          now: clock.now,
          warn: () => {},
          guessLimit: false,
          ...ROTATION,
          renewalIntervalMs: 60 * SECOND,
        }),
      );
      app.post('/login', async (req, res) => {
        await req.session.login('victim');
        res.json({ ok: true });
      });
      app.get('/me', (req, res) => res.status(req.session.meta?.userId ? 200 : 401).end());
      app.post('/slow', async (req, res) => {
        await sleep(300);
        req.session.note = 'x';
        res.json({ ok: true });
      });
      const running = await listen(app as never);
      const browser = new Client(running.url);
      await browser.post('/login', {});
      const oldCookie = browser.jar.get('id')!;
      clock.advance(119 * SECOND);
      const slow = new Client(running.url);
      slow.jar.set('id', oldCookie);
      const pending = slow.post('/slow', {});
      await sleep(100);
      clock.advance(2 * SECOND);
      assert.equal((await browser.get('/me')).status, 200, 'rotates');
      await pending;
      const pointer = await store.get(oldCookie.split('.')[0]!);
      const successor = await store.get(pointer!.successor!);
      assert.equal(JSON.parse(successor!.data).note, 'x', 'the write landed in the session it became');
      // Well after the 30 s grace period the old token should be dead.
      clock.advance(60 * SECOND);
      const stale = new Client(running.url);
      stale.jar.set('id', oldCookie);
      const late = await stale.get('/me');
      await running.close();
      await store.close();
      assert.ok(pointer?.successor, 'the old record is a pointer');
      const graceLeft = (pointer!.idleExpiresAt - (clock.at - 60 * SECOND)) / SECOND;
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
