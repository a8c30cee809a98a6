/** The @fastify/session API on coatcheck, with @fastify/session itself run as the control. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { session } from '../../packages/coatcheck/src/fastify/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { Client } from '../support/http.js';
import { SECRET } from './app.js';

type Peer = { name: string; register(app: FastifyInstance): Promise<void> };

const peers: Peer[] = [
  {
    name: 'coatcheck/fastify',
    register: async (app) => {
      await app.register(session, { secret: SECRET, store: new MemoryStore(), warn: () => {} });
    },
  },
  {
    name: '@fastify/session (control)',
    register: async (app) => {
      await app.register(fastifyCookie);
      await app.register(fastifySession, {
        secret: SECRET,
        saveUninitialized: false,
        cookie: { secure: false },
      });
    },
  },
];

/** Application data: the own keys a route can read, without the cookie. */
function dataOf(request: FastifyRequest): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const key of Object.keys(request.session)) {
    if (key !== 'cookie') data[key] = (request.session as unknown as Record<string, unknown>)[key];
  }
  return data;
}

async function start(peer: Peer) {
  const app = Fastify();
  await peer.register(app);
  const rw = app as unknown as FastifyInstance;
  rw.get('/peek', async (request) => ({ data: dataOf(request), id: request.session.sessionId }));
  rw.post('/set', async (request) => {
    for (const [key, value] of Object.entries(request.body as object))
      request.session.set(key as never, value);
    return {};
  });
  rw.post('/regenerate', async (request) => {
    const { keys } = request.body as { keys?: string[] };
    await (keys ? request.session.regenerate(keys) : request.session.regenerate());
    return { data: dataOf(request), id: request.session.sessionId };
  });
  rw.post('/destroy', async (request) => {
    await request.session.destroy();
    return {};
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  return { app, client: new Client(`http://127.0.0.1:${port}`) };
}

/** One sequence, recorded as what the application sees at each step. */
async function sequence(peer: Peer) {
  const { app, client: c } = await start(peer);
  try {
    const seen: unknown[] = [];
    await c.post('/set', { cart: ['tea'], views: 2 });
    const before = ((await c.get('/peek')).json() as { id: string }).id;
    const kept = (await c.post('/regenerate', { keys: ['cart'] })).json() as { data: unknown; id: string };
    seen.push(kept.data, kept.id !== before);
    seen.push(((await c.get('/peek')).json() as { data: unknown }).data);
    const emptied = (await c.post('/regenerate', {})).json() as { data: unknown };
    seen.push(emptied.data);
    await c.post('/set', { views: 3 });
    seen.push(((await c.get('/peek')).json() as { data: unknown }).data);
    await c.post('/destroy', {});
    seen.push(((await c.get('/peek')).json() as { data: unknown }).data);
    return seen;
  } finally {
    await app.close();
  }
}

describe('@fastify/session compatibility', () => {
  it('get/set, regenerate(), regenerate(keys) and destroy() leave the data @fastify/session leaves', async () => {
    const [ours, control] = await Promise.all(peers.map(sequence));
    assert.deepEqual(control, [{ cart: ['tea'] }, true, { cart: ['tea'] }, {}, { views: 3 }, {}]);
    assert.deepEqual(ours, control);
  });

  it("every request's session.cookie is one shared accessor, read through the session it is on", async () => {
    const app = Fastify();
    await peers[0]!.register(app);
    const seen: { descriptor: PropertyDescriptor; path: string; spread: unknown }[] = [];
    (app as unknown as FastifyInstance).get('/cookie', async (request) => {
      const descriptor = Object.getOwnPropertyDescriptor(request.session, 'cookie')!;
      seen.push({ descriptor, path: request.session.cookie.path, spread: { ...request.session }.cookie });
      return {};
    });
    try {
      await app.inject({ url: '/cookie' });
      await app.inject({ url: '/cookie' });
      const [first, second] = seen;
      // A getter made per request gives every Session its own hidden class in V8.
      assert.equal(first!.descriptor.get, second!.descriptor.get);
      assert.equal(first!.descriptor.set, second!.descriptor.set);
      assert.equal(first!.descriptor.enumerable, true);
      assert.equal(first!.path, '/');
      assert.equal((first!.spread as { path: string }).path, '/');
    } finally {
      await app.close();
    }
  });
});
