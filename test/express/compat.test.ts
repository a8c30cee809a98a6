import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { inherits } from 'node:util';
import express from 'express';
import expressSession from 'express-session';
import type { SessionEvent } from '../../packages/coatcheck/src/core/events.js';
import sessionDefault, {
  type SessionStore,
  Store,
  session,
} from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SqliteStore } from '../../packages/coatcheck/src/stores/sqlite.js';
import { dataOf, SECRET, startTestApp } from '../support/app.js';
import { Client, listen } from '../support/http.js';

type Callback = (error?: unknown, value?: unknown) => void;

describe('express-session compatibility', () => {
  it('require("coatcheck/express") returns a callable factory with the classes attached', () => {
    const required = createRequire(import.meta.url)('coatcheck/express') as typeof sessionDefault;
    assert.equal(typeof required, 'function');
    for (const name of [
      'Store',
      'MemoryStore',
      'Session',
      'Cookie',
      'requireAuth',
      'requireRole',
      'requireFreshAuth',
    ]) {
      assert.equal(typeof (required as unknown as Record<string, unknown>)[name], 'function', name);
    }
    const middleware = required({ secret: SECRET, store: new required.MemoryStore(), warn: () => {} });
    assert.equal(typeof middleware, 'function');
    assert.equal(typeof sessionDefault.Store, 'function');
  });

  it('a store written for express-session (Store.call, util.inherits, callbacks) works unchanged', async () => {
    const rows = new Map<string, string>();
    function LegacyStore(this: Store & { rows: Map<string, string> }) {
      Store.call(this);
      this.rows = rows;
    }
    inherits(LegacyStore, Store);
    Object.assign(LegacyStore.prototype, {
      get(sid: string, cb: Callback) {
        setImmediate(() => cb(null, rows.has(sid) ? JSON.parse(rows.get(sid)!) : null));
      },
      set(sid: string, sess: unknown, cb: Callback) {
        rows.set(sid, JSON.stringify(sess));
        setImmediate(() => cb(null));
      },
      destroy(sid: string, cb: Callback) {
        rows.delete(sid);
        setImmediate(() => cb(null));
      },
    });
    const store = new (LegacyStore as unknown as new () => object)();
    assert.ok(store instanceof Store);
    const app = await startTestApp(store as unknown as SessionStore);
    const c = new Client(app.url);
    await c.post('/set', { cart: [1, 2] });
    assert.deepEqual(((await c.get('/peek')).json() as { data: unknown }).data, { cart: [1, 2] });
    await c.post('/login', { userId: 'alice' });
    assert.equal((await c.get('/me')).status, 200);
    assert.equal(rows.size, 1);
    const [stored] = [...rows.values()].map((text) => JSON.parse(text) as { cookie: { expires: string } });
    assert.ok(Date.parse(stored!.cookie.expires) > Date.now(), "cookie.expires is set for the store's TTL");
    await c.post('/logout');
    assert.equal(rows.size, 0);
    await app.close();
  });

  it('switching from express-session keeps signed-in users signed in (s: cookie, same store)', async () => {
    const legacyStore = new expressSession.MemoryStore();
    const before = express();
    before.use(
      expressSession({
        secret: SECRET,
        store: legacyStore,
        resave: false,
        saveUninitialized: false,
      }) as never,
    );
    before.get('/login', (req, res) => {
      (req as unknown as { session: Record<string, unknown> }).session.user = 'alice';
      res.end('ok');
    });
    const old = await listen(before as never);
    const legacy = new Client(old.url);
    await legacy.get('/login');
    const oldCookie = legacy.jar.get('connect.sid')!;
    assert.match(decodeURIComponent(oldCookie), /^s:/);
    await old.close();

    const app = await startTestApp(legacyStore as unknown as SessionStore);
    const c = new Client(app.url);
    c.jar.set('connect.sid', oldCookie);
    const res = await c.get('/peek');
    assert.deepEqual((res.json() as { data: unknown }).data, { user: 'alice' });
    assert.ok(
      res.setCookies.some((line) => /^connect\.sid=; Max-Age=0/.test(line)),
      'legacy cookie expired',
    );
    assert.ok(c.jar.get('id'), 'a coatcheck cookie is issued');
    assert.deepEqual(((await c.get('/peek')).json() as { data: unknown }).data, { user: 'alice' });
    assert.ok(app.events.some((e) => e.type === 'session.migrated'));
    const replay = new Client(app.url);
    replay.jar.set('connect.sid', oldCookie);
    assert.deepEqual(((await replay.get('/peek')).json() as { data: unknown }).data, {});
    await app.close();
  });

  it('save, regenerate, reload and destroy take callbacks or return promises', async () => {
    const app = express();
    const middleware = session({ secret: SECRET, store: new MemoryStore(), warn: () => {} });
    app.use(middleware);
    const steps: string[] = [];
    app.get('/', async (req, res, next) => {
      try {
        req.session.a = 1;
        await req.session.save();
        steps.push('save-promise');
        await new Promise<void>((resolve, reject) => req.session.save((e) => (e ? reject(e) : resolve())));
        steps.push('save-callback');
        await new Promise<void>((resolve, reject) =>
          req.session.regenerate((e) => (e ? reject(e) : resolve())),
        );
        steps.push(`regenerate-callback:${String(req.session.a)}`);
        req.session.b = 2;
        await req.session.save();
        req.session.c = 3;
        await req.session.reload();
        steps.push(`reload:${String(req.session.b)},${String(req.session.c)}`);
        await new Promise<void>((resolve, reject) => req.session.destroy((e) => (e ? reject(e) : resolve())));
        steps.push(`destroy:${JSON.stringify(dataOf(req.session))}`);
        res.end('ok');
      } catch (error) {
        next(error);
      }
    });
    const running = await listen(app as never);
    const res = await new Client(running.url).get('/');
    assert.equal(res.status, 200);
    assert.deepEqual(steps, [
      'save-promise',
      'save-callback',
      // express-session's meaning: regenerate starts a new, empty session.
      'regenerate-callback:undefined',
      // reload drops what was not saved, as express-session's does.
      'reload:2,undefined',
      'destroy:{}',
    ]);
    await running.close();
  });

  it('genid names handles, unset: destroy ends the session, saveUninitialized and rolling behave as in express-session', async () => {
    let n = 0;
    const app = await startTestApp(new MemoryStore(), {
      genid: () => `custom-handle-${String(n++).padStart(8, '0')}`,
      unset: 'destroy',
      saveUninitialized: true,
      rolling: true,
    });
    const c = new Client(app.url);
    const first = await c.get('/peek');
    assert.equal(first.setCookies.length, 1, 'saveUninitialized stores an empty session');
    assert.match(c.jar.get('id')!, /^custom-handle-00000000\./);
    assert.equal((first.json() as { id: string }).id, 'custom-handle-00000000');
    assert.equal((await c.get('/peek')).setCookies.length, 1, 'rolling re-sends the cookie');
    await app.close();
  });

  it('a store failure answers 503 with a generic body and the process keeps serving', async () => {
    const store = new SqliteStore({ path: ':memory:' });
    const events: SessionEvent[] = [];
    const app = await startTestApp(store);
    app.events.length = 0;
    const c = new Client(app.url);
    await c.post('/login', { userId: 'alice' });
    store.db.close();
    for (const request of [
      () => c.get('/me'),
      () => c.post('/set', { a: 1 }),
      () => new Client(app.url).post('/set', { a: 1 }),
    ]) {
      const res = await request();
      assert.equal(res.status, 503);
      assert.equal(res.text, 'Service Unavailable');
      assert.equal(res.headers.get('cache-control'), 'no-store');
    }
    assert.equal(
      (await new Client(app.url).get('/peek')).status,
      200,
      'requests that need no store still work',
    );
    events.push(...app.events);
    assert.ok(events.some((e) => e.type === 'store.error'));
    await app.close();
  });
});
