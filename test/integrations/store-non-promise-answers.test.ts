/**
 * A hand-written store whose `get` answers with something other than a promise (undefined, null, a
 * bare record, a thenable that never settles) or throws, under Express, Fastify and Hono: the
 * request answers 503 with one store error, the process keeps running, no 500.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import type { SessionEvent } from '../../packages/coatcheck/src/core/events.js';
import { session as expressSession } from '../../packages/coatcheck/src/express/index.js';
import { session as fastifySession } from '../../packages/coatcheck/src/fastify/index.js';
import { type Env, session as honoSession } from '../../packages/coatcheck/src/hono/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SECRET } from '../support/app.js';
import { serveHono } from '../support/hono.js';
import { Client, listen } from '../support/http.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A MemoryStore whose reads break on demand: `get` then returns undefined. */
function brokenStore() {
  const inner = new MemoryStore();
  const state: { broken: boolean; answer: () => unknown } = { broken: false, answer: () => undefined };
  // A plain object implementing the contract, each method forwarding to a MemoryStore.
  const store = new Proxy(inner, {
    get(target, key) {
      if (key === 'get') return (handle: string) => (state.broken ? state.answer() : target.get(handle));
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store, state };
}

/** An Express app with a sign-in and a `/me` route on `store`, recording events and the errors its handler saw. */
async function expressApp(store: MemoryStore) {
  const app = express();
  const events: SessionEvent[] = [];
  const errors: unknown[] = [];
  const middleware = expressSession({
    secret: SECRET,
    store,
    warn: () => {},
    guessLimit: false,
    storeTimeoutMs: 300,
  });
  middleware.on((event) => events.push(event));
  app.use(middleware);
  app.post('/login', async (req, res) => {
    await req.session.login('u1');
    res.json({ ok: true });
  });
  app.get('/me', (req, res) => res.json({ user: req.session.meta?.userId ?? null }));
  app.use((error: { status?: number }, _req: unknown, res: express.Response, _next: unknown) => {
    errors.push(error);
    res.status(error.status ?? 500).json({ error: 'x' });
  });
  return { running: await listen(app as never), events, errors };
}

describe('a store whose get does not answer with a promise', () => {
  it('Fastify answers 503 and stays up', async () => {
    const { store, state } = brokenStore();
    const app = Fastify({ logger: false });
    await app.register(fastifySession, {
      secret: SECRET,
      store,
      warn: () => {},
      guessLimit: false,
      storeTimeoutMs: 300,
    });
    app.post('/login', async (request) => {
      await request.session.login('u1');
      return { ok: true };
    });
    app.get('/me', async (request) => ({ user: request.session.meta?.userId ?? null }));
    try {
      const login = await app.inject({ method: 'POST', url: '/login' });
      assert.equal(login.statusCode, 200);
      const cookie = login.cookies.map((k) => `${k.name}=${k.value}`).join('; ');
      state.broken = true;
      const res = await app.inject({ method: 'GET', url: '/me', headers: { cookie } });
      assert.equal(res.statusCode, 503);
      state.broken = false;
      const ok = await app.inject({ method: 'GET', url: '/me', headers: { cookie } });
      assert.equal(ok.json().user, 'u1');
    } finally {
      await app.close();
    }
  });

  it('Hono answers 503 and stays up', async () => {
    const { store, state } = brokenStore();
    const app = new Hono<Env>();
    app.use(honoSession({ secret: SECRET, store, warn: () => {}, guessLimit: false, storeTimeoutMs: 300 }));
    app.post('/login', async (c) => {
      await c.get('session').login('u1');
      return c.json({ ok: true });
    });
    app.get('/me', (c) => c.json({ user: c.get('session').meta?.userId ?? null }));
    const { url, close } = await serveHono(app);
    try {
      const client = new Client(url);
      assert.equal((await client.post('/login', {})).status, 200);
      state.broken = true;
      assert.equal((await client.get('/me')).status, 503);
      state.broken = false;
      assert.equal(((await client.get('/me')).json() as { user: string }).user, 'u1');
    } finally {
      close();
    }
  });

  for (const [name, answer] of [
    ['returns undefined', () => undefined],
    [
      'throws synchronously',
      () => {
        throw new Error('boom');
      },
    ],
    // biome-ignore lint/suspicious/noThenProperty: a store answering with a thenable of its own
    ['returns a thenable that never settles', () => ({ then() {} })],
    ['returns null', () => null],
    ['returns a record synchronously', () => ({ handle: 'x' })],
  ] as const) {
    it(`Express answers 503 when get ${name}, with one store.error`, async () => {
      const { store, state } = brokenStore();
      const { running, events, errors } = await expressApp(store);
      try {
        const c = new Client(running.url);
        assert.equal((await c.post('/login', {})).status, 200);
        assert.equal(((await c.get('/me')).json() as { user: string }).user, 'u1');
        state.broken = true;
        state.answer = answer as () => unknown;
        assert.equal((await c.get('/me')).status, 503);
        // One store.error for the call, and no second one from its deadline.
        await sleep(500);
        assert.equal(events.filter((e) => e.type === 'store.error').length, 1);
        state.broken = false;
        assert.equal(((await c.get('/me')).json() as { user: string }).user, 'u1');
        assert.ok(errors.every((e) => (e as { status?: number }).status === 503));
      } finally {
        await running.close();
      }
    });
  }
});
