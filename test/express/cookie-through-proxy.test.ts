/**
 * `req.session.cookie` read through a Proxy of the session (what change-tracking wrappers such as
 * on-change or a MobX observable make) or through an object whose prototype is the session. With
 * express-session the cookie is a plain own property, so both reads give it; coatcheck's cookie
 * accessor must not depend on the receiver being the Session object itself.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import { session as expressSession } from '../../packages/coatcheck/src/express/index.js';
import { session as fastifySession } from '../../packages/coatcheck/src/fastify/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SECRET } from '../support/app.js';
import { Client, listen } from '../support/http.js';

/** What each way of reading the cookie gave: its path, or the error thrown. */
function cookieReads(session: object): Record<string, unknown> {
  const read = (make: () => object) => {
    try {
      return (make() as { cookie: { path: string } }).cookie.path;
    } catch (error) {
      return String(error);
    }
  };
  return {
    direct: read(() => session),
    proxy: read(() => new Proxy(session, {})),
    inherited: read(() => Object.create(session) as object),
    spread: read(() => ({ ...session })),
  };
}

const EXPECTED = { direct: '/', proxy: '/', inherited: '/', spread: '/' };

describe('the session cookie read through another receiver', () => {
  const store = new MemoryStore();
  after(() => store.close());

  it('Express: a Proxy of req.session and an object inheriting from it both read the cookie', async () => {
    const app = express();
    app.use(expressSession({ secret: SECRET, store, warn: () => {} }));
    app.get('/reads', (req, res) => {
      (req.session as unknown as Record<string, unknown>).views = 1;
      res.json(cookieReads(req.session));
    });
    const running = await listen(app as never);
    try {
      const client = new Client(running.url);
      assert.deepEqual((await client.get('/reads')).json(), EXPECTED);
      assert.deepEqual((await client.get('/reads')).json(), EXPECTED, 'on a stored session too');
    } finally {
      await running.close();
    }
  });

  it('Fastify: a Proxy of request.session and an object inheriting from it both read the cookie', async () => {
    const app = Fastify();
    await app.register(fastifySession, { secret: SECRET, store, warn: () => {} });
    app.get('/reads', async (request) => {
      (request.session as unknown as Record<string, unknown>).views = 1;
      return cookieReads(request.session);
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = app.server.address() as { port: number };
      const client = new Client(`http://127.0.0.1:${port}`);
      assert.deepEqual((await client.get('/reads')).json(), EXPECTED);
      assert.deepEqual((await client.get('/reads')).json(), EXPECTED, 'on a stored session too');
    } finally {
      await app.close();
    }
  });
});
