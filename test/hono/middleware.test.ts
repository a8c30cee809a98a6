import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import {
  csrf,
  csrfField,
  type Env,
  type HonoSessionOptions,
  requireAuth,
  SessionConfigError,
  SessionStateError,
  session,
} from '../../packages/coatcheck/src/hono/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SECRET } from '../support/app.js';
import { Client } from '../support/http.js';

const servers: Array<() => void> = [];
after(() => {
  for (const close of servers) close();
});

/** Serves `app` on a free loopback port through @hono/node-server. */
async function start(app: Hono<Env>): Promise<string> {
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  servers.push(() => {
    (server as unknown as { closeAllConnections(): void }).closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function appWith(options: Partial<HonoSessionOptions> = {}): Hono<Env> {
  const app = new Hono<Env>();
  app.use(session({ secret: SECRET, store: new MemoryStore(), warn: () => {}, ...options }));
  app.post('/login', async (c) => {
    await c.get('session').login('alice');
    return c.redirect('/me', 303);
  });
  app.get('/me', requireAuth({ redirectTo: '/sign-in' }), (c) =>
    c.text(`hello ${c.get('session').meta?.userId}`),
  );
  return app;
}

describe('coatcheck/hono middleware', () => {
  it('sets the cookie on a redirect the handler returns, with no-store, before it leaves', async () => {
    const client = new Client(await start(appWith()));
    const login = await client.post('/login');
    assert.equal(login.status, 303);
    assert.equal(login.setCookies.filter((line) => line.startsWith('id=')).length, 1);
    assert.equal(login.headers.get('cache-control'), 'no-store');
    assert.equal((await client.get('/me')).text, 'hello alice');
  });

  it('keeps the handler’s own cookies and headers beside the session’s', async () => {
    const app = appWith();
    app.post('/both', async (c) => {
      c.get('session').set('a', 1);
      return new Response('ok', {
        headers: [
          ['set-cookie', 'theme=dark; Path=/'],
          ['x-app', '1'],
        ],
      });
    });
    const client = new Client(await start(app));
    const answer = await client.post('/both');
    assert.equal(answer.headers.get('x-app'), '1');
    assert.deepEqual(
      answer.setCookies.map((line) => line.split('=')[0]),
      ['theme', 'id'],
    );
  });

  it('stores the session before a streamed body starts', async () => {
    const store = new MemoryStore();
    const app = appWith({ store });
    app.get('/stream', (c) => {
      const current = c.get('session');
      current.set('streamed', true);
      const handle = current.id;
      // highWaterMark 0: pull runs only when the client reads the body, after the head is sent.
      const body = new ReadableStream(
        {
          async pull(controller) {
            const stored = await store.get(handle);
            controller.enqueue(new TextEncoder().encode(stored ? 'stored' : 'missing'));
            controller.close();
          },
        },
        { highWaterMark: 0 },
      );
      return c.body(body);
    });
    const client = new Client(await start(app));
    const answer = await client.get('/stream');
    assert.equal(answer.text, 'stored');
    assert.ok(client.jar.get('id'), 'the cookie came with the stream');
  });

  it('answers a store failure through onStoreError, without the handler’s cookies', async () => {
    const store = new MemoryStore();
    const app = appWith({
      store,
      onStoreError: (_error, c) => c.json({ error: 'try later' }, 503, { 'Retry-After': '9' }),
    });
    app.post('/write', (c) => {
      c.get('session').set('a', 1);
      c.header('Set-Cookie', 'theme=dark');
      return c.text('ok');
    });
    store.create = () => Promise.reject(new Error('down'));
    const answer = await new Client(await start(app)).post('/write');
    assert.equal(answer.status, 503);
    assert.equal(answer.headers.get('retry-after'), '9');
    assert.deepEqual(answer.setCookies, []);
  });

  it('S44 answers 429 once an address sends too many invalid cookies', async () => {
    const client = new Client(await start(appWith({ guessLimit: { max: 3, windowMs: 60_000 } })), {
      cookie: 'id=forged.forged.forged',
    });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await client.get('/me')).status);
    assert.deepEqual(statuses.slice(0, 3), [401, 401, 401]);
    assert.equal(statuses.at(-1), 429);
  });

  it('guards send browsers to the sign-in page with returnTo', async () => {
    const answer = await new Client(await start(appWith())).get('/me?x=1', { accept: 'text/html' });
    assert.equal(answer.status, 303);
    assert.equal(answer.headers.get('location'), '/sign-in?returnTo=%2Fme%3Fx%3D1');
  });

  it('reads the CSRF token from a form field, and the handler can still read the form', async () => {
    const app = appWith();
    app.use(csrf({ origins: ['http://app.test'] }));
    app.get('/form', (c) => c.html(`<form method="post">${csrfField(c)}</form>`));
    app.post('/form', async (c) => c.text(String((await c.req.parseBody()).name)));
    const client = new Client(await start(app));
    const page = await client.get('/form');
    const token = /value="([^"]+)"/.exec(page.text)![1]!;
    const form = (body: string) =>
      client.request('/form', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
    assert.equal((await form(`_csrf=${token}&name=ada`)).text, 'ada');
    assert.equal((await form('_csrf=nope&name=ada')).status, 403);
  });

  it('refuses prototype keys in data (S51) and bad options at start-up', () => {
    assert.throws(
      () => session({ secret: SECRET, store: new MemoryStore(), onStoreError: 'x' as never }),
      SessionConfigError,
    );
    const app = appWith();
    let thrown: unknown;
    app.post('/proto', (c) => {
      try {
        c.get('session').set('__proto__', { admin: true });
      } catch (error) {
        thrown = error;
      }
      return c.text('ok');
    });
    return start(app)
      .then((url) => new Client(url).post('/proto'))
      .then(() => assert.ok(thrown instanceof SessionStateError));
  });
});
