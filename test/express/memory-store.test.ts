import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import express from 'express';
import expressSession from 'express-session';
import { Server as SocketServer } from 'socket.io';
import { io as connectSocket } from 'socket.io-client';
import sessionDefault, {
  MemoryStore,
  Store,
  type StoredSession,
} from '../../packages/coatcheck/src/express/index.js';
import { runStoreConformance } from '../../packages/coatcheck/src/testing/conformance.js';
import { Clock, SECRET, startTestApp } from '../support/app.js';
import { Client, listen } from '../support/http.js';

type Bag = Record<string, unknown>;

runStoreConformance({
  name: "coatcheck/express MemoryStore (express-session's API on top)",
  createStore: () => new MemoryStore({ maxSessions: 100_000 }),
});

/** Calls a callback-style method and resolves with what it calls back with. */
function called<T>(
  run: (callback: (error: Error | null, value?: T) => void) => void,
): Promise<T | undefined> {
  return new Promise((resolve, reject) => run((error, value) => (error ? reject(error) : resolve(value))));
}

/** The coatcheck app with an express MemoryStore that keeps the app's clock. */
async function startApp(options: { maxSessions?: number } = {}) {
  const clock = new Clock();
  const store = new MemoryStore({ now: clock.now, ...options });
  const app = await startTestApp(store, { now: clock.now });
  return { app, store, clock };
}

/** Signs a new browser in and returns it with its `req.sessionID`. */
async function signIn(url: string, userId: string, data: Bag = {}) {
  const browser = new Client(url);
  const login = await browser.post('/login', { userId });
  assert.equal(login.status, 200);
  if (Object.keys(data).length) assert.equal((await browser.post('/set', data)).status, 200);
  return { browser, sid: (login.json() as { handle: string }).handle };
}

