import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import expressSession from 'express-session';
import type { SessionPatch, SessionRecord } from '../../packages/coatcheck/src/core/store/record.js';
import { session } from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SECRET } from '../support/app.js';
import { Client, listen, type Running } from '../support/http.js';

const opened: Running[] = [];
after(async () => {
  for (const running of opened) await running.close();
});

/** A store whose writes take 30 ms, so a handler's saves overlap each other and its later changes. */
class SlowStore extends MemoryStore {
  override async update(handle: string, patch: SessionPatch): Promise<SessionRecord | null> {
    await sleep(30);
    return super.update(handle, patch);
  }
}

type ControlSet = (sid: string, data: unknown, callback?: (error?: unknown) => void) => void;

/** express-session's MemoryStore with the same 30 ms writes. */
function slowControlStore(): object {
  const store = new expressSession.MemoryStore() as { set: ControlSet };
  const set = store.set.bind(store);
  store.set = (sid, data, callback) => {
    setTimeout(() => set(sid, data, callback), 30);
  };
  return store;
}

type Data = Record<string, unknown>;
const dataOf = (req: express.Request) => req.session as unknown as Data;
const saved = (req: express.Request) => new Promise<void>((resolve) => req.session.save(() => resolve()));

/** Handlers that change `a`, save without waiting or while a save runs, then change it again. */
const handlers: Record<string, (req: express.Request) => Promise<void>> = {
  'change, save, change back': async (req) => {
    dataOf(req).a = 2;
    void req.session.save();
    dataOf(req).a = 1;
  },
  'change, save, change back, save': async (req) => {
    dataOf(req).a = 2;
    void req.session.save();
    dataOf(req).a = 1;
    void req.session.save();
  },
  'two saves, then a third value': async (req) => {
    dataOf(req).a = 2;
    void req.session.save();
    dataOf(req).a = 1;
    void req.session.save();
    dataOf(req).a = 2;
  },
  'a save, a pause, another save': async (req) => {
    dataOf(req).a = 2;
    void req.session.save();
    await sleep(5);
    dataOf(req).a = 1;
    void req.session.save();
  },
  'a save, a pause, an awaited save': async (req) => {
    dataOf(req).a = 2;
    void req.session.save();
    await sleep(5);
    dataOf(req).a = 1;
    await saved(req);
  },
  'an awaited save, then a change': async (req) => {
    dataOf(req).a = 2;
    void req.session.save();
    await sleep(5);
    dataOf(req).a = 1;
    await saved(req);
    dataOf(req).a = 3;
  },
  'awaited save, unawaited save, change': async (req) => {
    dataOf(req).a = 2;
    await saved(req);
    dataOf(req).a = 1;
    void req.session.save();
    await sleep(5);
    dataOf(req).a = 2;
  },
  'a change while the save runs': async (req) => {
    dataOf(req).a = 2;
    const saving = saved(req);
    await sleep(5);
    dataOf(req).a = 1;
    await saving;
  },
};

/** What the next request reads after each handler, on a session that held `a: 1`. */
async function outcomes(middleware: express.RequestHandler): Promise<Data> {
  const app = express();
  app.use(middleware);
  app.get('/seed', (req, res) => {
    Object.assign(dataOf(req), { a: 1, b: 'x' });
    res.end('ok');
  });
  app.get('/run/:name', async (req, res) => {
    await handlers[String(req.params.name)]!(req);
    res.end('ok');
  });
  app.get('/peek', (req, res) => {
    res.json({ a: dataOf(req).a });
  });
  const running = await listen(app as never);
  opened.push(running);
  const out: Data = {};
  for (const name of Object.keys(handlers)) {
    const client = new Client(running.url);
    await client.get('/seed');
    assert.equal((await client.get(`/run/${encodeURIComponent(name)}`)).status, 200, name);
    await sleep(100); // every write the handler started has landed
    out[name] = (await client.get('/peek')).json();
  }
  return out;
}

describe('Express: overlapping and unawaited saves store what express-session stores', () => {
  it('the value a handler ends with is the one the next request reads, on both', async () => {
    const control = await outcomes(
      expressSession({
        secret: SECRET,
        resave: false,
        saveUninitialized: false,
        store: slowControlStore(),
      }) as never,
    );
    const mine = await outcomes(
      session({ secret: SECRET, store: new SlowStore(), warn: () => {}, guessLimit: false }) as never,
    );
    assert.deepEqual(mine, control);
  });
});
