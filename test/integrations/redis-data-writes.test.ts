/**
 * Handlers that change the session's data in the ways applications do (after `res.write`, inside a
 * `save()` callback, nested objects changed in place, many requests of one session at once, many
 * sessions at once) on Express, Fastify and Hono over one Redis server, with a renewal due on
 * every request: every write is kept, and none lands in another session.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { session as expressSession } from '../../packages/coatcheck/src/express/index.js';
import { session as fastifySession } from '../../packages/coatcheck/src/fastify/index.js';
import { type Env, session as honoSession } from '../../packages/coatcheck/src/hono/index.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { dataOf, SECRET } from '../support/app.js';
import { Client, listen } from '../support/http.js';
import {
  type Connection,
  connectRedis,
  hasRedis,
  type RedisServer,
  startRedis,
} from '../support/redis-server.js';

const OPTIONS = { secret: SECRET, warn: () => {}, guessLimit: false as const, renewalIntervalMs: 1 };
const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

interface Running {
  url: string;
  close(): Promise<void>;
}

type Framework = 'Express' | 'Fastify' | 'Hono';

async function startExpress(store: RedisStore): Promise<Running> {
  const app = express();
  app.use(express.json());
  app.use(expressSession({ ...OPTIONS, store }));
  app.post('/set', (req, res) => {
    for (const [key, value] of Object.entries(req.body as Record<string, unknown>)) req.session[key] = value;
    res.json({ ok: true });
  });
  app.post('/push', async (req, res) => {
    await tick();
    const list = (req.session.list as string[] | undefined) ?? [];
    list.push(String((req.body as { item: string }).item));
    req.session.list = list;
    res.json({ ok: true });
  });
  app.get('/after-write', (req, res) => {
    req.session.beforeWrite = 1;
    const cart = { items: ['before'] };
    req.session.cart = cart;
    res.write('{"ok":');
    // express-session saves at `end`: changes made between `write` and `end` are kept.
    req.session.afterWrite = 2;
    cart.items.push('after');
    const finish = () => {
      req.session.later = 3;
      cart.items.push('later');
      res.end('true}');
    };
    // `end` while the commit `write` started is still in flight, or well after it finished.
    if (req.query.end === 'now') finish();
    else setTimeout(finish, 200);
  });
  app.get('/in-save', (req, res, next) => {
    req.session.beforeSave = 1;
    req.session.save((error) => {
      if (error) return next(error);
      req.session.inSave = 2;
      res.json({ ok: true });
    });
  });
  app.get('/peek', (req, res) => {
    res.json({ data: dataOf(req.session), id: req.sessionID });
  });
  const running = await listen(app as never);
  return running;
}

async function startFastify(store: RedisStore): Promise<Running> {
  const app = Fastify({ logger: false });
  await app.register(fastifySession, { ...OPTIONS, store });
  app.post('/set', async (request) => {
    for (const [key, value] of Object.entries(request.body as Record<string, unknown>)) {
      request.session.set(key, value);
    }
    return { ok: true };
  });
  app.post('/push', async (request) => {
    await tick();
    const list = (request.session.get('list') as string[] | undefined) ?? [];
    if (!request.session.get('list')) request.session.set('list', list);
    list.push(String((request.body as { item: string }).item));
    return { ok: true };
  });
  app.get('/after-write', async (request) => {
    request.session.set('beforeWrite', 1);
    const cart = { items: ['before'] };
    request.session.set('cart', cart as never);
    await tick();
    request.session.set('afterWrite', 2);
    cart.items.push('after');
    await tick();
    request.session.set('later', 3);
    cart.items.push('later');
    return { ok: true };
  });
  app.get('/in-save', async (request) => {
    request.session.set('beforeSave', 1);
    await request.session.save();
    request.session.set('inSave', 2);
    return { ok: true };
  });
  app.get('/peek', async (request) => ({
    data: Object.fromEntries(Object.entries(request.session).filter(([key]) => key !== 'cookie')),
    id: request.session.sessionId,
  }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    close: () => app.close(),
  };
}

async function startHono(store: RedisStore): Promise<Running> {
  const app = new Hono<Env>();
  app.use(honoSession({ ...OPTIONS, store }));
  app.post('/set', async (c) => {
    for (const [key, value] of Object.entries(await c.req.json<Record<string, unknown>>())) {
      c.get('session').set(key as never, value as never);
    }
    return c.json({ ok: true });
  });
  app.post('/push', async (c) => {
    const { item } = await c.req.json<{ item: string }>();
    await tick();
    const session = c.get('session');
    const list = (session.get('list' as never) as string[] | undefined) ?? [];
    list.push(item);
    session.set('list' as never, list as never);
    return c.json({ ok: true });
  });
  app.get('/after-write', async (c) => {
    const session = c.get('session');
    session.set('beforeWrite' as never, 1 as never);
    const cart = { items: ['before'] };
    session.set('cart' as never, cart as never);
    await tick();
    session.set('afterWrite' as never, 2 as never);
    cart.items.push('after');
    await tick();
    session.set('later' as never, 3 as never);
    cart.items.push('later');
    return c.json({ ok: true });
  });
  app.get('/in-save', async (c) => {
    const session = c.get('session');
    session.set('beforeSave' as never, 1 as never);
    await session.save();
    session.set('inSave' as never, 2 as never);
    return c.json({ ok: true });
  });
  app.get('/peek', (c) => c.json({ data: c.get('session').data, id: c.get('session').id }));
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const STARTERS: Record<Framework, (store: RedisStore) => Promise<Running>> = {
  Express: startExpress,
  Fastify: startFastify,
  Hono: startHono,
};

describe('Data writes on Redis through Express, Fastify and Hono, with a renewal due on every request', {
  skip: !hasRedis && 'redis-server is not installed',
}, () => {
  let server: RedisServer;
  const connections: Connection<unknown>[] = [];
  before(async () => {
    server = await startRedis();
    connections.push(await connectRedis('node-redis', server), await connectRedis('ioredis', server));
  });
  after(async () => {
    for (const connection of connections) await connection.close();
    await server?.dispose();
  });

  for (const framework of ['Express', 'Fastify', 'Hono'] as const) {
    /** Two instances of the framework's app, one per driver, on one key prefix. */
    async function startPair(): Promise<{ apps: Running[]; store: RedisStore }> {
      const prefix = `w${Math.random().toString(36).slice(2)}:`;
      const stores = connections.map(
        (connection) => new RedisStore({ client: (connection as Connection<never>).client, prefix }),
      );
      const apps = [await STARTERS[framework](stores[0]!), await STARTERS[framework](stores[1]!)];
      return { apps, store: stores[0]! };
    }

    async function storedData(
      store: RedisStore,
      browser: Client,
      via: Running,
    ): Promise<Record<string, unknown>> {
      const peek = (
        await new Client(via.url).request('/peek', { headers: { cookie: browser.cookieHeader } })
      ).json() as { id: string };
      const record = await store.get(peek.id);
      return record ? (JSON.parse(record.data) as Record<string, unknown>) : {};
    }

    for (const end of ['now', 'later'] as const)
      it(`${framework}: writes after the first byte, over later turns and inside save() are all kept (end ${end})`, async () => {
        const { apps, store } = await startPair();
        try {
          const browser = new Client(apps[0]!.url);
          await browser.post('/set', { start: 0 });
          const afterWrite = await browser.get(`/after-write?end=${end}`);
          assert.equal(afterWrite.status, 200);
          const inSave = await browser.get('/in-save');
          assert.equal(inSave.status, 200);
          const data = await storedData(store, browser, apps[1]!);
          assert.deepEqual(data, {
            start: 0,
            beforeWrite: 1,
            cart: { items: ['before', 'after', 'later'] },
            afterWrite: 2,
            later: 3,
            beforeSave: 1,
            inSave: 2,
          });
        } finally {
          for (const app of apps) await app.close();
        }
      });

    it(`${framework}: 30 parallel requests of one session on two instances, each setting its own key, keep all 30`, async () => {
      const { apps, store } = await startPair();
      try {
        const browser = new Client(apps[0]!.url);
        await browser.post('/set', { start: true });
        const cookie = browser.cookieHeader;
        const writes = Array.from({ length: 30 }, (_, i) =>
          new Client(apps[i % 2]!.url).request('/set', {
            method: 'POST',
            headers: { cookie, 'content-type': 'application/json' },
            body: JSON.stringify({ [`k${i}`]: i }),
          }),
        );
        // Reads in between renew the session on both drivers while the writes land.
        const reads = Array.from({ length: 30 }, (_, i) =>
          new Client(apps[i % 2]!.url).request('/peek', { headers: { cookie } }),
        );
        const statuses = (await Promise.all([...writes, ...reads])).map((res) => res.status);
        assert.deepEqual(new Set(statuses), new Set([200]));
        const data = await storedData(store, browser, apps[0]!);
        const expected: Record<string, unknown> = { start: true };
        for (let i = 0; i < 30; i++) expected[`k${i}`] = i;
        assert.deepEqual(data, expected);
      } finally {
        for (const app of apps) await app.close();
      }
    });

    it(`${framework}: 40 sessions written at once on two instances each hold only their own data`, async () => {
      const { apps, store } = await startPair();
      try {
        const browsers = Array.from({ length: 40 }, (_, i) => new Client(apps[i % 2]!.url));
        await Promise.all(browsers.map((b, i) => b.post('/set', { owner: `user-${i}` })));
        for (let step = 0; step < 3; step++) {
          await Promise.all(
            browsers.flatMap((b, i) => [
              b.post('/set', { [`step${step}`]: `user-${i}` }),
              b.post('/push', { item: `user-${i}-${step}` }),
              b.get('/peek'),
            ]),
          );
        }
        const wrong: string[] = [];
        await Promise.all(
          browsers.map(async (b, i) => {
            const data = await storedData(store, b, apps[(i + 1) % 2]!);
            const owner = `user-${i}`;
            const { list, ...rest } = data;
            for (const [key, value] of Object.entries(rest)) {
              if (value !== owner) wrong.push(`${owner}: ${key}=${JSON.stringify(value)}`);
            }
            if (Object.keys(rest).length !== 4) wrong.push(`${owner}: keys ${Object.keys(rest).join(',')}`);
            // Pushes of one browser are sequential: each sees the list the previous one stored.
            const items = list as string[] | undefined;
            if (JSON.stringify(items) !== JSON.stringify([0, 1, 2].map((s) => `${owner}-${s}`))) {
              wrong.push(`${owner}: list ${JSON.stringify(items)}`);
            }
          }),
        );
        assert.deepEqual(wrong, []);
      } finally {
        for (const app of apps) await app.close();
      }
    });
  }
});
