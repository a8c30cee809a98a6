import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SessionStoreError } from '../../packages/coatcheck/src/fastify/index.js';
import { failingStores } from '../support/failing-stores.js';
import { startFastifyApp } from './app.js';

// Every backend: a closed SQLite database, a stopped Redis connection, a closed PostgreSQL pool.
const backends = failingStores();

for (const [backend, transport] of backends.flatMap(
  (b) =>
    [
      [b, 'http'],
      [b, 'inject'],
    ] as const,
)) {
  describe(`Fastify plugin: a failing ${backend.name} store (S49, ${transport})`, {
    skip: backend.skip,
  }, () => {
    it('answers 503 when loading fails, and keeps serving', async () => {
      const opened = await backend.open();
      const t = await startFastifyApp(
        { store: opened.store },
        (app) => {
          app.get('/health', async () => 'ok');
        },
        transport,
      );
      try {
        const c = t.client();
        await c.post('/login', { userId: 'alice' });
        await opened.fail();
        const res = await c.get('/me');
        assert.equal(res.status, 503);
        assert.equal(res.text, 'Service Unavailable');
        assert.equal(res.headers.get('retry-after'), '5');
        assert.deepEqual(res.setCookies, []);
        // No session cookie, no store call: the process is alive and answers.
        assert.equal((await t.client().get('/health')).text, 'ok');
      } finally {
        await t.close();
        await opened.close();
      }
    });

    it('answers 503 instead of the handler response when the commit fails', async () => {
      const opened = await backend.open();
      const t = await startFastifyApp({ store: opened.store }, undefined, transport);
      try {
        await opened.fail();
        const res = await t.client().post('/set', { cart: ['a'] });
        assert.equal(res.status, 503);
        assert.equal(res.text, 'Service Unavailable');
        assert.deepEqual(res.setCookies, []);
      } finally {
        await t.close();
        await opened.close();
      }
    });

    it('answers 503 when the handler swallowed a failed login', async () => {
      const opened = await backend.open();
      const t = await startFastifyApp(
        { store: opened.store },
        (app) => {
          app.post('/login-quiet', async (request) => {
            await request.session.login('bob')?.catch(() => {});
            return { ok: true };
          });
        },
        transport,
      );
      try {
        const c = t.client();
        await c.post('/set', { cart: ['b'] });
        await opened.fail();
        const res = await c.post('/login-quiet', {});
        assert.equal(res.status, 503);
      } finally {
        await t.close();
        await opened.close();
      }
    });

    it("hands the error to Fastify's error handler with onStoreError: 'error'", async () => {
      const opened = await backend.open();
      const seen: unknown[] = [];
      const t = await startFastifyApp(
        { store: opened.store, onStoreError: 'error' },
        (app) => {
          app.setErrorHandler((error, _request, reply) => {
            seen.push(error);
            return reply.code(500).send({ failed: (error as SessionStoreError).code });
          });
        },
        transport,
      );
      try {
        const c = t.client();
        await c.post('/set', { cart: ['c'] });
        await opened.fail();
        const load = await c.get('/peek');
        assert.equal(load.status, 500);
        assert.deepEqual(load.json(), { failed: 'SESSION_STORE' });
        const write = await t.client().post('/set', { cart: ['d'] });
        assert.equal(write.status, 500);
        assert.ok(seen.length >= 2 && seen.every((error) => error instanceof SessionStoreError));
      } finally {
        await t.close();
        await opened.close();
      }
    });

    it('answers with an onStoreError function', async () => {
      const opened = await backend.open();
      const t = await startFastifyApp(
        {
          store: opened.store,
          onStoreError: (_error, _request, reply) => {
            reply.code(500).header('content-type', 'text/plain');
            return 'sessions are down';
          },
        },
        undefined,
        transport,
      );
      try {
        await opened.fail();
        const res = await t.client().post('/set', { cart: ['e'] });
        assert.equal(res.status, 500);
        assert.equal(res.text, 'sessions are down');
      } finally {
        await t.close();
        await opened.close();
      }
    });
  });
}
