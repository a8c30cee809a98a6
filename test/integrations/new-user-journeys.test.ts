/**
 * A new user's journeys over the real clients: Express 5 + Passport (remember me through
 * `req.session.cookie.maxAge`, logout) and Socket.IO sharing the Express session middleware, with
 * requests that never read the session's data between ones that do.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import type { SessionPatch } from '../../packages/coatcheck/src/core/store/record.js';
import { session, type TypedSession } from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { Client } from '../support/http.js';

const SECRET = 'test-secret-that-is-long-enough-0123456789';
const DAY_MS = 86_400_000;

type SessionRequest = express.Request & { session: TypedSession & Record<string, unknown> };

/** Resolvers of requests waiting in /remember-slow. */
const gate: (() => void)[] = [];
const waiting = async () => {
  while (gate.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
};

/** A MemoryStore that keeps every update's patch, to see which request wrote what. */
class RecordingStore extends MemoryStore {
  readonly updates: SessionPatch[] = [];
  override async update(handle: string, patch: SessionPatch) {
    this.updates.push(patch);
    return super.update(handle, patch);
  }
}

interface Running {
  store: RecordingStore;
  url: string;
  close(): Promise<void>;
}

/** The session clock: tests move it past the renewal interval so a request renews its session. */
let clockOffsetMs = 0;
const now = () => Date.now() + clockOffsetMs;

async function startApp(options: { resave?: boolean } = {}): Promise<Running> {
  const store = new RecordingStore({ now });
  const middleware = session({ secret: SECRET, store, now, warn: () => {}, guessLimit: false, ...options });
  const auth = new passport.Passport();
  auth.use(
    new LocalStrategy((username, password, done) =>
      password === `${username}-password` ? done(null, { id: `u-${username}` }) : done(null, false),
    ),
  );
  auth.serializeUser((user, done) => done(null, (user as { id: string }).id));
  auth.deserializeUser((id: string, done) => done(null, { id }));

  const app = express();
  app.use(express.json());
  app.use(middleware);
  app.use(auth.session());
  app.post('/cart', (req, res) => {
    const s = (req as SessionRequest).session;
    s.cart = [...((s.cart as string[] | undefined) ?? []), (req.body as { item: string }).item];
    res.json({ ok: true });
  });
  app.post('/login', auth.authenticate('local', { keepSessionInfo: true }), (req, res) => {
    if ((req.body as { remember?: boolean }).remember) req.session.cookie.maxAge = 30 * DAY_MS;
    res.json({ user: (req.user as { id: string }).id });
  });
  // Only the cookie is touched: the session's data is never read here.
  app.post('/remember', (req, res) => {
    req.session.cookie.maxAge = 30 * DAY_MS;
    res.json({ ok: true });
  });
  // The same, while another request of the browser runs: waits for the test to open the gate.
  app.post('/remember-slow', async (req, res) => {
    await new Promise<void>((resolve) => gate.push(resolve));
    req.session.cookie.maxAge = 30 * DAY_MS;
    res.json({ ok: true });
  });
  // Never touches req.session: the engine alone renews the session when this request ends.
  app.post('/noop-slow', async (_req, res) => {
    await new Promise<void>((resolve) => gate.push(resolve));
    res.json({ ok: true });
  });
  app.post('/cart-slow', async (req, res) => {
    await new Promise<void>((resolve) => gate.push(resolve));
    const s = (req as SessionRequest).session;
    s.cart = [...((s.cart as string[] | undefined) ?? []), 'late'];
    res.json({ ok: true });
  });
  app.post('/logout', (req, res, next) => {
    req.logout((error) => (error ? next(error) : res.json({ ok: true })));
  });
  app.get('/me', (req, res) => {
    const { cookie: _cookie, ...data } = (req as SessionRequest).session as Record<string, unknown>;
    res.json({ user: (req.user as { id: string } | undefined)?.id ?? null, data });
  });

  const server = createServer(app);
  const io = new Server(server);
  io.engine.use(middleware);
  io.on('connection', (socket) => {
    const req = socket.request as unknown as SessionRequest;
    socket.on('set', (patch: Record<string, unknown>, ack: (answer: unknown) => void) => {
      Object.assign(req.session, patch);
      (req.session.save() as Promise<void>).then(
        () => ack({ ok: true }),
        (error: { code?: string; message?: string }) =>
          ack({ ok: false, error: error.code ?? error.message }),
      );
    });
    socket.on('reload', (ack: (answer: unknown) => void) => {
      (req.session.reload() as Promise<void>).then(
        () => {
          const { cookie: _cookie, ...data } = req.session as Record<string, unknown>;
          ack({ ok: true, data });
        },
        (error: { code?: string; message?: string }) =>
          ack({ ok: false, error: error.code ?? error.message }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    store,
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      io.disconnectSockets(true);
      server.closeAllConnections();
      await new Promise<void>((resolve) => io.close(() => resolve()));
      await store.close();
    },
  };
}

function openSocket(
  url: string,
  cookie: string,
  transports: ('polling' | 'websocket')[] = ['websocket'],
): Promise<Socket> {
  const socket = connect(url, {
    forceNew: true,
    reconnection: false,
    transports,
    extraHeaders: { cookie },
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

const ask = <T>(socket: Socket, event: string, ...args: unknown[]) =>
  socket.timeout(2_000).emitWithAck(event, ...args) as Promise<T>;

const maxAgeOf = (setCookies: string[]) => {
  const line = setCookies.find((one) => one.startsWith('id='));
  return line ? Number(/max-age=(\d+)/i.exec(line)?.[1] ?? Number.NaN) : null;
};

describe('a new user on Express 5 + Passport + Socket.IO', () => {
  let app: Running;
  before(async () => {
    app = await startApp();
  });
  after(() => app.close());

  it('keeps the cart through a remembered login, a cookie-only request and a logout', async () => {
    const client = new Client(app.url);
    await client.post('/cart', { item: 'apple' });
    const login = await client.post('/login', {
      username: 'alice',
      password: 'alice-password',
      remember: true,
    });
    assert.equal(login.status, 200);
    // A persistent cookie, capped by the absolute timeout (12 h by default) as the README says.
    assert.ok(
      Math.abs((maxAgeOf(login.setCookies) ?? 0) - 43_200) <= 2,
      'remember me sets a persistent cookie',
    );
    assert.deepEqual((await client.get('/me')).json(), {
      user: 'u-alice',
      data: { cart: ['apple'], passport: { user: 'u-alice' } },
    });

    const remember = await client.post('/remember');
    assert.ok(Math.abs((maxAgeOf(remember.setCookies) ?? 0) - 43_200) <= 2);
    await client.post('/cart', { item: 'pear' });
    await client.post('/remember');
    assert.deepEqual((await client.get('/me')).json(), {
      user: 'u-alice',
      data: { cart: ['apple', 'pear'], passport: { user: 'u-alice' } },
    });

    const stolen = client.cookieHeader;
    assert.equal((await client.post('/logout')).status, 200);
    assert.equal(((await client.get('/me')).json() as { user: unknown }).user, null);
    const replay = await client.get('/me', { cookie: stolen });
    assert.equal((replay.json() as { user: unknown }).user, null, 'the old cookie no longer signs in');
  });

  it('keeps a cart item written while a cookie-only request of the same browser was running', async () => {
    const client = new Client(app.url);
    await client.post('/login', { username: 'dave', password: 'dave-password' });
    await client.post('/cart', { item: 'fig' });
    const slow = client.post('/remember-slow');
    await waiting();
    await client.post('/cart', { item: 'kiwi' });
    gate.shift()!();
    assert.equal((await slow).status, 200);
    assert.deepEqual(((await client.get('/me')).json() as { data: unknown }).data, {
      passport: { user: 'u-dave' },
      cart: ['fig', 'kiwi'],
    });
  });

  for (const route of ['/remember-slow', '/cart-slow']) {
    it(`keeps a user signed out when ${route}, begun before the logout, ends after it`, async () => {
      const client = new Client(app.url);
      await client.post('/login', { username: 'erin', password: 'erin-password' });
      const cookie = client.cookieHeader;
      const slow = client.post(route);
      await waiting();
      assert.equal((await client.post('/logout')).status, 200);
      gate.shift()!();
      await slow;
      const replay = await client.get('/me', { cookie });
      assert.equal((replay.json() as { user: unknown }).user, null, 'the old cookie stays signed out');
      assert.equal(((await client.get('/me')).json() as { user: unknown }).user, null);
    });
  }

  for (const transports of [['websocket'], ['polling']] as ('polling' | 'websocket')[][]) {
    it(`shares writes both ways between HTTP and a socket over ${transports[0]}, save after save`, async () => {
      const client = new Client(app.url);
      await client.post('/login', { username: 'bob', password: 'bob-password' });
      const socket = await openSocket(app.url, client.cookieHeader, transports);
      try {
        assert.deepEqual(await ask(socket, 'set', { theme: 'dark' }), { ok: true });
        assert.deepEqual(await ask(socket, 'set', { lang: 'fr' }), { ok: true });
        assert.deepEqual((await client.get('/me')).json(), {
          user: 'u-bob',
          data: { passport: { user: 'u-bob' }, theme: 'dark', lang: 'fr' },
        });
        await client.post('/cart', { item: 'plum' });
        await client.post('/remember');
        const reloaded = await ask<{ ok: boolean; data: Record<string, unknown> }>(socket, 'reload');
        assert.deepEqual(reloaded, {
          ok: true,
          data: { passport: { user: 'u-bob' }, theme: 'dark', lang: 'fr', cart: ['plum'] },
        });
        assert.deepEqual(await ask(socket, 'set', { volume: 3 }), { ok: true });
        assert.deepEqual(((await client.get('/me')).json() as { data: unknown }).data, {
          passport: { user: 'u-bob' },
          theme: 'dark',
          lang: 'fr',
          cart: ['plum'],
          volume: 3,
        });
      } finally {
        socket.disconnect();
      }
    });
  }

  it('does not sign a logged-out user back in when a socket saves afterwards', async () => {
    const client = new Client(app.url);
    await client.post('/login', { username: 'carol', password: 'carol-password' });
    const cookie = client.cookieHeader;
    const socket = await openSocket(app.url, cookie);
    try {
      assert.equal((await client.post('/logout')).status, 200);
      const answer = await ask<{ ok: boolean }>(socket, 'set', { theme: 'light' });
      const replay = await client.get('/me', { cookie });
      assert.equal(
        (replay.json() as { user: unknown }).user,
        null,
        `socket save answered ${JSON.stringify(answer)}`,
      );
    } finally {
      socket.disconnect();
    }
  });
});

for (const resave of [false, true]) {
  describe(`a renewal by a request that never read the data (resave: ${resave})`, () => {
    let app: Running;
    before(async () => {
      app = await startApp({ resave });
    });
    after(() => app.close());

    it('keeps a cart item written while that request ran', async () => {
      const client = new Client(app.url);
      await client.post('/login', { username: 'hal', password: 'hal-password' });
      await client.post('/cart', { item: 'lime' });
      clockOffsetMs += 5 * 60_000;
      const slow = client.post('/noop-slow');
      await waiting();
      await client.post('/cart', { item: 'date' });
      const updatesBefore = app.store.updates.length;
      gate.shift()!();
      assert.equal((await slow).status, 200);
      const renewal = app.store.updates.slice(updatesBefore);
      assert.equal(renewal.length, 1, 'the request that never read the data renewed the session');
      assert.equal('data' in renewal[0]!, false, 'and wrote no data');
      assert.deepEqual(((await client.get('/me')).json() as { data: unknown }).data, {
        passport: { user: 'u-hal' },
        cart: ['lime', 'date'],
      });
    });
  });
}
