import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import express from 'express';
import expressSession from 'express-session';
import memorystore from 'memorystore';
import sessionFileStore from 'session-file-store';
import { SECRET, startTestApp } from '../support/app.js';
import {
  asStore,
  type Bag,
  type Callback,
  type CallbackStore,
  CoatcheckMemoryStore,
  DAY,
  FileStore,
  journey,
} from '../support/connect-stores.js';
import { Client, listen } from '../support/http.js';
import {
  type Connection,
  connectRedis,
  hasRedis,
  type NodeRedisClient,
  type RedisServer,
  startRedis,
} from '../support/redis-server.js';

describe('express-session stores as users run them under coatcheck', () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('works with a store whose callbacks run before the method returns', async () => {
    const rows = new Map<string, string>();
    const store: CallbackStore = {
      get: (sid, cb) => cb(null, rows.has(sid) ? JSON.parse(rows.get(sid)!) : null),
      set: (sid, session, cb) => {
        rows.set(sid, JSON.stringify(session));
        cb(null);
      },
      destroy: (sid, cb) => {
        rows.delete(sid);
        cb(null);
      },
    };
    const app = await startTestApp(asStore(store));
    const browser = await journey(app.url);
    assert.equal(rows.size, 1);
    assert.equal((await browser.post('/logout')).status, 200);
    assert.equal(rows.size, 0);
    assert.equal((await browser.get('/me')).status, 401);
    await app.close();
  });

  it('calls the methods an app replaced on the store instance after start-up', async () => {
    const store = new CoatcheckMemoryStore() as unknown as CallbackStore;
    const app = await startTestApp(asStore(store));
    const browser = await journey(app.url);
    const calls: string[] = [];
    for (const name of ['get', 'set', 'destroy'] as const) {
      const original = store[name] as (...args: unknown[]) => void;
      // Instrumentation (tracing, metrics) wraps store methods in place like this.
      (store as Record<string, unknown>)[name] = function (this: unknown, ...args: unknown[]) {
        calls.push(name);
        return original.apply(this, args);
      };
    }
    assert.equal((await browser.post('/set', { cart: ['hat', 'scarf'] })).status, 200);
    assert.equal((await browser.post('/logout')).status, 200);
    assert.ok(calls.includes('get'), calls.join());
    assert.ok(calls.includes('set'), calls.join());
    assert.ok(calls.includes('destroy'), calls.join());
    await app.close();
  });

  it('session-file-store: a missing session file (ENOENT) is no session, never a 503', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coatcheck-files-'));
    dirs.push(dir);
    const store = new FileStore({ path: dir, reapInterval: -1, logFn: () => {} });
    const app = await startTestApp(asStore(store));
    const browser = await journey(app.url);
    assert.equal(readdirSync(dir).length, 1, 'one session file');

    // The file goes away behind the app's back (cleanup job, another host's reaper).
    for (const file of readdirSync(dir)) unlinkSync(join(dir, file));
    const gone = await browser.get('/me');
    assert.equal(gone.status, 401, 'anonymous, not 503');
    assert.equal((await browser.get('/peek')).status, 200);

    const again = await journey(app.url);
    assert.equal((await again.post('/logout')).status, 200);
    assert.equal(readdirSync(dir).length, 0);
    assert.ok(!app.events.some((event) => event.type === 'store.error'), 'no store error was reported');
    await app.close();
  });

  it('session-file-store: an old connect.sid whose file is gone is anonymous, as under express-session', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coatcheck-files-'));
    dirs.push(dir);
    const legacyStore = new (sessionFileStore(expressSession))({
      path: dir,
      reapInterval: -1,
      logFn: () => {},
    });
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
      (req as unknown as { session: Bag }).session.user = 'alice';
      res.end('ok');
    });
    const old = await listen(before as never);
    const legacy = new Client(old.url);
    await legacy.get('/login');
    for (const file of readdirSync(dir)) unlinkSync(join(dir, file));
    // Control: express-session itself answers the same cookie with a fresh session.
    assert.equal((await legacy.get('/login')).status, 200);
    await old.close();
    for (const file of readdirSync(dir)) unlinkSync(join(dir, file));

    const app = await startTestApp(asStore(new FileStore({ path: dir, reapInterval: -1, logFn: () => {} })));
    const browser = new Client(app.url);
    browser.jar.set('connect.sid', legacy.jar.get('connect.sid')!);
    const res = await browser.get('/peek');
    assert.equal(res.status, 200);
    assert.deepEqual((res.json() as { data: Bag }).data, {});
    await app.close();
  });

  it('memorystore keeps a 7-day session for 7 days, as it does under express-session (cookie.maxAge)', async (t) => {
    const ttlOf = (store: object, sid: string) => {
      const entry = (store as { store: { dump(): { k: string; e: number }[] } }).store
        .dump()
        .find((item) => item.k === sid);
      assert.ok(entry, 'memorystore holds the session');
      return entry.e - Date.now();
    };
    // Control: memorystore's TTL under express-session with the same cookie.
    const controlStore = new (memorystore(expressSession))();
    const control = express();
    control.use(
      expressSession({
        secret: SECRET,
        store: controlStore,
        resave: false,
        saveUninitialized: false,
        cookie: { maxAge: 7 * DAY },
      }) as never,
    );
    control.get('/login', (req, res) => {
      (req as unknown as { session: Bag }).session.user = 'alice';
      res.json({ id: req.sessionID });
    });
    const controlApp = await listen(control as never);
    const controlId = ((await new Client(controlApp.url).get('/login')).json() as { id: string }).id;
    await controlApp.close();
    const expected = ttlOf(controlStore, controlId);
    assert.ok(Math.abs(expected - 7 * DAY) < 60_000, `control TTL ${expected}`);

    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const store = new CoatcheckMemoryStore();
    const app = await startTestApp(asStore(store), {
      now: () => Date.now(),
      cookie: { maxAge: 7 * DAY },
      idleTimeoutMs: 7 * DAY,
      absoluteTimeoutMs: 30 * DAY,
    });
    try {
      const browser = new Client(app.url);
      const handle = ((await browser.post('/login', { userId: 'alice' })).json() as { handle: string })
        .handle;
      const ttl = ttlOf(store, handle);

      t.mock.timers.tick(25 * 3_600_000);
      assert.equal((await browser.get('/me')).status, 200, 'still signed in after 25 h');
      assert.ok(Math.abs(ttl - expected) < 60_000, `TTL ${ttl} ms, express-session gets ${expected} ms`);
      t.mock.timers.tick(7 * DAY + 60_000);
      assert.equal((await browser.get('/me')).status, 401, 'signed out after 7 idle days');
    } finally {
      await app.close();
    }
  });

  it('a wrapped store receives the cookie express-session would give it: originalMaxAge, maxAge, expires and attributes', async () => {
    /** A store that keeps what `set` was handed, as express-session hands it. */
    const recording = () => {
      const seen: { maxAge: unknown; originalMaxAge: unknown; expires: unknown; json: Bag }[] = [];
      const rows = new Map<string, string>();
      // An EventEmitter: express-session listens for the store's connect/disconnect.
      const store: CallbackStore = Object.assign(new EventEmitter(), {
        get: (sid: string, cb: Callback) =>
          setImmediate(cb, null, rows.has(sid) ? JSON.parse(rows.get(sid)!) : null),
        set: (sid: string, session: Bag, cb: Callback) => {
          const cookie = session.cookie as Bag;
          seen.push({
            maxAge: cookie.maxAge,
            originalMaxAge: cookie.originalMaxAge,
            expires: cookie.expires,
            json: JSON.parse(JSON.stringify(cookie)) as Bag,
          });
          rows.set(sid, JSON.stringify(session));
          setImmediate(cb, null);
        },
        destroy: (sid: string, cb: Callback) => {
          rows.delete(sid);
          setImmediate(cb, null);
        },
      });
      return { store, seen };
    };

    const control = recording();
    const legacy = express();
    legacy.use(
      expressSession({
        secret: SECRET,
        store: control.store,
        resave: false,
        saveUninitialized: false,
        cookie: { maxAge: 7 * DAY },
      }) as never,
    );
    legacy.get('/login', (req, res) => {
      (req as unknown as { session: Bag }).session.user = 'alice';
      res.end('ok');
    });
    const old = await listen(legacy as never);
    await new Client(old.url).get('/login');
    await old.close();

    const wrapped = recording();
    const app = await startTestApp(asStore(wrapped.store), {
      now: () => Date.now(),
      cookie: { maxAge: 7 * DAY },
      idleTimeoutMs: 7 * DAY,
      absoluteTimeoutMs: 30 * DAY,
    });
    await new Client(app.url).post('/login', { userId: 'alice' });
    await app.close();

    const [expected] = control.seen;
    const [got] = wrapped.seen;
    assert.ok(expected && got);
    for (const key of ['maxAge', 'originalMaxAge'] as const) {
      assert.equal(typeof got[key], 'number', key);
      assert.ok(Math.abs((got[key] as number) - (expected[key] as number)) < 60_000, `${key}: ${got[key]}`);
    }
    assert.ok(got.expires instanceof Date && expected.expires instanceof Date);
    assert.ok(Math.abs(got.expires.getTime() - expected.expires.getTime()) < 60_000);
    for (const key of Object.keys(expected.json)) assert.ok(key in got.json, `cookie JSON has ${key}`);
    assert.equal('maxAge' in got.json, false, 'maxAge is not persisted, as with Cookie#toJSON');
    assert.equal(got.json.path, '/');
    assert.equal(got.json.httpOnly, true);
  });
});

