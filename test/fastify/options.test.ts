import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { SessionConfigError, session } from '../../packages/coatcheck/src/fastify/index.js';
import { Client } from '../support/http.js';
import { handleIn, startFastifyApp } from './app.js';

describe('Fastify plugin options', () => {
  it('saveUninitialized: true stores an empty session on the first request', async () => {
    const t = await startFastifyApp({ saveUninitialized: true });
    try {
      const c = new Client(t.url);
      const res = await c.get('/peek');
      assert.equal(res.setCookies.length, 1);
      assert.ok(await t.store.get(handleIn(c.jar.get('id'))));
    } finally {
      await t.close();
    }
  });

  it('rolling: true re-sends the cookie on every response of a stored session', async () => {
    for (const rolling of [false, true]) {
      const t = await startFastifyApp({ rolling });
      try {
        const c = new Client(t.url);
        await c.post('/set', { views: 1 });
        assert.equal((await c.get('/peek')).setCookies.length, rolling ? 1 : 0);
      } finally {
        await t.close();
      }
    }
  });

  it('genid makes the handle from the request, and sessionId reads it', async () => {
    let n = 0;
    const t = await startFastifyApp({ genid: (request) => `h-${request.method.toLowerCase()}-${++n}` });
    try {
      const c = new Client(t.url);
      await c.post('/set', { views: 1 });
      assert.equal(handleIn(c.jar.get('id')), 'h-post-1');
      assert.equal(((await c.get('/peek')).json() as { sessionId: string }).sessionId, 'h-post-1');
    } finally {
      await t.close();
    }
  });

  it('name sets the cookie name; a bad option throws at registration, naming it', async () => {
    const t = await startFastifyApp({ name: 'sid' });
    try {
      const res = await new Client(t.url).post('/set', { views: 1 });
      assert.match(res.setCookies[0]!, /^sid=/);
    } finally {
      await t.close();
    }
    const app = Fastify();
    await assert.rejects(
      async () => {
        await app.register(session, { onStoreError: 'next' as never, warn: () => {} });
      },
      (error: unknown) => error instanceof SessionConfigError && /onStoreError/.test(error.message),
    );
  });

  it('a refused login over the session limit is a 409 through the error handler, without a cookie', async () => {
    const t = await startFastifyApp({ maxSessionsPerUser: 1, sessionLimitPolicy: 'refuse' });
    try {
      await new Client(t.url).post('/login', { userId: 'limited' });
      const res = await new Client(t.url).post('/login', { userId: 'limited' });
      assert.equal(res.status, 409);
      assert.equal((res.json() as { code: string }).code, 'SESSION_LIMIT');
      assert.deepEqual(res.setCookies, []);
    } finally {
      await t.close();
    }
  });
});
