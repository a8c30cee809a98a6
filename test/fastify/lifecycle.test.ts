import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type FastifyTestApp, handleIn, startFastifyApp } from './app.js';

for (const transport of ['http', 'inject'] as const) {
  describe(`Fastify plugin: session lifecycle (${transport})`, () => {
    let t: FastifyTestApp;
    before(async () => {
      t = await startFastifyApp(
        {},
        (app) => {
          app.post('/regenerate', async (request) => {
            const { keep } = request.body as { keep?: boolean };
            await (keep ? request.session.regenerate({ keep: true }) : request.session.regenerate());
            return { data: { ...request.session, cookie: undefined }, id: request.session.sessionId };
          });
          app.post('/regenerate-keys', async (request) => {
            await request.session.regenerate(['cart']);
            return { cart: request.session.get('cart') ?? null, views: request.session.get('views') ?? null };
          });
          app.post('/callbacks', (request, reply) => {
            request.session.set('views', 1);
            request.session.save((error) => {
              if (error) {
                reply.code(500).send();
                return;
              }
              request.session.reload((reloadError) => {
                reply.send({
                  error: reloadError ? 'failed' : null,
                  views: request.session.get('views') ?? null,
                });
              });
            });
          });
          app.post('/modified', async (request) => {
            const before = request.session.isModified();
            request.session.views = 3;
            return { before, after: request.session.isModified(), saved: request.session.isSaved() };
          });
          app.post('/raw-write', (request, reply) => {
            request.session.set('views', 5);
            reply.raw.end('raw');
          });
          app.post(
            '/send-in-hook',
            {
              // The pitfall of async hooks: reply.redirect() without `return reply` lets the handler send too.
              preHandler: async (request, reply) => {
                await request.session.login('hooked');
                reply.redirect('/me', 303);
              },
            },
            async () => ({ handler: 'also ran' }),
          );
          app.post('/hijack', async (request, reply) => {
            request.session.set('views', 42);
            reply.hijack();
            await request.session.save();
            reply.raw.writeHead(200, { 'content-type': 'text/plain' });
            reply.raw.end('raw');
          });
        },
        transport,
      );
    });
    after(() => t.close());
    const client = () => t.client();

    it('sets no cookie and stores nothing until the session holds data', async () => {
      const c = client();
      const res = await c.get('/peek');
      assert.equal(res.status, 200);
      assert.deepEqual(res.setCookies, []);
      assert.equal(res.headers.get('cache-control'), null);
      assert.equal(t.events.filter((e) => e.type === 'session.created').length, 0);
    });

    it('stores data on first write, sends no-store with the cookie, and reads it back', async () => {
      const c = client();
      const res = await c.post('/set', { cart: ['apple'] });
      assert.equal(res.setCookies.length, 1);
      assert.match(res.setCookies[0]!, /^id=.+; Path=\/; HttpOnly; SameSite=Lax$/);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      const peek = (await c.get('/peek')).json() as { data: unknown; sessionId: string };
      assert.deepEqual(peek.data, { cart: ['apple'] });
      assert.equal(peek.sessionId, handleIn(c.jar.get('id')));
      const stored = await t.store.get(handleIn(c.jar.get('id')));
      assert.deepEqual(JSON.parse(stored!.data), { cart: ['apple'] });
    });

    it('commits the session before the response is sent (login then redirect)', async () => {
      const c = client();
      const res = await c.post('/login-redirect', { userId: 'alice' });
      assert.equal(res.status, 303);
      // The response has arrived: the store must already hold the signed-in session.
      assert.equal((await t.store.get(handleIn(c.jar.get('id'))))?.userId, 'alice');
      assert.deepEqual((await c.get('/me')).json(), { userId: 'alice' });
    });

    it('rotates the token on login: the pre-login token no longer works', async () => {
      const c = client();
      await c.post('/set', { cart: ['x'] });
      const before = c.jar.get('id')!;
      await c.post('/login', { userId: 'bob' });
      const afterLogin = c.jar.get('id')!;
      assert.notEqual(afterLogin, before);
      const old = await t.client().get('/me', { cookie: `id=${before}` });
      assert.equal(old.status, 401);
      assert.equal((await c.get('/me')).status, 200);
      // Pre-login data is dropped but `returnTo` (S19).
      assert.deepEqual(((await c.get('/peek')).json() as { data: unknown }).data, {});
    });

    it('logs out for real: record destroyed, cookie expired, Clear-Site-Data sent', async () => {
      const c = client();
      await c.post('/login', { userId: 'carol' });
      const token = c.jar.get('id')!;
      const res = await c.post('/logout', {});
      assert.equal(res.headers.get('clear-site-data'), '"cache", "storage"');
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.match(res.setCookies[0]!, /^id=; Max-Age=0; /);
      assert.equal(await t.store.get(handleIn(token)), null);
      assert.equal((await t.client().get('/me', { cookie: `id=${token}` })).status, 401);
    });

    it('lists devices, revokes one, and logs out everywhere else', async () => {
      const phone = client();
      const laptop = client();
      const tablet = client();
      for (const c of [phone, laptop, tablet]) await c.post('/login', { userId: 'dave' });
      const list = (await laptop.get('/sessions')).json() as Array<{ handle: string; current: boolean }>;
      assert.equal(list.length, 3);
      assert.equal(list.filter((s) => s.current).length, 1);
      assert.equal(list.find((s) => s.current)?.handle, handleIn(laptop.jar.get('id')));
      const revoke = await laptop.post('/sessions/revoke', { handle: handleIn(phone.jar.get('id')) });
      assert.deepEqual(revoke.json(), { revoked: true });
      assert.equal((await phone.get('/me')).status, 401);
      assert.deepEqual((await laptop.post('/logout-everywhere', {})).json(), { count: 1 });
      assert.equal((await tablet.get('/me')).status, 401);
      assert.equal((await laptop.get('/me')).status, 200);
    });

    it('regenerate() is a new empty session; regenerate({ keep: true }) rotates keeping data', async () => {
      const c = client();
      await c.post('/login', { userId: 'erin' });
      await c.post('/set', { cart: ['pear'] });
      const first = c.jar.get('id')!;
      const kept = (await c.post('/regenerate', { keep: true })).json() as { data: { cart: string[] } };
      assert.deepEqual(kept.data.cart, ['pear']);
      assert.notEqual(c.jar.get('id'), first);
      assert.equal((await c.get('/me')).status, 200);
      const emptied = (await c.post('/regenerate', {})).json() as { data: Record<string, unknown> };
      assert.deepEqual(Object.keys(emptied.data), []);
      assert.equal((await c.get('/me')).status, 401);
    });

    it('regenerate([keys]) keeps only the listed keys, as @fastify/session does', async () => {
      const c = client();
      await c.post('/set', { cart: ['plum'], views: 2 });
      assert.deepEqual((await c.post('/regenerate-keys', {})).json(), { cart: ['plum'], views: null });
      assert.deepEqual(((await c.get('/peek')).json() as { data: unknown }).data, { cart: ['plum'] });
    });

    it('supports the callback forms of save and reload', async () => {
      const c = client();
      assert.deepEqual((await c.post('/callbacks', {})).json(), { error: null, views: 1 });
      assert.deepEqual(((await c.get('/peek')).json() as { data: unknown }).data, { views: 1 });
    });

    it('tracks isModified and isSaved', async () => {
      const c = client();
      assert.deepEqual((await c.post('/modified', {})).json(), { before: false, after: true, saved: false });
      assert.deepEqual((await c.post('/modified', {})).json(), { before: false, after: false, saved: true });
    });

    it('a hook that sends without returning the reply still commits before either send leaves', async () => {
      const c = client();
      const res = await c.post('/send-in-hook', {});
      assert.equal(res.status, 303);
      assert.equal(res.setCookies.filter((line) => line.startsWith('id=')).length, 1);
      assert.equal((await t.store.get(handleIn(c.jar.get('id'))))?.userId, 'hooked');
      assert.deepEqual((await c.get('/me')).json(), { userId: 'hooked' });
    });

    it('a write to reply.raw bypasses onSend: nothing is stored, and a warning says so', async () => {
      const c = client();
      const res = await c.post('/raw-write', {});
      assert.equal(res.text, 'raw');
      assert.deepEqual(res.setCookies, []);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.ok(t.warnings.some((line) => line.includes('bypassed onSend')));
    });

    it('after reply.hijack(), save() stores the session and puts its cookie on the raw response', async () => {
      const c = client();
      const res = await c.post('/hijack', {});
      assert.equal(res.text, 'raw');
      assert.equal(res.setCookies.length, 1);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.deepEqual(((await c.get('/peek')).json() as { data: unknown }).data, { views: 42 });
    });
  });
}

describe('Fastify plugin: the same lifecycle through fastify.inject', () => {
  let t: FastifyTestApp;
  before(async () => {
    t = await startFastifyApp();
  });
  after(() => t.close());

  it('logs in, reads the session back, and logs out', async () => {
    const login = await t.app.inject({ method: 'POST', url: '/login', payload: { userId: 'frank' } });
    assert.equal(login.statusCode, 200);
    const cookie = login.cookies.find((c) => c.name === 'id');
    assert.ok(cookie?.value);
    assert.equal(login.headers['cache-control'], 'no-store');
    const me = await t.app.inject({ url: '/me', headers: { cookie: `id=${cookie.value}` } });
    assert.deepEqual(me.json(), { userId: 'frank' });
    const logout = await t.app.inject({
      method: 'POST',
      url: '/logout',
      headers: { cookie: `id=${cookie.value}` },
    });
    assert.equal(logout.headers['clear-site-data'], '"cache", "storage"');
    const again = await t.app.inject({ url: '/me', headers: { cookie: `id=${cookie.value}` } });
    assert.equal(again.statusCode, 401);
  });
});
