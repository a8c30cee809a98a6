import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import formbody from '@fastify/formbody';
import express from 'express';
import * as ex from '../../packages/coatcheck/src/express/index.js';
import {
  csrfField,
  csrfProtection,
  requireAuth,
  requireFreshAuth,
  requireRole,
  requireStepUp,
} from '../../packages/coatcheck/src/fastify/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { Client, listen, type Running } from '../support/http.js';
import { type FastifyTestApp, SECRET, startFastifyApp } from './app.js';

const ORIGIN = 'http://app.test';

for (const transport of ['http', 'inject'] as const) {
  describe(`Fastify guards (preHandler) answer as the Express guards do (${transport})`, () => {
    let t: FastifyTestApp;
    let control: Running;
    let clock = Date.now();
    before(async () => {
      t = await startFastifyApp(
        { now: () => clock },
        (app) => {
          app.get('/account', { preHandler: requireAuth({ redirectTo: '/login' }) }, async () => ({
            ok: true,
          }));
          app.get('/admin', { preHandler: requireRole('admin') }, async () => ({ ok: true }));
          app.get('/password', { preHandler: requireFreshAuth({ maxAgeMs: 60_000 }) }, async () => ({
            ok: true,
          }));
          app.get('/keys', { preHandler: requireStepUp() }, async () => ({ ok: true }));
          app.post('/step-up', async (request) => {
            await request.session.stepUp(2);
            return { ok: true };
          });
        },
        transport,
      );
      // The Express guards as the control: same statuses, bodies and headers.
      const e = express();
      e.use(ex.session({ secret: SECRET, store: new MemoryStore(), warn: () => {} }));
      e.get('/account', ex.requireAuth({ redirectTo: '/login' }), (_req, res) => res.json({ ok: true }));
      e.get('/keys', ex.requireStepUp(), (_req, res) => res.json({ ok: true }));
      control = await listen(e);
    });
    after(async () => {
      await t.close();
      await control.close();
    });

    it('refuses signed-out requests with the Express guard body, or redirects a page load', async () => {
      for (const path of ['/account', '/keys']) {
        const ours = await t.client().get(path);
        const theirs = await new Client(control.url).get(path);
        assert.equal(ours.status, 401);
        assert.equal(ours.status, theirs.status);
        assert.deepEqual(ours.json(), theirs.json());
        assert.equal(ours.headers.get('cache-control'), theirs.headers.get('cache-control'));
        assert.equal(ours.headers.get('content-type'), theirs.headers.get('content-type'));
      }
      const page = await t.client().get('/account?tab=1', { accept: 'text/html' });
      const controlPage = await new Client(control.url).get('/account?tab=1', { accept: 'text/html' });
      assert.equal(page.status, 303);
      assert.equal(page.headers.get('location'), '/login?returnTo=%2Faccount%3Ftab%3D1');
      assert.equal(page.headers.get('location'), controlPage.headers.get('location'));
    });

    it('requireRole: 401 signed out, 403 without the role, 200 with it', async () => {
      assert.equal((await t.client().get('/admin')).status, 401);
      const user = t.client();
      await user.post('/login', { userId: 'u1', role: 'user' });
      const refused = await user.get('/admin');
      assert.equal(refused.status, 403);
      assert.deepEqual(refused.json(), { error: 'forbidden', message: 'You do not have access to this.' });
      const admin = t.client();
      await admin.post('/login', { userId: 'u2', role: 'admin' });
      assert.equal((await admin.get('/admin')).status, 200);
    });

    it('requireFreshAuth: passes right after login, 401 reauth_required once stale (S39)', async () => {
      const c = t.client();
      await c.post('/login', { userId: 'u3' });
      assert.equal((await c.get('/password')).status, 200);
      clock += 61_000;
      const stale = await c.get('/password');
      assert.equal(stale.status, 401);
      assert.equal((stale.json() as { error: string }).error, 'reauth_required');
    });

    it('requireStepUp: 401 step_up_required with the level until stepUp(2) (S40)', async () => {
      const c = t.client();
      await c.post('/login', { userId: 'u4' });
      const refused = await c.get('/keys');
      assert.equal(refused.status, 401);
      assert.deepEqual(refused.json(), {
        error: 'step_up_required',
        message: 'Confirm it is you with your second factor to continue.',
        level: 2,
      });
      await c.post('/step-up', {});
      assert.equal((await c.get('/keys')).status, 200);
    });
  });
}

