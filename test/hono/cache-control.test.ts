/**
 * coatcheck/hono on @hono/node-server: a signed-in session's responses are `no-store` (S16, S28)
 * however the handler answers (c.json, its own Cache-Control, a Response it builds itself), and an
 * anonymous response keeps the handler's caching.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Hono } from 'hono';
import { type Env, session } from '../../packages/coatcheck/src/hono/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SECRET } from '../support/app.js';
import { serveHono } from '../support/hono.js';
import { Client } from '../support/http.js';

describe('coatcheck/hono: Cache-Control of signed-in and anonymous responses', () => {
  const store = new MemoryStore();
  let url = '';
  let close = () => {};

  before(async () => {
    const app = new Hono<Env>();
    app.use(session({ secret: SECRET, store, warn: () => {}, guessLimit: false }));
    app.post('/login', async (c) => {
      await c.get('session').login(c.req.query('user') ?? 'alice');
      return c.json({});
    });
    app.get('/json', (c) => c.json({ user: c.get('session').meta?.userId ?? null }));
    app.get('/public-cache', (c) => {
      c.header('Cache-Control', 'public, max-age=600');
      return c.text('cacheable?');
    });
    app.get('/raw', () => new Response('raw', { headers: { 'Cache-Control': 'max-age=600' } }));
    ({ url, close } = await serveHono(app));
  });
  after(async () => {
    close();
    await store.close();
  });

  it('S28 a signed-in read answered with c.json is no-store and sends no cookie', async () => {
    const client = new Client(url);
    await client.post('/login', {});
    const read = await client.get('/json');
    assert.deepEqual(read.json(), { user: 'alice' });
    assert.equal(read.headers.get('cache-control'), 'no-store');
    assert.equal(read.headers.get('set-cookie'), null);
  });

  it("S28 the handler's own Cache-Control never makes a signed-in response cacheable", async () => {
    const client = new Client(url);
    await client.post('/login', {});
    assert.equal((await client.get('/public-cache')).headers.get('cache-control'), 'no-store');
    assert.equal((await client.get('/raw')).headers.get('cache-control'), 'no-store');
  });

  it("an anonymous response keeps the handler's Cache-Control", async () => {
    const client = new Client(url);
    assert.equal((await client.get('/public-cache')).headers.get('cache-control'), 'public, max-age=600');
    assert.equal((await client.get('/raw')).headers.get('cache-control'), 'max-age=600');
  });
});
