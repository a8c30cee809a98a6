import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import expressSession from 'express-session';
import { SessionStoreError } from '../../packages/coatcheck/src/core/errors.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SECRET } from '../support/app.js';
import { failingStores, type Opened } from '../support/failing-stores.js';
import { Client } from '../support/http.js';
import { type PassportApp, startPassportApp } from '../support/passport-app.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface WhoAmI {
  user: string | null;
  data: Record<string, unknown>;
  meta: { userId: string | null; handle: string; authAt: number | null; aal: number } | null;
  id: string;
}

const whoami = async (client: Client) => (await client.get('/whoami')).json() as WhoAmI;
const handleOf = (client: Client) => client.jar.get('id')?.split('.')[0] ?? '';
const signIn = (client: Client, username: string, path = '/login') =>
  client.post(path, { username, password: `pw-${username}` });
/** A browser that still holds `cookie` (the cookie header of another client, copied earlier). */
const replay = (app: PassportApp, cookie: string) => {
  const client = new Client(app.url);
  for (const pair of cookie.split('; ')) {
    const eq = pair.indexOf('=');
    client.jar.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return client;
};

/**
 * The sequences whose outcome Passport's own rules decide, run on coatcheck and, as a control, on
 * express-session: the data each session holds must be the same.
 */
function dataSequences(start: () => Promise<PassportApp>) {
  let app: PassportApp;
  before(async () => {
    app = await start();
    for (const name of ['ann', 'ben', 'cat', 'eve']) app.addUser(name, `pw-${name}`);
  });
  after(() => app.close());

  it('login without keepSessionInfo: a new session that holds only the user; cart, returnTo and the old cookie are gone', async () => {
    const c = new Client(app.url);
    await c.post('/cart', { item: 'socks' });
    const toLogin = await c.get('/orders');
    assert.equal(toLogin.status, 302);
    const before = c.cookieHeader;
    const res = await signIn(c, 'ann');
    assert.equal(res.status, 302);
    // successReturnToOrRedirect: returnTo went with the old session, so the default applies.
    assert.equal(res.headers.get('location'), '/');
    assert.notEqual(c.cookieHeader, before);
    const me = await whoami(c);
    assert.equal(me.user, 'user-ann');
    assert.deepEqual(me.data, { passport: { user: 'user-ann' } });
    const old = await whoami(replay(app, before));
    assert.equal(old.user, null);
    assert.deepEqual(old.data, {});
  });

  it('login with keepSessionInfo keeps the pre-login data, and successReturnToOrRedirect follows returnTo', async () => {
    const c = new Client(app.url);
    await c.post('/cart', { item: 'hat' });
    await c.get('/orders');
    const before = c.cookieHeader;
    const res = await signIn(c, 'ben', '/login-keep');
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/orders');
    assert.notEqual(c.cookieHeader, before, 'a new session ID all the same');
    const me = await whoami(c);
    assert.equal(me.user, 'user-ben');
    // Passport deleted returnTo once it had used it.
    assert.deepEqual(me.data, { cart: ['hat'], passport: { user: 'user-ben' } });
    assert.equal((await c.get('/orders')).status, 200);
    assert.equal((await whoami(replay(app, before))).user, null);
  });

  it('failureMessage pushes into session.messages and nobody is signed in', async () => {
    const c = new Client(app.url);
    const res = await c.post('/login', { username: 'cat', password: 'wrong' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/login');
    await c.post('/login', { username: 'nobody', password: 'wrong' });
    assert.deepEqual((await c.get('/messages')).json(), [
      'Wrong username or password.',
      'Wrong username or password.',
    ]);
    const me = await whoami(c);
    assert.equal(me.user, null);
    assert.equal(me.meta?.userId ?? null, null);
  });

  it('logout: the new session holds none of the old data and the old cookie is dead', async () => {
    const c = new Client(app.url);
    await c.post('/cart', { item: 'scarf' });
    await signIn(c, 'eve', '/login-keep');
    const signedIn = c.cookieHeader;
    assert.deepEqual((await whoami(c)).data, { cart: ['scarf'], passport: { user: 'user-eve' } });
    const res = await c.post('/logout');
    assert.equal(res.status, 302);
    const me = await whoami(c);
    assert.equal(me.user, null);
    assert.deepEqual(me.data, {});
    const old = await whoami(replay(app, signedIn));
    assert.equal(old.user, null);
    assert.deepEqual(old.data, {});
  });

  it('logout with keepSessionInfo keeps the data but not the user, on a new session', async () => {
    const c = new Client(app.url);
    await c.post('/cart', { item: 'belt' });
    await signIn(c, 'ann', '/login-keep');
    const signedIn = c.cookieHeader;
    assert.equal((await c.post('/logout-keep')).status, 302);
    const me = await whoami(c);
    assert.equal(me.user, null);
    assert.equal(me.meta?.userId ?? null, null);
    assert.deepEqual(me.data, { cart: ['belt'], passport: {} });
    assert.notEqual(c.cookieHeader, signedIn);
    assert.equal((await whoami(replay(app, signedIn))).user, null);
  });
}

describe('control: the Passport sequences on express-session itself', () => {
  dataSequences(() =>
    startPassportApp(null, {
      control: expressSession({ secret: SECRET, resave: false, saveUninitialized: false }) as never,
    }),
  );
});

for (const backend of failingStores()) {
  describe(`Passport 0.7 + passport-local on coatcheck, ${backend.name} store`, {
    skip: backend.skip,
  }, () => {
    describe('the sequences express-session answers the same way', () => {
      let store: Opened;
      dataSequences(async () => {
        store = await backend.open();
        return startPassportApp(store.store);
      });
      after(() => store.close());
    });

    describe('coatcheck features for Passport logins', () => {
      let store: Opened;
      let app: PassportApp;
      before(async () => {
        store = await backend.open();
        app = await startPassportApp(store.store, { maxSessionsPerUser: 3 });
        for (const name of ['dora', 'eve', 'fay', 'gus', 'hal', 'ivy']) app.addUser(name, `pw-${name}`);
      });
      after(async () => {
        await app.close();
        await store.close();
      });

      it('a Passport login is a coatcheck login: user index, authAt, aal 1, guards, audit events', async () => {
        const c = new Client(app.url, { 'user-agent': 'Laptop/1' });
        await c.post('/cart', { item: 'socks' });
        const anonymous = handleOf(c);
        const at = app.events.length;
        assert.equal((await signIn(c, 'hal')).status, 302);
        const me = await whoami(c);
        assert.equal(me.meta?.userId, 'user-hal');
        assert.equal(me.meta?.aal, 1);
        assert.equal(typeof me.meta?.authAt, 'number');
        assert.equal(me.id, handleOf(c));
        assert.notEqual(handleOf(c), anonymous);
        assert.equal((await c.get('/private')).status, 200);
        assert.equal(
          (await c.get('/account')).status,
          200,
          'requireFreshAuth counts from the Passport login',
        );
        const stored = await store.store.get(handleOf(c));
        assert.equal(stored?.userId, 'user-hal');
        assert.deepEqual(JSON.parse(stored!.data), { passport: { user: 'user-hal' } });
        assert.equal(await store.store.get(anonymous), null);
        assert.deepEqual(
          app.events.slice(at).map((e) => [e.type, e.userId ?? null]),
          [
            ['session.regenerated', null],
            ['auth.login.success', 'user-hal'],
          ],
        );
      });

      it('listSessions shows Passport sessions; revokeSession and logoutEverywhere sign other devices out', async () => {
        const laptop = new Client(app.url, { 'user-agent': 'Laptop/1' });
        const phone = new Client(app.url, { 'user-agent': 'Phone/1' });
        const tablet = new Client(app.url, { 'user-agent': 'Tablet/1' });
        for (const device of [laptop, phone, tablet]) await signIn(device, 'fay');
        const list = (await laptop.get('/sessions')).json() as {
          handle: string;
          userAgent: string;
          current: boolean;
        }[];
        assert.deepEqual(list.map((s) => s.userAgent).sort(), ['Laptop/1', 'Phone/1', 'Tablet/1']);
        assert.equal(list.find((s) => s.current)?.handle, handleOf(laptop));
        assert.equal(
          (await phone.request(`/sessions/${handleOf(tablet)}`, { method: 'DELETE' })).status,
          204,
        );
        assert.equal((await tablet.get('/private')).status, 401);
        assert.equal((await whoami(tablet)).user, null, 'Passport sees nobody either');
        const res = await phone.post('/logout-everywhere');
        assert.deepEqual(res.json(), { count: 1 });
        assert.equal((await laptop.get('/private')).status, 401);
        assert.equal((await whoami(laptop)).user, null);
        assert.equal((await phone.get('/private')).status, 200);
      });

      it('S36 the session limit applies to Passport logins (evict-oldest)', async () => {
        const devices = [0, 1, 2, 3].map((n) => new Client(app.url, { 'user-agent': `Device/${n}` }));
        for (const device of devices) {
          await signIn(device, 'gus');
          await sleep(2);
        }
        assert.equal((await devices[0]!.get('/private')).status, 401);
        for (const device of devices.slice(1)) assert.equal((await device.get('/private')).status, 200);
        assert.ok(app.events.some((e) => e.type === 'session.evicted' && e.userId === 'user-gus'));
      });

      it('a deserializer that returns false ends the sign-in: guards refuse in that request, the record is destroyed', async () => {
        const c = new Client(app.url);
        await c.post('/cart', { item: 'gloves' });
        await signIn(c, 'dora', '/login-keep');
        const handle = handleOf(c);
        app.deleted.add('dora');
        try {
          assert.equal((await c.get('/private')).status, 401);
          assert.equal(await store.store.get(handle), null);
          assert.deepEqual(await store.store.listByUser('user-dora'), []);
          assert.ok(app.events.some((e) => e.type === 'session.logout' && e.userId === 'user-dora'));
          const me = await whoami(c);
          assert.equal(me.user, null);
          assert.equal(me.meta?.userId ?? null, null);
          // Passport deleted only the user; the rest of the data stays the visitor's.
          assert.deepEqual(me.data, { cart: ['gloves'], passport: {} });
        } finally {
          app.deleted.delete('dora');
        }
      });

      it('logout ends the coatcheck session: requireAuth 401, the record and the user index are empty', async () => {
        const c = new Client(app.url);
        await signIn(c, 'eve');
        const handle = handleOf(c);
        assert.equal((await c.get('/private')).status, 200);
        const res = await c.post('/logout');
        assert.ok(
          res.setCookies.some((line) => /^id=;.*Max-Age=0/.test(line)),
          'the cookie is expired',
        );
        assert.equal((await c.get('/private')).status, 401);
        assert.equal(await store.store.get(handle), null);
        assert.deepEqual(await store.store.listByUser('user-eve'), []);
        assert.ok(app.events.some((e) => e.type === 'session.logout' && e.userId === 'user-eve'));
      });

      it('every Passport callback is called exactly once', async () => {
        const c = new Client(app.url);
        app.calls.length = 0;
        assert.equal((await c.post('/login-callback', { username: 'ivy', password: 'pw-ivy' })).status, 200);
        assert.equal((await c.post('/login-callback', { username: 'ivy', password: 'wrong' })).status, 401);
        assert.equal((await c.post('/logout')).status, 302);
        await sleep(50);
        assert.deepEqual(app.calls, ['authenticate', 'login', 'authenticate', 'logout']);
      });
    });

    describe('S49 a store failure during a Passport login', () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      before(() => process.on('unhandledRejection', onUnhandled));
      after(() => process.off('unhandledRejection', onUnhandled));

      for (const path of ['/login', '/login-callback']) {
        it(`answers 503 through ${path}, calls each callback once, and the process keeps serving`, async () => {
          const opened = await backend.open();
          const app = await startPassportApp(opened.store, { storeTimeoutMs: 1_000 });
          try {
            app.addUser('kim', 'pw-kim');
            const c = new Client(app.url);
            await c.post('/cart', { item: 'socks' });
            app.beforeLogin = opened.fail;
            const res = await signIn(c, 'kim', path);
            assert.equal(res.status, 503);
            assert.equal(res.text, 'Service Unavailable');
            await sleep(50);
            assert.equal(app.errors.length, 1);
            assert.ok(app.errors[0] instanceof SessionStoreError);
            assert.deepEqual(app.calls, path === '/login' ? [] : ['authenticate', 'login']);
            assert.equal((await new Client(app.url).get('/whoami')).status, 200);
            assert.deepEqual(unhandled, []);
          } finally {
            await app.close();
            await opened.close();
          }
        });
      }
    });
  });
}

describe('a remembered device made on a Passport login', () => {
  let app: PassportApp;
  before(async () => {
    app = await startPassportApp(new MemoryStore(), { remember: true, idleTimeoutMs: 2_000 });
    app.addUser('kim', 'pw-kim');
  });
  after(() => app.close());

  it('keeps req.user after the login, and a session it starts later is Passport-signed-in, not fresh', async () => {
    const c = new Client(app.url);
    assert.equal((await signIn(c, 'kim', '/login-remember')).status, 200);
    assert.ok(c.jar.has('remember'));
    const after = await whoami(c);
    assert.equal(after.user, 'user-kim', 'Passport still sees the user the login signed in');
    assert.equal(after.meta?.userId, 'user-kim');

    c.jar.delete('id'); // the browser was closed
    const resumed = await whoami(c);
    assert.equal(resumed.meta?.userId, 'user-kim');
    assert.equal(resumed.meta?.authAt, null, 'not fresh');
    assert.equal(resumed.user, 'user-kim', 'req.user is the remembered user');
    assert.equal((await c.get('/private')).status, 200);
    assert.equal((await c.get('/account')).status, 401, 'requireFreshAuth asks again');
    assert.equal((await whoami(c)).user, 'user-kim', 'and stays so on the next request');

    // Passport's logout ends it, and the remembered device does not bring it back.
    assert.equal((await c.post('/logout', {})).status, 302);
    c.jar.delete('id');
    const out = await whoami(c);
    assert.equal(out.user, null);
    assert.equal(out.meta, null);
  });
});
