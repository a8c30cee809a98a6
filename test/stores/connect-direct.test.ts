import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import sessionDefault from '../../packages/coatcheck/src/express/index.js';
import { SECRET, startTestApp } from '../support/app.js';
import {
  asStore,
  type Bag,
  type Callback,
  type CallbackStore,
  CoatcheckMemoryStore,
  journey,
} from '../support/connect-stores.js';
import { Client, listen } from '../support/http.js';

describe('an app reading and writing its express-session store directly under coatcheck', () => {
  it("store.get(req.sessionID, cb) finds the session's data at the top level; store.set changes what the next request sees", async () => {
    const store = new CoatcheckMemoryStore() as unknown as CallbackStore & { all(cb: Callback): void };
    const app = await startTestApp(asStore(store));
    const browser = await journey(app.url);
    const sid = ((await browser.get('/me')).json() as { handle: string }).handle;

    // The Socket.IO recipe, on the store the app configured.
    const session = (await new Promise<unknown>((resolve, reject) =>
      store.get(sid, (error, value) => (error ? reject(error) : resolve(value))),
    )) as Bag & { cookie: Bag };
    assert.deepEqual(session.cart, ['hat']);
    assert.equal(typeof session.cookie.expires, 'string');

    session.cart = ['hat', 'gloves'];
    await new Promise((resolve, reject) =>
      store.set(sid, session, (error) => (error ? reject(error) : resolve(0))),
    );
    const me = (await browser.get('/me')).json() as { data: Bag; userId: string };
    assert.equal(me.userId, 'alice', 'the session is unchanged otherwise');
    assert.deepEqual(me.data, { cart: ['hat', 'gloves'] });

    const all = (await new Promise<unknown>((resolve) =>
      store.all((_error, value) => resolve(value)),
    )) as Record<string, Bag>;
    assert.deepEqual(all[sid]?.cart, ['hat', 'gloves']);
    await app.close();
  });

  it('req.sessionStore answers with callbacks as the store the app gave, as under express-session', async () => {
    const app = express();
    app.use(express.json());
    app.use(sessionDefault({ secret: SECRET, store: new CoatcheckMemoryStore(), warn: () => {} }));
    app.post('/login', async (req, res) => {
      await req.session.login('alice');
      req.session.cart = ['hat'];
      res.json({ ok: true });
    });
    type CallbackView = {
      get(sid: string, cb: Callback): void;
      length(cb: Callback): void;
      destroy(sid: string, cb: Callback): void;
    };
    app.get('/store-view', (req, res, next) => {
      const store = req.sessionStore as unknown as CallbackView;
      store.get(req.sessionID, (error, session) => {
        if (error) return next(error);
        store.length((lengthError, length) => {
          if (lengthError) return next(lengthError);
          res.json({ cart: (session as Bag | null)?.cart ?? null, length });
        });
      });
    });
    app.post('/kick', (req, res, next) => {
      (req.sessionStore as unknown as CallbackView).destroy(req.sessionID, (error) =>
        error ? next(error) : res.json({ ok: true }),
      );
    });
    app.get('/me', (req, res) => res.status(req.session.meta?.userId ? 200 : 401).end());
    const running = await listen(app as never);
    try {
      const browser = new Client(running.url);
      await browser.post('/login');
      assert.deepEqual((await browser.get('/store-view')).json(), { cart: ['hat'], length: 1 });
      assert.equal((await browser.post('/kick')).status, 200);
      assert.equal((await browser.get('/me')).status, 401);
    } finally {
      await running.close();
    }
  });

  it('sessions stored with their data inside the coatcheck record still load', async () => {
    const rows = new Map<string, string>();
    const store: CallbackStore = {
      get: (sid, cb) => setImmediate(cb, null, rows.has(sid) ? JSON.parse(rows.get(sid)!) : null),
      set: (sid, session, cb) => {
        rows.set(sid, JSON.stringify(session));
        setImmediate(cb, null);
      },
      destroy: (sid, cb) => {
        rows.delete(sid);
        setImmediate(cb, null);
      },
    };
    const app = await startTestApp(asStore(store));
    const browser = await journey(app.url);
    // The earlier layout: `{ cookie, coatcheck: record }`, the data as JSON text in the record.
    for (const [sid, text] of rows) {
      const { cookie, coatcheck, ...data } = JSON.parse(text) as Bag & { coatcheck: Bag };
      rows.set(sid, JSON.stringify({ cookie, coatcheck: { ...coatcheck, data: JSON.stringify(data) } }));
    }
    const me = await browser.get('/me');
    assert.equal(me.status, 200);
    assert.deepEqual((me.json() as { data: Bag }).data, { cart: ['hat'] });
    await app.close();
  });
  it('data keys named like those of the stored layout (coatcheck, __lastAccess) survive', async () => {
    const store = new CoatcheckMemoryStore();
    const app = await startTestApp(asStore(store));
    const browser = await journey(app.url);
    assert.equal((await browser.post('/set', { coatcheck: { mine: true }, __lastAccess: 'x' })).status, 200);
    const me = await browser.get('/me');
    assert.deepEqual((me.json() as { data: Bag }).data, {
      cart: ['hat'],
      coatcheck: { mine: true },
      __lastAccess: 'x',
    });
    await app.close();
  });
});
