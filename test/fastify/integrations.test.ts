import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fastifyCookie from '@fastify/cookie';
import fastifyFlash from '@fastify/flash';
import formbody from '@fastify/formbody';
import fastifyPassport from '@fastify/passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { requireAuth } from '../../packages/coatcheck/src/fastify/index.js';
import { Client } from '../support/http.js';
import { type FastifyTestApp, handleIn, startFastifyApp } from './app.js';

const USERS: Record<string, { id: string; name: string; password: string }> = {
  alice: { id: 'alice', name: 'Alice', password: 'pw-alice' },
};

for (const transport of ['http', 'inject'] as const) {
  describe(`Fastify plugin with @fastify/passport and passport-local (${transport})`, () => {
    let t: FastifyTestApp;
    before(async () => {
      t = await startFastifyApp(
        {},
        async (app) => {
          await app.register(formbody);
          await app.register(fastifyPassport.initialize());
          await app.register(fastifyPassport.secureSession());
          fastifyPassport.use(
            'local',
            new LocalStrategy((username, password, done) => {
              const user = USERS[username];
              done(null, user && user.password === password ? user : false);
            }),
          );
          fastifyPassport.registerUserSerializer(async (user: { id: string }) => user.id);
          fastifyPassport.registerUserDeserializer(async (id: string) => USERS[id] ?? null);
          app.post(
            '/passport/login',
            { preValidation: fastifyPassport.authenticate('local', { successRedirect: '/whoami' }) },
            async () => ({ unreachable: true }),
          );
          app.get('/whoami', { preHandler: requireAuth() }, async (request) => ({
            user: (request.user as { name: string } | null)?.name ?? null,
            meta: request.session.meta?.userId ?? null,
          }));
          app.post('/passport/logout', async (request) => {
            await request.logOut();
            return { ok: true };
          });
        },
        transport,
      );
    });
    after(() => t.close());

    const login = (c: Client, password: string) =>
      c.request('/passport/login', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `username=alice&password=${password}`,
      });

    it('refuses a wrong password and creates no session', async () => {
      const c = t.client();
      const res = await login(c, 'nope');
      assert.equal(res.status, 401);
      assert.deepEqual(res.setCookies, []);
    });

    it('signs in through the strategy: a new token, a signed-in record, requireAuth passes', async () => {
      const c = t.client();
      await c.post('/set', { cart: ['kept out'] });
      const before = c.jar.get('id')!;
      const res = await login(c, 'pw-alice');
      assert.equal(res.status, 302);
      assert.equal(res.headers.get('location'), '/whoami');
      assert.notEqual(c.jar.get('id'), before);
      // The pre-login session is gone from the store; the new one belongs to alice.
      assert.equal(await t.store.get(handleIn(before)), null);
      assert.equal((await t.store.get(handleIn(c.jar.get('id'))))?.userId, 'alice');
      assert.deepEqual((await c.get('/whoami')).json(), { user: 'Alice', meta: 'alice' });
      const devices = (await c.get('/sessions')).json() as unknown[];
      assert.equal(devices.length >= 1, true);
    });

    it('logs out through request.logOut(): the record is destroyed and the old token fails', async () => {
      const c = t.client();
      await login(c, 'pw-alice');
      const token = c.jar.get('id')!;
      await c.post('/passport/logout', {});
      assert.equal(await t.store.get(handleIn(token)), null);
      assert.equal((await t.client().get('/whoami', { cookie: `id=${token}` })).status, 401);
    });
  });
}

for (const transport of ['http', 'inject'] as const) {
  describe(`Fastify plugin with @fastify/flash (${transport})`, () => {
    let t: FastifyTestApp;
    before(async () => {
      t = await startFastifyApp(
        {},
        async (app) => {
          await app.register(fastifyFlash);
          app.post('/save', async (request, reply) => {
            request.flash('info', 'Saved.');
            return reply.redirect('/after', 303);
          });
          app.get('/after', async (_request, reply) => ({ info: reply.flash('info') }));
        },
        transport,
      );
    });
    after(() => t.close());

    it('carries a flash message across a redirect, once', async () => {
      const c = t.client();
      const res = await c.post('/save', {});
      assert.equal(res.status, 303);
      assert.deepEqual((await c.get('/after')).json(), { info: ['Saved.'] });
      assert.deepEqual((await c.get('/after')).json(), { info: [] });
    });
  });
}

for (const cookiePlugin of [false, 'before', 'after'] as const) {
  describe(`Fastify plugin ${cookiePlugin ? `with @fastify/cookie registered ${cookiePlugin} it` : 'without @fastify/cookie'}`, () => {
    let t: FastifyTestApp;
    before(async () => {
      t = await startFastifyApp({}, async (app) => {
        if (cookiePlugin) await app.register(fastifyCookie);
        app.get('/both', async (request, reply) => {
          request.session.set('views', 1);
          if (cookiePlugin) reply.setCookie('theme', 'dark', { path: '/' });
          return { cookies: cookiePlugin ? request.cookies : null };
        });
      });
    });
    after(() => t.close());

    it('reads the session from the raw Cookie header and keeps other Set-Cookie headers', async () => {
      const c = new Client(t.url);
      const first = await c.get('/both');
      assert.equal(first.setCookies.filter((line) => line.startsWith('id=')).length, 1);
      if (cookiePlugin) assert.ok(first.setCookies.some((line) => line.startsWith('theme=dark')));
      const second = (await c.get('/both')).json() as { cookies: Record<string, string> | null };
      if (cookiePlugin) assert.equal(second.cookies?.id, c.jar.get('id'));
      assert.deepEqual(((await c.get('/peek')).json() as { data: unknown }).data, { views: 1 });
    });

    it('S18: two session cookies in one header leave the request anonymous', async () => {
      const c = new Client(t.url);
      await c.post('/login', { userId: 'dup' });
      const token = c.jar.get('id')!;
      const res = await new Client(t.url).get('/me', { cookie: `id=${token}; id=${token}` });
      assert.equal(res.status, 401);
    });
  });
}
