import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { type Env, requireFreshAuth, session } from '../../packages/coatcheck/src/hono/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { Clock, SECRET } from '../support/app.js';
import { Client } from '../support/http.js';

describe('coatcheck/hono session API', () => {
  const store = new MemoryStore();
  const clock = new Clock();
  let url = '';
  let close = () => {};
  before(async () => {
    const app = new Hono<Env>();
    app.use(session({ secret: SECRET, store, now: clock.now, warn: () => {}, guessLimit: false }));
    app.post('/save', async (c) => {
      await c.get('session').save();
      return c.json({ id: c.get('session').id, stored: Boolean(await store.get(c.get('session').id)) });
    });
    app.post('/login', async (c) => {
      await c.get('session').login('ada');
      c.get('session').set('n', 1);
      return c.json({});
    });
    app.post('/reload', async (c) => {
      const current = c.get('session');
      current.set('n', 99);
      await current.reload();
      return c.json({ n: current.get('n') });
    });
    app.get('/touch', (c) => {
      c.get('session').touch();
      return c.json({});
    });
    app.post('/reauth', async (c) => {
      await c.get('session').reauthenticate();
      return c.json({});
    });
    app.get('/fresh', requireFreshAuth({ maxAgeMs: 60_000 }), (c) => c.json({}));
    app.post('/destroy-self', async (c) => {
      const current = c.get('session');
      return c.json({ revoked: await current.revokeSession(current.id), after: current.meta });
    });
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => {
      (server as unknown as { closeAllConnections(): void }).closeAllConnections();
      server.close();
    };
  });
  after(() => close());

  it('save() stores an empty session at once, under the id the handler saw', async () => {
    const client = new Client(url);
    const saved = (await client.post('/save')).json() as { id: string; stored: boolean };
    assert.equal(saved.stored, true);
    assert.ok(client.jar.get('id')?.startsWith(`${saved.id}.`));
  });

  it('reload() drops unsaved changes; touch() re-sends the cookie', async () => {
    const client = new Client(url);
    await client.post('/login');
    assert.deepEqual((await client.post('/reload')).json(), { n: 1 });
    const touched = await client.get('/touch');
    assert.equal(touched.setCookies.filter((line) => line.startsWith('id=')).length, 1);
  });

  it('reauthenticate() makes the sign-in fresh again and rotates the token', async () => {
    const client = new Client(url);
    await client.post('/login');
    clock.advance(120_000);
    assert.equal((await client.get('/fresh')).status, 401);
    const before = client.jar.get('id');
    await client.post('/reauth');
    assert.notEqual(client.jar.get('id'), before);
    assert.equal((await client.get('/fresh')).status, 200);
  });

  it('revokeSession() of the current session logs it out', async () => {
    const client = new Client(url);
    await client.post('/login');
    const answer = await client.post('/destroy-self');
    assert.deepEqual(answer.json(), { revoked: true, after: null });
    assert.equal(client.jar.get('id'), undefined, 'the cookie is cleared');
  });
});
