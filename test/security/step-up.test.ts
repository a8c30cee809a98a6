import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { requireStepUp, session } from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SECRET, startTestApp, type TestApp } from '../support/app.js';
import { Client, listen } from '../support/http.js';
import { embeddedStores } from '../support/stores.js';

const MINUTE = 60_000;
const handleOf = (client: Client) => (client.jar.get('id') ?? '').split('.')[0]!;

for (const factory of embeddedStores()) {
  describe(`step-up on ${factory.name}`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(factory.create(), { absoluteTimeoutMs: 60 * MINUTE });
    });
    after(async () => {
      await app.close();
      await app.store.close();
      factory.cleanup();
    });

    it('S40 S54 a password-only session is refused with the level it needs; a step-up opens the window, which then closes', async () => {
      const client = new Client(app.url);
      await client.post('/login', { userId: 'stepper' });
      const refused = await client.post('/transfer');
      assert.equal(refused.status, 401);
      assert.deepEqual(refused.json(), {
        error: 'step_up_required',
        message: 'Confirm it is you with your second factor to continue.',
        level: 2,
      });
      const before = handleOf(client);
      const stored = await app.store.get(before);
      assert.equal(stored?.aal, 1);
      assert.equal(stored?.stepUpAt, null);

      assert.equal((await client.post('/step-up', { level: 2 })).status, 200);
      const after = handleOf(client);
      assert.notEqual(after, before, 'step-up rotates the session ID');
      assert.equal(await app.store.get(before), null, 'the old token is gone');
      const record = await app.store.get(after);
      assert.equal(record?.aal, 2, 'aal lives in the store');
      assert.equal(record?.stepUpAt, app.clock.at, 'stepUpAt lives in the store');
      assert.notEqual(record?.csrfSecret, stored?.csrfSecret, 'S54 the CSRF secret is replaced too');
      assert.equal((await client.post('/transfer')).status, 200);

      app.clock.advance(4 * MINUTE);
      assert.equal((await client.post('/transfer')).status, 200, 'inside the 5-minute window');
      app.clock.advance(1 * MINUTE + 1);
      const expired = await client.post('/transfer');
      assert.equal(expired.status, 401);
      assert.equal((expired.json() as { error: string }).error, 'step_up_required');
    });

    it('S40 a password re-authentication is not a step-up, and leaves an earlier step-up as it was', async () => {
      const client = new Client(app.url);
      await client.post('/login', { userId: 'reauth-only' });
      await client.post('/reauth');
      assert.equal((await client.post('/transfer')).status, 401);
      await client.post('/step-up', { level: 2 });
      await client.post('/reauth');
      assert.equal((await client.post('/transfer')).status, 200);
    });

    it('S40 a login that included the second factor counts as a step-up at login time', async () => {
      const client = new Client(app.url);
      await client.post('/login', { userId: 'two-factor', aal: 2 });
      assert.equal((await client.post('/transfer')).status, 200);
      const meta = ((await client.get('/peek')).json() as { meta: { aal: number; stepUpAt: number } }).meta;
      assert.equal(meta.aal, 2);
      assert.equal(meta.stepUpAt, app.clock.at);
      app.clock.advance(5 * MINUTE + 1);
      assert.equal((await client.post('/transfer')).status, 401);
    });

    it('S40 S24 step-up never extends the absolute lifetime, and a new login starts at level 1', async () => {
      const client = new Client(app.url);
      await client.post('/login', { userId: 'bounded' });
      const { createdAt, absoluteExpiresAt } = (
        (await client.get('/peek')).json() as { meta: { createdAt: number; absoluteExpiresAt: number } }
      ).meta;
      app.clock.advance(20 * MINUTE);
      await client.post('/step-up', { level: 2 });
      const meta = ((await client.get('/peek')).json() as { meta: Record<string, number> }).meta;
      assert.equal(meta.createdAt, createdAt);
      assert.equal(meta.absoluteExpiresAt, absoluteExpiresAt);
      await client.post('/login', { userId: 'bounded' });
      assert.equal((await client.post('/transfer')).status, 401, 'a new login drops the step-up');
    });

    it('S40 an anonymous session cannot step up, and the guard answers 401 unauthenticated', async () => {
      const client = new Client(app.url);
      assert.equal((await client.post('/transfer')).status, 401);
      assert.equal(((await client.post('/transfer')).json() as { error: string }).error, 'unauthenticated');
      assert.equal(
        (await client.post('/step-up', { level: 2 })).status,
        401,
        'a lifecycle call on a session not signed in is 401',
      );
      assert.equal(client.jar.size, 0, 'nothing was created');
    });
  });
}

describe('requireStepUp', () => {
  it('sends a browser page load to the step-up page with its returnTo, and checks its options', async () => {
    const store = new MemoryStore();
    const app = express();
    app.use(session({ secret: SECRET, store, warn: () => {} }));
    app.post('/login', async (req, res) => {
      await req.session.login('browser-user');
      res.end();
    });
    app.get('/admin', requireStepUp({ redirectTo: '/step-up' }), (_req, res) => res.end('admin'));
    const running = await listen(app as never);
    const client = new Client(running.url);
    await client.post('/login');
    const page = await client.get('/admin?tab=users', { accept: 'text/html' });
    assert.equal(page.status, 303);
    assert.equal(page.headers.get('location'), `/step-up?returnTo=${encodeURIComponent('/admin?tab=users')}`);
    await running.close();
    await store.close();
    assert.throws(() => requireStepUp({ level: 1 }), RangeError);
    assert.throws(() => requireStepUp({ maxAgeMs: 0 }), RangeError);
  });
});
