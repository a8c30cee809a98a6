import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { serve } from '@hono/node-server';
import Fastify from 'fastify';
import { Hono } from 'hono';
import type { Removed } from '../../packages/coatcheck/src/core/store/store.js';
import { session as fastifySession } from '../../packages/coatcheck/src/fastify/index.js';
import { type Env, requireAuth, session } from '../../packages/coatcheck/src/hono/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SECRET } from '../support/app.js';
import { Client } from '../support/http.js';

/** A memory store whose `destroy` fails while `broken` is set, as a store going down mid-logout. */
class FlakyDestroyStore extends MemoryStore {
  broken = false;
  override async destroy(handle: string): Promise<Removed | null> {
    if (this.broken) throw new Error('store down');
    return super.destroy(handle);
  }
}

const closers: Array<() => void> = [];
after(() => {
  for (const close of closers) close();
});

async function honoApp(store: MemoryStore) {
  const app = new Hono<Env>();
  app.use(session({ secret: SECRET, store, warn: () => {}, guessLimit: false }));
  app.post('/login', async (c) => {
    await c.get('session').login('ada');
    return c.json({});
  });
  app.get('/me', requireAuth(), (c) => c.json({ ok: true }));
  app.get('/logout', (c) => {
    void c.get('session').logout();
    return c.redirect('/');
  });
  app.post('/reauth', requireAuth(), async (c) => {
    await c.get('session').reauthenticate();
    return c.json({});
  });
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  closers.push(() => server.close());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('Hono: handler mistakes and races', () => {
  it('an un-awaited logout signs out; with the store failing it is a 503, never a crash', async () => {
    const store = new FlakyDestroyStore();
    const url = await honoApp(store);
    const client = new Client(url);
    await client.post('/login');
    assert.equal((await client.get('/logout')).status, 302);
    assert.equal((await client.get('/me')).status, 401);

    const again = new Client(url);
    await again.post('/login');
    store.broken = true;
    const out = await again.get('/logout');
    store.broken = false;
    assert.equal(out.status, 503);
  });

  it('two tabs re-authenticating at once: 200 and 409 (or 401), never 500', async () => {
    const url = await honoApp(new MemoryStore());
    for (let round = 0; round < 10; round++) {
      const client = new Client(url);
      await client.post('/login');
      const cookie = `id=${client.jar.get('id')}`;
      const tabs = await Promise.all([
        new Client(url, { cookie }).post('/reauth'),
        new Client(url, { cookie }).post('/reauth'),
      ]);
      for (const tab of tabs) assert.ok([200, 401, 409].includes(tab.status), `${tab.status} ${tab.text}`);
    }
  });
});

describe('Fastify: handler mistakes', () => {
  it('`request.session.destroy(); reply.redirect()` without await signs the user out', async () => {
    const app = Fastify();
    await app.register(fastifySession, {
      secret: SECRET,
      store: new MemoryStore(),
      warn: () => {},
      guessLimit: false,
    });
    app.post('/login', async (request) => {
      await request.session.login('ada');
      request.session.set('role', 'admin');
      return {};
    });
    app.get('/me', async (request, reply) => reply.code(request.session.meta?.userId ? 200 : 401).send({}));
    app.get('/logout', (request, reply) => {
      void request.session.destroy();
      return reply.redirect('/');
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => void app.close());
    const address = app.server.address() as AddressInfo;
    const client = new Client(`http://127.0.0.1:${address.port}`);
    await client.post('/login');
    const out = await client.get('/logout');
    assert.equal(out.status, 302);
    assert.deepEqual(
      out.setCookies.filter((line) => /^id=[^;]/.test(line)),
      [],
      'a new token for the logged-out data',
    );
    assert.equal((await client.get('/me')).status, 401);
  });
});
