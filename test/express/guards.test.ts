import assert from 'node:assert/strict';
import { it } from 'node:test';
import express from 'express';
import {
  requireAuth,
  requireFreshAuth,
  requireRole,
  session,
} from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SECRET } from '../support/app.js';
import { Client, listen } from '../support/http.js';

it('guards answer 401/403 JSON with a message, or send browsers to the sign-in page', async () => {
  const app = express();
  app.use(session({ secret: SECRET, store: new MemoryStore(), warn: () => {} }) as never);
  app.post('/login', async (req, res) => {
    await req.session.login('alice');
    req.session.role = 'user';
    res.end();
  });
  app.get('/private', requireAuth({ redirectTo: '/login' }), (_req, res) => void res.end('private'));
  app.get('/admin', requireRole('admin'), (_req, res) => void res.end('admin'));
  app.get(
    '/fresh',
    requireFreshAuth({ maxAgeMs: 60_000, redirectTo: '/reauth' }),
    (_req, res) => void res.end('fresh'),
  );
  const running = await listen(app as never);
  try {
    const html = { accept: 'text/html' };
    const anonymous = new Client(running.url);
    const page = await anonymous.get('/private?x=1', html);
    assert.equal(page.status, 303);
    assert.equal(page.headers.get('location'), '/login?returnTo=%2Fprivate%3Fx%3D1');
    const api = await anonymous.get('/private');
    assert.equal(api.status, 401);
    assert.deepEqual(api.json(), { error: 'unauthenticated', message: 'Sign in to continue.' });
    assert.equal((await anonymous.request('/private', { method: 'POST', headers: html })).status, 404);

    const alice = new Client(running.url);
    await alice.request('/login', { method: 'POST' });
    assert.equal((await alice.get('/private', html)).text, 'private');
    const forbidden = await alice.get('/admin');
    assert.equal(forbidden.status, 403);
    assert.equal((forbidden.json() as { error: string }).error, 'forbidden');
    assert.equal((await alice.get('/fresh', html)).text, 'fresh');
  } finally {
    await running.close();
  }
});
