/**
 * coatcheck/hono on @hono/node-server: every response of a signed-in session, and every response
 * that sets or clears the session cookie, is `no-store` (S16, S28) whatever the handler answers with
 * and whatever Cache-Control it sets; logout also sends Clear-Site-Data; an anonymous response that
 * changes no cookie keeps the handler's headers; `meta` sees a sign-out made through the data.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Hono } from 'hono';
import { stream, streamText } from 'hono/streaming';
import { type Env, session } from '../../packages/coatcheck/src/hono/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SECRET } from '../support/app.js';
import { serveHono } from '../support/hono.js';
import { Client } from '../support/http.js';

const CACHING = ['public, max-age=600', 'private', 'no-store, private', 'No-Store', 'max-age=0'];

describe('coatcheck/hono: no-store however the handler answers', () => {
  const store = new MemoryStore();
  let url = '';
  let close = () => {};

  before(async () => {
    const app = new Hono<Env>();
    app.use(session({ secret: SECRET, store, warn: () => {}, guessLimit: false, proxy: true }));
    // Registered after the session middleware: runs inside it and sets headers after the handler.
    app.use('/inner/*', async (c, next) => {
      await next();
      c.header('Cache-Control', 'public, max-age=600');
    });
    app.onError((error, c) => {
      if (c.req.query('raw') === '1')
        return new Response('raw error', { status: 500, headers: { 'Cache-Control': 'public, max-age=60' } });
      c.header('Cache-Control', 'public, max-age=60');
      return c.text(`error: ${error.message}`, 500);
    });
    app.notFound((c) => c.text('nothing here', 404, { 'Cache-Control': 'public, max-age=60' }));
    app.post('/login', async (c) => {
      await c.get('session').login('alice');
      c.get('session').set('passport', { user: 'alice' });
      c.header('Cache-Control', 'public, max-age=600');
      return c.redirect('/home');
    });
    app.post('/logout', async (c) => {
      await c.get('session').logout();
      return new Response('bye', { headers: { 'Cache-Control': 'public, max-age=600' } });
    });
    app.post('/regenerate', async (c) => {
      await c.get('session').regenerate();
      return c.body('ok', 200, { 'Cache-Control': 'private' });
    });
    app.post('/keep', async (c) => {
      await c.get('session').regenerate({ keep: true });
      c.header('Cache-Control', 'public');
      return c.text('ok');
    });
    for (const [i, value] of CACHING.entries()) {
      app.get(`/json/${i}`, (c) => c.json({}, 200, { 'Cache-Control': value }));
      app.get(`/text/${i}`, (c) => {
        c.header('Cache-Control', value);
        return c.text('t');
      });
      app.get(`/html/${i}`, (c) => {
        c.header('Cache-Control', value);
        return c.html('<p>h</p>');
      });
      app.get(`/redirect/${i}`, (c) => {
        c.header('Cache-Control', value);
        return c.redirect('/elsewhere', 302);
      });
      app.get(`/raw/${i}`, () => new Response('raw', { headers: { 'Cache-Control': value } }));
      app.get(`/raw-redirect/${i}`, () => Response.redirect('http://example.com/', 302));
      app.get(`/stream/${i}`, (c) => {
        c.header('Cache-Control', value);
        return stream(c, async (s) => {
          await s.write('a');
          await s.write('b');
        });
      });
      app.get(`/stream-text/${i}`, (c) => {
        c.header('Cache-Control', value);
        return streamText(c, async (s) => {
          await s.writeln('line');
        });
      });
      app.get(`/throw/${i}`, (c) => {
        c.header('Cache-Control', value);
        throw new Error('boom');
      });
      app.get(`/not-found/${i}`, (c) => {
        c.header('Cache-Control', value);
        return c.notFound();
      });
      app.get(`/inner/${i}`, (c) => c.text('inner'));
    }
    app.get('/deleted', (c) => {
      c.header('Cache-Control', undefined);
      return c.text('deleted');
    });
    app.get('/deleted-raw', (c) => {
      c.header('Cache-Control', undefined);
      return new Response('deleted', { headers: {} });
    });
    const sub = new Hono<Env>();
    sub.get('/page', (c) => c.text('sub', 200, { 'Cache-Control': 'public, max-age=600' }));
    sub.get('/raw', () => new Response('sub raw', { headers: { 'Cache-Control': 'public' } }));
    app.route('/sub', sub);
    app.get('/me', (c) => c.json({ userId: c.get('session').meta?.userId ?? null }));
    app.post('/passport-out', async (c) => {
      const s = c.get('session');
      s.delete('passport');
      const before = s.meta?.userId ?? null;
      await s.save();
      return c.json({ before, afterSave: s.meta?.userId ?? null });
    });
    ({ url, close } = await serveHono(app));
  });
  after(async () => {
    close();
    await store.close();
  });

  const routes = (i: number) =>
    [
      'json',
      'text',
      'html',
      'redirect',
      'raw',
      'raw-redirect',
      'stream',
      'stream-text',
      'throw',
      'not-found',
      'inner',
    ].map((r) => `/${r}/${i}`);

  it('S28 every signed-in response is no-store, whatever the handler answers and sets', async () => {
    const client = new Client(url);
    await client.post('/login', {});
    const paths = [
      ...CACHING.flatMap((_, i) => routes(i)),
      '/throw/0?raw=1',
      '/no-such-route',
      '/deleted',
      '/deleted-raw',
      '/sub/page',
      '/sub/raw',
      '/sub/none',
    ];
    for (const path of paths) {
      const res = await client.get(path);
      assert.equal(res.headers.get('cache-control'), 'no-store', path);
      assert.equal(res.headers.get('set-cookie'), null, path);
    }
  });

  it("an anonymous response that changes no cookie keeps the handler's Cache-Control", async () => {
    const client = new Client(url);
    for (const [i, value] of CACHING.entries()) {
      assert.equal((await client.get(`/text/${i}`)).headers.get('cache-control'), value);
      assert.equal((await client.get(`/raw/${i}`)).headers.get('cache-control'), value);
      assert.equal((await client.get(`/stream/${i}`)).headers.get('cache-control'), value);
    }
    assert.equal((await client.get('/sub/page')).headers.get('cache-control'), 'public, max-age=600');
    assert.equal((await client.get('/inner/0')).headers.get('cache-control'), 'public, max-age=600');
    assert.equal(client.jar.size, 0);
  });

  it('S16 login, logout and regenerate responses carry the cookie and no-store; logout clears site data', async () => {
    const client = new Client(url);
    const login = await client.post('/login', {});
    assert.equal(login.status, 302);
    assert.equal(login.setCookies.length, 1);
    assert.equal(login.headers.get('cache-control'), 'no-store');
    const keep = await client.post('/keep', {});
    assert.equal(keep.setCookies.length, 1);
    assert.equal(keep.headers.get('cache-control'), 'no-store');
    const regenerate = await client.post('/regenerate', {});
    assert.equal(regenerate.setCookies.length, 1);
    assert.equal(regenerate.headers.get('cache-control'), 'no-store');
    await client.post('/login', {});
    const logout = await client.post('/logout', {});
    assert.equal(logout.setCookies.length, 1);
    assert.match(logout.setCookies[0]!, /Expires=Thu, 01 Jan 1970|Max-Age=0/i);
    assert.equal(logout.headers.get('cache-control'), 'no-store');
    assert.equal(logout.headers.get('clear-site-data'), '"cache", "storage"');
    assert.equal(client.jar.size, 0);
  });

  it('S16 behind a proxy saying https, login sets a Secure __Host- cookie with no-store', async () => {
    for (const proto of ['https', 'HTTPS', 'https, http']) {
      const client = new Client(url, { 'x-forwarded-proto': proto });
      const login = await client.post('/login', {});
      assert.match(login.setCookies[0]!, /^__Host-id=.*; Secure/i, proto);
      assert.equal(login.headers.get('cache-control'), 'no-store');
      const read = await client.get('/text/0');
      assert.equal(read.headers.get('cache-control'), 'no-store');
    }
  });

  it('meta shows signed out once the handler removed the passport key, before and after save', async () => {
    const client = new Client(url);
    await client.post('/login', {});
    assert.deepEqual((await client.get('/me')).json(), { userId: 'alice' });
    const out = await client.post('/passport-out', {});
    assert.deepEqual(out.json(), { before: null, afterSave: null });
    assert.deepEqual((await client.get('/me')).json(), { userId: null });
  });
});