describe('connect-redis under coatcheck', { skip: !hasRedis && 'redis-server is not installed' }, () => {
  let redis: RedisServer;
  let connection: Connection<NodeRedisClient>;
  before(async () => {
    redis = await startRedis();
    connection = await connectRedis('node-redis', redis);
  });
  after(async () => {
    await connection?.close();
    await redis?.dispose();
  });

  it('sets the key TTL from cookie.expires to the session expiry, as express-session makes it do', async () => {
    const options = { cookie: { maxAge: 7 * DAY } };
    const controlStore = new ConnectRedisStore({ client: connection.client, prefix: 'control:' });
    const legacy = express();
    legacy.use(
      expressSession({
        secret: SECRET,
        store: controlStore,
        resave: false,
        saveUninitialized: false,
        ...options,
      }) as never,
    );
    legacy.get('/login', (req, res) => {
      (req as unknown as { session: Bag }).session.user = 'alice';
      res.json({ id: req.sessionID });
    });
    const old = await listen(legacy as never);
    const controlId = ((await new Client(old.url).get('/login')).json() as { id: string }).id;
    await old.close();
    const expected = await connection.client.pTTL(`control:${controlId}`);
    assert.ok(Math.abs(expected - 7 * DAY) < 60_000, `control TTL ${expected}`);

    const store = new ConnectRedisStore({ client: connection.client, prefix: 'sess:' });
    const app = await startTestApp(asStore(store), {
      ...options,
      now: () => Date.now(),
      idleTimeoutMs: 7 * DAY,
      absoluteTimeoutMs: 30 * DAY,
    });
    const login = await new Client(app.url).post('/login', { userId: 'alice' });
    const handle = (login.json() as { handle: string }).handle;
    const ttl = await connection.client.pTTL(`sess:${handle}`);
    assert.ok(Math.abs(ttl - expected) < 60_000, `TTL ${ttl} ms, express-session gets ${expected} ms`);
    await app.close();
  });
});
