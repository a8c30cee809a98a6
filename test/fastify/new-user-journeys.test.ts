/**
 * A new user's Fastify journey over `fastify.inject`: `request.session.get`/`set`, requests that
 * only touch the cookie (and never read the data) between writes, sign-in, remember me, logout.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { embeddedStores } from '../support/stores.js';
import { startFastifyApp } from './app.js';

const DAY_MS = 86_400_000;

for (const factory of embeddedStores()) {
  describe(`a new user on Fastify (inject, ${factory.name})`, () => {
    after(() => factory.cleanup());

    it('keeps data through cookie-only requests, a remembered login and a logout', async () => {
      const running = await startFastifyApp(
        { store: factory.create() },
        (app) => {
          app.post('/remember', async (request) => {
            request.session.cookie.maxAge = 30 * DAY_MS;
            return { ok: true };
          });
          app.post('/touch', async (request) => {
            request.session.touch();
            return { ok: true };
          });
          app.get('/get/:key', async (request) => ({
            value: request.session.get((request.params as { key: string }).key) ?? null,
          }));
        },
        'inject',
      );
      try {
        // Bodiless POSTs send `{}`: Fastify answers 400 to an empty application/json body.
        const client = running.client();
        // login() keeps only `keepOnLogin` keys (returnTo): the data is written after it.
        await client.post('/login', { userId: 'u-1' });
        await client.post('/set', { cart: ['apple'], views: 1 });
        await client.post('/remember', {});
        await client.post('/touch', {});
        assert.deepEqual((await client.get('/get/cart')).json(), { value: ['apple'] });
        await client.post('/set', { views: 2 });
        await client.post('/remember', {});
        await client.post('/touch', {});
        const peek = (await client.get('/peek')).json() as {
          data: Record<string, unknown>;
          meta: { userId: string };
        };
        assert.deepEqual(peek.data, { cart: ['apple'], views: 2 });
        assert.equal(peek.meta.userId, 'u-1');

        const cookie = client.cookieHeader;
        await client.post('/logout', {});
        assert.equal((await client.get('/me')).status, 401);
        assert.equal((await client.get('/me', { cookie })).status, 401, 'the old cookie stays signed out');
        await client.post('/touch', {}, { cookie });
        assert.equal((await client.get('/me', { cookie })).status, 401);
      } finally {
        await running.close();
        await running.store.close();
      }
    });

    it('keeps unread data through a rotation and a login keeping it, neither reading it first', async () => {
      const running = await startFastifyApp(
        { store: factory.create() },
        (app) => {
          app.post('/rotate', async (request) => {
            await request.session.regenerate({ keep: true });
            return { ok: true };
          });
          app.post('/login-keep', async (request) => {
            await request.session.login('u-2', { keep: ['cart'] });
            return { ok: true };
          });
          app.post('/rotate-then-remember', async (request) => {
            await request.session.regenerate({ keep: true });
            request.session.cookie.maxAge = 30 * DAY_MS;
            return { ok: true };
          });
        },
        'inject',
      );
      try {
        const client = running.client();
        await client.post('/set', { cart: ['plum'], views: 7 });
        await client.post('/rotate', {});
        assert.deepEqual(((await client.get('/peek')).json() as { data: unknown }).data, {
          cart: ['plum'],
          views: 7,
        });
        await client.post('/login-keep', {});
        const peek = (await client.get('/peek')).json() as { data: unknown; meta: { userId: string } };
        assert.deepEqual(peek.data, { cart: ['plum'] });
        assert.equal(peek.meta.userId, 'u-2');
        await client.post('/rotate-then-remember', {});
        await client.post('/rotate', {});
        assert.deepEqual(((await client.get('/peek')).json() as { data: unknown }).data, { cart: ['plum'] });
        assert.equal((await client.get('/me')).status, 200);
      } finally {
        await running.close();
        await running.store.close();
      }
    });
  });
}
