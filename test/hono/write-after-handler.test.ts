/**
 * Session data read and written only after the route handler ran: in a Hono middleware's code
 * after `await next()`, and in a Fastify `preSerialization` hook (the plugin commits in its own
 * `onSend`). Both run before the session is committed, so the write is stored even though the handler never read
 * the session's data.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Hono } from 'hono';
import { type Env, session } from '../../packages/coatcheck/src/hono/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { type FastifyTestApp, handleIn, startFastifyApp } from '../fastify/app.js';
import { SECRET } from '../support/app.js';
import { serveHono } from '../support/hono.js';
import { Client } from '../support/http.js';

describe('data written after the handler, before the commit', () => {
  const store = new MemoryStore();
  let url = '';
  let close = () => {};
  let fastify: FastifyTestApp;

  before(async () => {
    const app = new Hono<Env>();
    app.use(session({ secret: SECRET, store, warn: () => {}, guessLimit: false }));
    app.use(async (c, next) => {
      await next();
      const visits = (c.get('session').get('visits') as string[] | undefined) ?? [];
      c.get('session').set('visits', [...visits, c.req.path]);
    });
    app.get('/a', (c) => c.json({ id: c.get('session').id }));
    app.get('/b', (c) => c.json({ id: c.get('session').id }));
    ({ url, close } = await serveHono(app));

    fastify = await startFastifyApp({}, (instance) => {
      instance.addHook('preSerialization', async (request, _reply, payload) => {
        const visits = (request.session.get('visits') as string[] | undefined) ?? [];
        request.session.set('visits', [...visits, request.url]);
        return payload;
      });
      instance.get('/a', async () => ({}));
      instance.get('/b', async () => ({}));
    });
  });
  after(async () => {
    close();
    await fastify.close();
    await store.close();
  });

  it('Hono: a middleware after next() writes to the session the handler never read', async () => {
    const c = new Client(url);
    await c.get('/a');
    const { id } = (await c.get('/b')).json() as { id: string };
    assert.deepEqual(JSON.parse((await store.get(id))!.data), { visits: ['/a', '/b'] });
  });

  it('Fastify: a preSerialization hook writes to the session', async () => {
    const c = fastify.client();
    await c.get('/a');
    await c.get('/b');
    const record = await fastify.store.get(handleIn(c.jar.get('id')!));
    assert.deepEqual(JSON.parse(record!.data), { visits: ['/a', '/b'] });
  });
});