for (const transport of ['http', 'inject'] as const) {
  describe(`Fastify CSRF hook: the layered policy of the Express csrf() (${transport})`, () => {
    let t: FastifyTestApp;
    before(async () => {
      t = await startFastifyApp(
        {},
        async (app) => {
          await app.register(formbody);
          app.addHook('preValidation', csrfProtection({ origins: [ORIGIN] }));
          app.get('/token', async (request) => ({ token: request.csrfToken() }));
          app.get('/form', async (request, reply) =>
            reply.type('text/html').send(`<form method="post">${csrfField(request)}</form>`),
          );
          app.post('/comment', async () => ({ ok: true }));
          app.post('/api/items', async () => ({ ok: true }));
        },
        transport,
      );
    });
    after(() => t.close());
    const sameOrigin = { origin: ORIGIN, 'sec-fetch-site': 'same-origin' };

    it('accepts a same-origin POST carrying the header token', async () => {
      const c = t.client(sameOrigin);
      const { token } = (await c.get('/token')).json() as { token: string };
      assert.ok(c.jar.get('id'), 'issuing a token starts a pre-session (S55)');
      const res = await c.post('/comment', { text: 'hi' }, { 'x-csrf-token': token });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('vary'), 'Sec-Fetch-Site, Origin');
    });

    it('accepts the form field of a urlencoded form', async () => {
      const c = t.client(sameOrigin);
      const page = await c.get('/form');
      const token = /value="([^"]+)"/.exec(page.text)![1]!;
      const res = await c.request('/comment', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `_csrf=${token}&text=hi`,
      });
      assert.equal(res.status, 200);
    });

    it('rejects a POST without a token, and a cross-site one, with 403 (events logged)', async () => {
      const c = t.client(sameOrigin);
      await c.get('/token');
      const missing = await c.post('/comment', { text: 'x' });
      assert.equal(missing.status, 403);
      assert.deepEqual(missing.json(), { error: 'csrf' });
      const { token } = (await c.get('/token')).json() as { token: string };
      const cross = await c.post(
        '/comment',
        { text: 'x' },
        { 'x-csrf-token': token, origin: 'https://evil.test', 'sec-fetch-site': 'cross-site' },
      );
      assert.equal(cross.status, 403);
      const reasons = t.events.filter((e) => e.type === 'csrf.reject').map((e) => e.reason);
      assert.ok(reasons.includes('missing-token'));
      assert.equal(reasons.length, 2);
    });

    it('rejects a form POST to an API route with 415 (S58)', async () => {
      const c = t.client(sameOrigin);
      const { token } = (await c.get('/token')).json() as { token: string };
      const res = await c.request('/api/items', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-csrf-token': token },
        body: 'a=1',
      });
      assert.equal(res.status, 415);
    });

    it('refuses a token issued before login: rotation replaces the secret (S54)', async () => {
      const c = t.client(sameOrigin);
      const { token } = (await c.get('/token')).json() as { token: string };
      assert.equal((await c.post('/login', { userId: 'z' }, { 'x-csrf-token': token })).status, 200);
      assert.equal((await c.post('/comment', {}, { 'x-csrf-token': token })).status, 403);
      const fresh = (await c.get('/token')).json() as { token: string };
      assert.equal((await c.post('/comment', {}, { 'x-csrf-token': fresh.token })).status, 200);
    });
  });
}
