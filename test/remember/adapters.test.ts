import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SessionConfigError } from '../../packages/coatcheck/src/core/errors.js';
import { session } from '../../packages/coatcheck/src/express/index.js';
import { ConnectStore } from '../../packages/coatcheck/src/stores/connect.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SqliteStore } from '../../packages/coatcheck/src/stores/sqlite.js';
import { Client } from '../support/http.js';
import { frameworks, type RememberApp, startRememberApp } from './servers.js';

type Me = { userId: string | null; authMethod: string | null; aal: number; fresh: boolean };

function reopen(client: Client): Client {
  const next = new Client(client.base);
  for (const [name, value] of client.jar) if (name !== 'id') next.jar.set(name, value);
  return next;
}
const me = async (client: Client) => (await client.get('/me')).json() as Me;

for (const framework of frameworks) {
  for (const [storeName, createStore] of [
    ['memory', () => new MemoryStore()],
    ['sqlite', () => new SqliteStore({ path: ':memory:', sweepIntervalMs: 0 })],
  ] as const) {
    describe(`login(userId, { remember: true }) on ${framework}, ${storeName}`, () => {
      let app: RememberApp;
      before(async () => {
        app = await startRememberApp(framework, createStore());
      });
      after(async () => {
        await app.close();
        await app.store.close();
      });

      it('keeps the user signed in on this device after the browser is closed, not fresh', async () => {
        const client = new Client(app.url);
        await client.post('/login', { userId: 'alice', remember: true });
        assert.ok(client.jar.get('remember'));
        const later = reopen(client);
        assert.deepEqual(await me(later), {
          userId: 'alice',
          authMethod: 'remembered',
          aal: 1,
          fresh: false,
        });
        assert.equal((await later.get('/fresh')).status, 401);
        assert.equal((await later.post('/reauth', {})).status, 200);
        assert.equal((await later.get('/fresh')).status, 200);
      });

      it('S18 a replay after the grace period ends the device; a parallel tab inside it does not', async () => {
        const client = new Client(app.url);
        await client.post('/login', { userId: 'bob', remember: true });
        const tabs = [reopen(client), reopen(client)];
        for (const answer of await Promise.all(tabs.map(me))) assert.equal(answer.userId, 'bob');
        const winner = tabs.find((tab) => tab.jar.get('remember') !== client.jar.get('remember'))!;
        app.clock.advance(11_000);
        assert.equal((await me(reopen(client))).userId, null, 'the replay is refused');
        assert.ok(app.events.some((e) => e.type === 'security.remember_reuse' && e.userId === 'bob'));
        assert.equal((await me(winner)).userId, null, 'and every session of the device ends');
        assert.equal((await me(reopen(winner))).userId, null);
      });

      it('logout ends the remembered device and clears its cookie', async () => {
        const client = new Client(app.url);
        await client.post('/login', { userId: 'carol', remember: true });
        const copy = reopen(client);
        const res = await client.post('/logout', {});
        assert.ok(res.setCookies.some((c) => /^remember=;/.test(c) && /Max-Age=0/.test(c)));
        assert.equal((await me(copy)).userId, null);
      });
    });
  }
}

describe('the remembered-device cookie over HTTPS', () => {
  it('S11 is named __Host-remember, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain', async () => {
    const { default: express } = await import('express');
    const app = express();
    app.set('trust proxy', true);
    app.use(
      session({ store: new MemoryStore(), secret: 'a-secret-long-enough-for-the-test', remember: true }),
    );
    app.post('/login', (req, res, next) => {
      req.session.login('alice', { remember: true }, (error) => (error ? next(error) : res.json({})));
    });
    app.get('/me', (req, res) => {
      res.json({
        userId: req.session.meta?.userId ?? null,
        authMethod: req.session.meta?.authMethod ?? null,
      });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as import('node:net').AddressInfo;
    const client = new Client(`http://127.0.0.1:${port}`, { 'x-forwarded-proto': 'https' });
    const res = await client.post('/login', {});
    const line = res.setCookies.find((cookie) => cookie.startsWith('__Host-remember='));
    assert.ok(line);
    assert.match(line, /; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    assert.doesNotMatch(line, /Domain/i);
    const later = new Client(client.base, { 'x-forwarded-proto': 'https' });
    later.jar.set('__Host-remember', client.jar.get('__Host-remember')!);
    assert.deepEqual((await later.get('/me')).json(), { userId: 'alice', authMethod: 'remembered' });
    const plain = new Client(client.base);
    plain.jar.set('__Host-remember', client.jar.get('__Host-remember')!);
    assert.deepEqual(
      (await plain.get('/me')).json(),
      { userId: null, authMethod: null },
      'not read over HTTP',
    );
    await new Promise((resolve) => server.close(resolve));
  });
});

describe('remembered devices need a store that can keep them', () => {
  it('an express-session (connect) store says by name that it cannot, and the option is refused at start-up', async () => {
    const { default: expressSession } = await import('express-session');
    const store = new ConnectStore(new expressSession.MemoryStore() as never);
    assert.equal(store.capabilities.rememberedDevices, false);
    assert.throws(
      () => session({ store, secret: 'a-secret-long-enough-for-the-test', remember: true, warn: () => {} }),
      (error: unknown) => error instanceof SessionConfigError && error.option === 'remember',
    );
  });

  it('login with remember on an engine without the option fails instead of silently not remembering', async () => {
    const app = await startRememberApp('express', new MemoryStore(), { remember: false });
    const client = new Client(app.url);
    assert.equal((await client.post('/login', { userId: 'dan', remember: true })).status, 500);
    assert.equal(client.jar.get('remember'), undefined);
    await app.close();
  });

  it('S36 under the refuse limit a resume over the limit goes on anonymous, never a failed request', async () => {
    const app = await startRememberApp('express', new MemoryStore(), {
      maxSessionsPerUser: 1,
      sessionLimitPolicy: 'refuse',
    });
    const client = new Client(app.url);
    await client.post('/login', { userId: 'eve', remember: true });
    const res = await reopen(client).get('/me');
    assert.equal(res.status, 200);
    assert.equal((res.json() as Me).userId, null);
    assert.equal((await me(client)).userId, 'eve', 'the live session is untouched');
    await app.close();
  });

  it('rejects a grace period that is not below the lifetime', () => {
    assert.throws(
      () =>
        session({
          store: new MemoryStore(),
          secret: 'a-secret-long-enough-for-the-test',
          remember: { lifetimeMs: 1_000, graceMs: 1_000 },
        }),
      (error: unknown) => error instanceof SessionConfigError && error.option === 'remember.graceMs',
    );
  });
});
