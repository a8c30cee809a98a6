/**
 * coatcheck/hono on @hono/node-server: `meta` on a request that never reads the session's data
 * neither parses nor serialises that data (an authenticated read stays free of JSON work), and a
 * request that does read it still sees the data's sign-out.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Hono } from 'hono';
import { type Env, session } from '../../packages/coatcheck/src/hono/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SECRET } from '../support/app.js';
import { serveHono } from '../support/hono.js';
import { Client } from '../support/http.js';
import { jsonCalls } from '../support/json-calls.js';

describe('coatcheck/hono: meta of a session whose data the request never reads', () => {
  const store = new MemoryStore();
  let url = '';
  let close = () => {};

  before(async () => {
    const app = new Hono<Env>();
    app.use(session({ secret: SECRET, store, warn: () => {}, guessLimit: false }));
    app.post('/login', async (c) => {
      await c.get('session').login('alice');
      c.get('session').set('cart', ['apple-marker']).set('passport', { user: 'alice' });
      return c.json({});
    });
    app.get('/me', (c) => c.json({ userId: c.get('session').meta?.userId ?? null }));
    app.post('/passport-out', (c) => {
      c.get('session').delete('passport');
      return c.json({ userId: c.get('session').meta?.userId ?? null });
    });
    ({ url, close } = await serveHono(app));
  });
  after(async () => {
    close();
    await store.close();
  });

  it('answers who is signed in without parsing or serialising the data', async () => {
    const client = new Client(url);
    assert.equal((await client.post('/login', {})).status, 200);
    let userId: unknown;
    const calls = await jsonCalls(
      (text) => text.includes('apple-marker'),
      async () => {
        userId = ((await client.get('/me')).json() as { userId: unknown }).userId;
      },
    );
    assert.equal(userId, 'alice');
    assert.deepEqual(calls, { parsed: 0, serialised: 0 });
  });

  it('still shows a sign-out the data made in the same request (Passport logout)', async () => {
    const client = new Client(url);
    await client.post('/login', {});
    assert.equal(((await client.post('/passport-out', {})).json() as { userId: unknown }).userId, null);
    assert.equal(((await client.get('/me')).json() as { userId: unknown }).userId, null);
  });
});