describe("coatcheck/express MemoryStore with express-session's store API", () => {
  it('is an express-session Store and an EventEmitter, exported as session.MemoryStore', async () => {
    const store = new MemoryStore();
    assert.ok(store instanceof Store);
    assert.ok(store instanceof EventEmitter);
    assert.equal(sessionDefault.MemoryStore, MemoryStore);
    const seen: string[] = [];
    store.on('disconnect', () => seen.push('disconnect'));
    store.emit('disconnect');
    assert.deepEqual(seen, ['disconnect']);
    await store.close();
  });

  it("require('coatcheck/express').MemoryStore has the callback API too", async () => {
    const required = createRequire(import.meta.url)('coatcheck/express') as typeof sessionDefault;
    const store = new required.MemoryStore();
    assert.ok(store instanceof required.Store);
    assert.equal(await called((cb) => store.length(cb)), 0);
    await store.close();
  });

  it("get(sid, cb) gives the session's data and cookie in express-session's shape, as its MemoryStore does", async () => {
    // Control: what express-session's own MemoryStore gives for the same request.
    const controlStore = new expressSession.MemoryStore() as {
      get(sid: string, cb: (error: Error | null, value?: Bag) => void): void;
    };
    const control = express();
    control.use(express.json());
    control.use(
      expressSession({
        secret: SECRET,
        store: controlStore,
        resave: false,
        saveUninitialized: false,
      }) as express.RequestHandler,
    );
    control.post('/set', (req, res) => {
      Object.assign((req as unknown as { session: Bag }).session, req.body);
      res.json({ id: req.sessionID });
    });
    const controlApp = await listen(control as never);
    const controlSid = (
      (await new Client(controlApp.url).post('/set', { cart: [1] })).json() as { id: string }
    ).id;
    const expected = await called<Bag>((cb) => controlStore.get(controlSid, cb));
    await controlApp.close();

    const { app, store } = await startApp();
    const { sid } = await signIn(app.url, 'alice', { cart: [1] });
    const got = await called<StoredSession | null>((cb) => store.get(sid, cb));
    assert.ok(got);
    assert.deepEqual(got.cart, expected!.cart);
    for (const key of Object.keys(expected!.cookie as Bag)) assert.ok(key in got.cookie, `cookie.${key}`);
    assert.equal(typeof got.cookie.expires, 'string', 'expires is an ISO date, as after JSON');
    assert.ok(Date.parse(got.cookie.expires!) > Date.now());
    assert.equal(got.cookie.path, '/');
    assert.equal(got.cookie.httpOnly, true);

    assert.equal(await called((cb) => store.get('no-such-session-handle-000000', cb)), null);
    await app.close();
  });

  it('answers the Socket.IO recipe store.get(socket.request.sessionID, cb) for a session made over HTTP', async () => {
    const store = new MemoryStore();
    const middleware = sessionDefault({ secret: SECRET, store, warn: () => {} });
    const app = express();
    app.use(express.json());
    app.use(middleware);
    app.post('/login', async (req, res) => {
      await req.session.login('alice');
      req.session.room = 'lobby';
      res.json({ ok: true });
    });
    const running = await listen(app as never);
    const io = new SocketServer(running.server);
    io.engine.use(middleware);
    io.on('connection', (socket) => {
      const request = socket.request as typeof socket.request & { sessionID: string };
      store.get(request.sessionID, (error, session) => {
        socket.emit('hello', { error: error?.message ?? null, room: session?.room ?? null });
      });
    });

    const browser = new Client(running.url);
    assert.equal((await browser.post('/login')).status, 200);
    const { port } = running.server.address() as AddressInfo;
    const socket = connectSocket(`http://127.0.0.1:${port}`, {
      extraHeaders: { cookie: browser.cookieHeader },
      transports: ['polling'],
      reconnection: false,
    });
    try {
      const hello = await new Promise((resolve, reject) => {
        socket.on('hello', resolve);
        socket.on('connect_error', reject);
      });
      assert.deepEqual(hello, { error: null, room: 'lobby' });
    } finally {
      socket.close();
      await new Promise<void>((resolve) => io.close(() => resolve()));
      await running.close();
    }
  });

  it('set(sid, session, cb) changes what the next request sees; destroy(sid, cb) signs the browser out', async () => {
    const { app, store } = await startApp();
    const { browser, sid } = await signIn(app.url, 'alice', { role: 'user' });
    const session = await called<StoredSession | null>((cb) => store.get(sid, cb));
    session!.role = 'admin';
    await called((cb) => store.set(sid, session!, cb));
    const me = (await browser.get('/me')).json() as { data: Bag; userId: string };
    assert.equal(me.userId, 'alice');
    assert.equal(me.data.role, 'admin');

    await called((cb) => store.destroy(sid, cb));
    assert.equal((await browser.get('/me')).status, 401);
    // S29: writing to an ended session does not bring it back.
    await called((cb) => store.set(sid, session!, cb));
    assert.equal(await store.get(sid), null);
    await app.close();
  });

  it('touch(sid, session, cb) renews the session up to the cookie expiry, never past the absolute timeout', async () => {
    const { app, store, clock } = await startApp();
    const { browser, sid } = await signIn(app.url, 'alice');
    const before = (await store.get(sid))!;
    const session = (await called<StoredSession | null>((cb) => store.get(sid, cb)))!;
    session.cookie.expires = new Date(clock.now() + 24 * 3_600_000).toISOString();
    await called((cb) => store.touch(sid, session, cb));
    const after = (await store.get(sid))!;
    assert.equal(after.idleExpiresAt, before.absoluteExpiresAt, 'capped by the absolute timeout');
    clock.advance(before.idleExpiresAt - clock.now() + 60_000);
    assert.equal((await browser.get('/me')).status, 200, 'still signed in after the old idle expiry');
    await app.close();
  });

  it('all, length and clear see every live session, by callback or promise', async () => {
    const { app, store } = await startApp();
    const a = await signIn(app.url, 'alice', { n: 1 });
    const b = await signIn(app.url, 'bob', { n: 2 });
    assert.equal(await called((cb) => store.length(cb)), 2);
    assert.equal(await store.length(), 2);
    const all = await called<Record<string, StoredSession>>((cb) => store.all(cb));
    assert.deepEqual(Object.keys(all!).sort(), [a.sid, b.sid].sort());
    assert.equal(all![a.sid]!.n, 1);
    assert.equal((await store.all())[b.sid]!.n, 2);
    await called((cb) => store.clear(cb));
    assert.equal(await store.length(), 0);
    assert.equal((await a.browser.get('/me')).status, 401);
    assert.equal((await b.browser.get('/me')).status, 401);
    await app.close();
  });

  it('stays within its bound: the oldest session is dropped and signed out', async () => {
    const { app, store } = await startApp({ maxSessions: 3 });
    const browsers = [];
    for (const user of ['u1', 'u2', 'u3', 'u4']) browsers.push(await signIn(app.url, user));
    assert.equal(await called((cb) => store.length(cb)), 3);
    assert.equal((await browsers[0]!.browser.get('/me')).status, 401);
    for (const { browser } of browsers.slice(1)) assert.equal((await browser.get('/me')).status, 200);
    await app.close();
  });
});
