import assert from 'node:assert/strict';
import { type Answer, COOKIE_NAME, newUser, withApp } from './adapter-harness.js';
import type { Scenario } from './adapter-scenarios.js';

/** The session cookies a response set (any other cookie is the application's). */
export function sessionCookies(answer: Answer): string[] {
  return answer.setCookies.filter((line) => line.startsWith(`${COOKIE_NAME}=`));
}

const body = (answer: Answer) => answer.body as Record<string, unknown>;

export const lifecycleScenarios = {
  'lazy-creation': {
    title: 'stores nothing and sets no cookie until the session holds data',
    run: (context) =>
      withApp(context, {}, async ({ store, client }) => {
        const browser = client();
        const peek = await browser.get('/peek');
        assert.equal(peek.status, 200);
        assert.deepEqual(body(peek), { userId: null, handle: null, data: {} });
        assert.deepEqual(sessionCookies(peek), []);
        assert.equal(store.created, 0);
        assert.equal((await browser.post('/set', { a: 1 })).status, 200);
        assert.ok(browser.handle, 'the first write sets the session cookie');
        assert.equal(store.created, 1);
        const again = await browser.get('/peek');
        assert.deepEqual(body(again).data, { a: 1 });
        assert.equal(body(again).handle, browser.handle);
        assert.deepEqual(sessionCookies(again), [], 'an unchanged session sets no cookie');
      }),
  },
  'login-rotation': {
    title: 'login issues a new token, kills the old one and keeps only returnTo (S19)',
    run: (context) =>
      withApp(context, {}, async ({ store, client }) => {
        const browser = client();
        await browser.post('/set', { returnTo: '/cart', cart: 3 });
        const before = browser.copy();
        const userId = newUser();
        const login = await browser.post('/login', { userId });
        assert.equal(login.status, 200);
        assert.notEqual(browser.token, before.token);
        assert.match(login.headers.get('cache-control') ?? '', /no-store/);
        const me = await browser.get('/me');
        assert.equal(me.status, 200);
        assert.deepEqual(body(me), { userId, data: { returnTo: '/cart' } });
        assert.equal((await before.get('/me')).status, 401);
        assert.equal(await store.get(before.handle!), null, 'the pre-login record is gone');
      }),
  },
  logout: {
    title: 'logout destroys the session, clears the cookie and site data (S28)',
    run: (context) =>
      withApp(context, {}, async ({ store, client }) => {
        const browser = client();
        await browser.post('/login', { userId: newUser() });
        const stolen = browser.copy();
        const out = await browser.post('/logout');
        assert.equal(out.status, 200);
        assert.equal(browser.cookie, null, 'the cookie is expired');
        assert.match(out.headers.get('clear-site-data') ?? '', /"cache"/);
        assert.equal(await store.get(stolen.handle!), null);
        assert.equal((await stolen.get('/me')).status, 401);
        assert.equal((await browser.get('/me')).status, 401);
      }),
  },
  'logout-everywhere': {
    title: "signing out everywhere ends the user's other sessions only",
    run: (context) =>
      withApp(context, {}, async ({ client }) => {
        const userId = newUser();
        const [here, laptop, phone, stranger] = [client(), client(), client(), client()];
        for (const browser of [here, laptop, phone]) await browser.post('/login', { userId });
        await stranger.post('/login', { userId: newUser() });
        const all = await here.post('/logout-all');
        assert.equal(all.status, 200);
        assert.equal(body(all).count, 2);
        assert.equal((await laptop.get('/me')).status, 401);
        assert.equal((await phone.get('/me')).status, 401);
        assert.equal((await here.get('/me')).status, 200);
        assert.equal((await stranger.get('/me')).status, 200);
      }),
  },
  'device-list': {
    title: "lists the user's sessions and revokes one by handle, never another user's",
    run: (context) =>
      withApp(context, {}, async ({ client }) => {
        const userId = newUser();
        const [here, laptop, stranger] = [client(), client(), client()];
        await here.post('/login', { userId });
        await laptop.post('/login', { userId });
        await stranger.post('/login', { userId: newUser() });
        const list = await here.get('/sessions');
        assert.equal(list.status, 200);
        const rows = list.body as { handle: string; current: boolean }[];
        assert.deepEqual(rows.map((row) => row.handle).sort(), [here.handle, laptop.handle].sort());
        assert.deepEqual(
          rows.filter((row) => row.current).map((row) => row.handle),
          [here.handle],
        );
        const foreign = await here.delete(`/sessions/${encodeURIComponent(stranger.handle!)}`);
        assert.deepEqual(foreign.body, { revoked: false });
        assert.equal((await stranger.get('/me')).status, 200);
        const revoked = await here.delete(`/sessions/${encodeURIComponent(laptop.handle!)}`);
        assert.deepEqual(revoked.body, { revoked: true });
        assert.equal((await laptop.get('/me')).status, 401);
        assert.equal((await here.get('/me')).status, 200);
      }),
  },
  regenerate: {
    title: 'regenerate with keep rotates the token and keeps data and sign-in',
    run: (context) =>
      withApp(context, {}, async ({ client }) => {
        const browser = client();
        const userId = newUser();
        await browser.post('/login', { userId });
        await browser.post('/set', { theme: 'dark' });
        const before = browser.copy();
        assert.equal((await browser.post('/regenerate')).status, 200);
        assert.notEqual(browser.token, before.token);
        assert.deepEqual(body(await browser.get('/me')), { userId, data: { theme: 'dark' } });
        assert.equal((await before.get('/me')).status, 401);
      }),
  },
  'commit-before-response': {
    title: 'the store holds every write when the response arrives (express-session#360)',
    run: (context) =>
      withApp(context, {}, async ({ store, client }) => {
        const browser = client();
        await browser.post('/set', { a: 1 });
        assert.deepEqual(JSON.parse((await store.get(browser.handle!))!.data), { a: 1 });
        await browser.post('/slow?ms=50', { b: 2 });
        assert.deepEqual(JSON.parse((await store.get(browser.handle!))!.data), { a: 1, b: 2 });
        const userId = newUser();
        await browser.post('/login', { userId });
        assert.equal((await store.get(browser.handle!))?.userId, userId);
      }),
  },
} satisfies Record<string, Scenario>;
