import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import express from 'express';
import expressSession from 'express-session';
import type { SessionPatch, SessionRecord } from '../../packages/coatcheck/src/core/store/record.js';
import { session } from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SECRET } from '../support/app.js';
import { Client, listen, type Running } from '../support/http.js';
import { jsonCalls } from '../support/json-calls.js';

const opened: Running[] = [];
after(async () => {
  for (const running of opened) await running.close();
});

type Data = Record<string, unknown>;

/**
 * The routes of an app that keeps hand-rolled state in `req.session`, as express-session apps do:
 * each changes the data one way (or not at all), and `/peek` shows what the next request sees.
 */
async function start(middleware: express.RequestHandler): Promise<Client> {
  const app = express();
  app.use(middleware);
  const data = (req: express.Request) => req.session as unknown as Data;
  app.get('/start', (req, res) => {
    Object.assign(data(req), { userId: 'u-1', views: 1, theme: 'dark', flag: true, none: null });
    data(req).passport = { user: 'u-1' };
    res.end('ok');
  });
  // Reads every value and writes the same primitives back: nothing changed.
  app.get('/same', (req, res) => {
    const d = data(req);
    d.views = Number(d.views);
    if (typeof d.theme === 'string') d.theme = d.theme.slice(0);
    res.json({ views: d.views, user: (d.passport as Data).user });
  });
  app.get('/views', (req, res) => {
    data(req).views = (data(req).views as number) + 1;
    res.end('ok');
  });
  // The key count stays the same: one key removed, one added with nothing in it.
  app.get('/swap', (req, res) => {
    delete data(req).theme;
    data(req).other = undefined;
    res.end('ok');
  });
  // Changed, saved, then changed back before the response: the value sent last is kept.
  app.get('/flip', async (req, res) => {
    const d = data(req);
    const before = d.views;
    d.views = 100;
    await new Promise<void>((resolve, reject) =>
      req.session.save((error) => (error ? reject(error) : resolve())),
    );
    d.views = before;
    res.end('ok');
  });
  app.get('/deep', (req, res) => {
    (data(req).passport as Data).user = 'u-2';
    res.end('ok');
  });
  app.get('/peek', (req, res) => {
    const { cookie: _cookie, ...rest } = data(req);
    res.json(rest);
  });
  const running = await listen(app as never);
  opened.push(running);
  return new Client(running.url);
}

/** The journey, on any middleware; returns what `/peek` showed after each step. */
async function journey(client: Client): Promise<Data[]> {
  const seen: Data[] = [];
  const peek = async () => seen.push((await client.get('/peek')).json() as Data);
  await client.get('/start');
  for (const step of ['/same', '/views', '/swap', '/flip', '/same', '/deep']) {
    assert.equal((await client.get(step)).status, 200, step);
    await peek();
  }
  return seen;
}

const EXPECTED: Data[] = [
  { userId: 'u-1', views: 1, theme: 'dark', flag: true, none: null, passport: { user: 'u-1' } },
  { userId: 'u-1', views: 2, theme: 'dark', flag: true, none: null, passport: { user: 'u-1' } },
  { userId: 'u-1', views: 2, flag: true, none: null, passport: { user: 'u-1' } },
  { userId: 'u-1', views: 2, flag: true, none: null, passport: { user: 'u-1' } },
  { userId: 'u-1', views: 2, flag: true, none: null, passport: { user: 'u-1' } },
  { userId: 'u-1', views: 2, flag: true, none: null, passport: { user: 'u-2' } },
];

/** A MemoryStore that counts the writes requests make (it has no `renew`: renewals update too). */
class CountingStore extends MemoryStore {
  writes = 0;
  override async update(handle: string, patch: SessionPatch): Promise<SessionRecord | null> {
    this.writes++;
    return super.update(handle, patch);
  }
}

describe('Express: a request that leaves its data as loaded writes and serialises nothing it need not', () => {
  it('express-session itself (the control): the journey keeps every change, the undone one too', async () => {
    const control = expressSession({ secret: SECRET, resave: false, saveUninitialized: false });
    assert.deepEqual(await journey(await start(control as never)), EXPECTED);
  });

  it('coatcheck: the same data after every step', async () => {
    const store = new MemoryStore();
    const middleware = session({ secret: SECRET, store, warn: () => {}, guessLimit: false });
    assert.deepEqual(await journey(await start(middleware as never)), EXPECTED);
    await store.close();
  });

  it('coatcheck: unchanged primitives are neither copied into JSON nor written; objects are compared by their JSON', async () => {
    const store = new CountingStore();
    const middleware = session({ secret: SECRET, store, warn: () => {}, guessLimit: false });
    const client = await start(middleware as never);
    const app = express();
    app.use(middleware);
    app.get('/set', (req, res) => {
      Object.assign(req.session, { userId: 'u-9', views: 3, theme: 'light' });
      res.end('ok');
    });
    app.get('/same', (req, res) => {
      const d = req.session as unknown as Data;
      d.views = Number(d.views);
      res.json({ views: d.views, user: d.userId });
    });
    const running = await listen(app as never);
    opened.push(running);
    const flat = new Client(running.url);
    await flat.get('/set');
    const storedText = (text: string) => text.includes('"u-9"') && text.includes('"light"');

    const writes = store.writes;
    const calls = await jsonCalls(storedText, async () => {
      assert.deepEqual((await flat.get('/same')).json(), { views: 3, user: 'u-9' });
    });
    assert.deepEqual(calls, { parsed: 1, serialised: 0 }, 'only primitives: parsed once, never serialised');
    assert.equal(store.writes, writes, 'nothing written');

    // A session holding an object (Passport's shape): the object may have changed inside, so the
    // data is serialised once to compare, and still nothing is written.
    await client.get('/start');
    const withObject = (text: string) => text.includes('"passport":{"user":"u-1"}');
    const before = store.writes;
    const objectCalls = await jsonCalls(withObject, async () => {
      assert.equal((await client.get('/same')).status, 200);
    });
    assert.deepEqual(objectCalls, { parsed: 1, serialised: 1 });
    assert.equal(store.writes, before, 'nothing written');
    await store.close();
  });
});
