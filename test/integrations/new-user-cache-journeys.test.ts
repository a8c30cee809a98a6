/**
 * A new user's sign-in and sign-out journeys over real clients, each presenting a cookie the engine
 * has already verified (and so cached) before the session ends: Express 5 + Passport on SqliteStore
 * over HTTP (logout, a second login, logout everywhere, a forged MAC, scheduled rotation, a second
 * instance on the same file), Fastify 5 over inject, Hono 4 on @hono/node-server, a Socket.IO
 * handshake and two Chromium tabs. Every ended session's old cookie, replayed, must be anonymous.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { chromium } from 'playwright-core';
import { Server as SocketServer } from 'socket.io';
import { io as connectSocket } from 'socket.io-client';
import { session } from '../../packages/coatcheck/src/express/index.js';
import { session as fastifySession } from '../../packages/coatcheck/src/fastify/index.js';
import {
  type Env,
  requireAuth as honoRequireAuth,
  session as honoSession,
} from '../../packages/coatcheck/src/hono/index.js';
import { SqliteStore } from '../../packages/coatcheck/src/stores/sqlite.js';
import { Client, listen, type Running } from '../support/http.js';
import { localPassport } from '../support/passport-app.js';

const SECRET = 'test-secret-that-is-long-enough-0123456789';
const quiet = { secret: SECRET, warn: () => {}, guessLimit: false } as const;

/** A request with a cookie header of our choosing, outside any jar. */
async function replay(url: string, cookie: string) {
  const res = await fetch(url, { headers: { cookie }, redirect: 'manual' });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

describe('Express 5 + Passport on SqliteStore: old cookies are dead after every sign-in and sign-out', () => {
  let store: SqliteStore;
  let running: Running;
  before(async () => {
    store = new SqliteStore({ path: ':memory:' });
    const auth = localPassport();
    const app = express();
    app.use(express.json());
    app.use(session({ ...quiet, store }));
    app.use(auth.session());
    app.post('/login', auth.authenticate('local'), (req, res) => {
      res.json({ user: (req.user as { id: string }).id });
    });
    app.post('/note', (req, res) => {
      (req.session as unknown as Record<string, unknown>).note = (req.body as { note: string }).note;
      res.json({ ok: true });
    });
    app.get('/me', (req, res) => {
      const data = req.session as unknown as Record<string, unknown>;
      res.json({ user: (req.user as { id: string } | undefined)?.id ?? null, note: data.note ?? null });
    });
    app.post('/logout', (req, res, next) => {
      req.logout((error) => (error ? next(error) : res.json({ ok: true })));
    });
    app.post('/logout-everywhere', async (req, res) => {
      await req.session.logoutEverywhere();
      res.json({ ok: true });
    });
    running = await listen(app as never);
  });
  after(async () => {
    await running.close();
    await store.close();
  });

  const signIn = async (client: Client, name: string) => {
    const res = await client.post('/login', { username: name, password: `${name}-pw` });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), { user: `u-${name}` });
    return client.cookieHeader;
  };

  it('log in, read twice, log out with the req.logout callback, replay the old cookie', async () => {
    const client = new Client(running.url);
    const cookie = await signIn(client, 'ada');
    for (let i = 0; i < 3; i++)
      assert.equal(((await client.get('/me')).json() as { user: string }).user, 'u-ada');
    const out = await client.post('/logout', {});
    assert.equal(out.status, 200);
    assert.equal(client.jar.size, 0, 'the cookie is cleared');
    const again = await replay(`${running.url}/me`, cookie);
    assert.deepEqual(JSON.parse(again.text), { user: null, note: null });
    // Replayed a second time (a cached verification would answer now): still nobody.
    assert.deepEqual(JSON.parse((await replay(`${running.url}/me`, cookie)).text), {
      user: null,
      note: null,
    });
  });

  it('an anonymous cookie used before sign-in, and the first login, are dead after the second login', async () => {
    const client = new Client(running.url);
    await client.post('/note', { note: 'before login' });
    const anonymous = client.cookieHeader;
    assert.equal((await replay(`${running.url}/me`, anonymous)).text.includes('before login'), true);
    const first = await signIn(client, 'ada');
    assert.notEqual(first, anonymous);
    await client.get('/me');
    const second = await signIn(client, 'bob');
    assert.notEqual(second, first);
    assert.equal(((await client.get('/me')).json() as { user: string }).user, 'u-bob');
    for (const old of [anonymous, first, anonymous, first]) {
      assert.deepEqual(JSON.parse((await replay(`${running.url}/me`, old)).text), { user: null, note: null });
    }
  });

  it('log out everywhere ends another device whose cookie was already verified', async () => {
    const laptop = new Client(running.url);
    const phone = new Client(running.url);
    await signIn(laptop, 'cy');
    await signIn(phone, 'cy');
    const phoneCookie = phone.cookieHeader;
    assert.equal(((await phone.get('/me')).json() as { user: string }).user, 'u-cy');
    assert.equal(((await phone.get('/me')).json() as { user: string }).user, 'u-cy');
    assert.equal((await laptop.post('/logout-everywhere', {})).status, 200);
    assert.equal(((await phone.get('/me')).json() as { user: null }).user, null);
    assert.equal(JSON.parse((await replay(`${running.url}/me`, phoneCookie)).text).user, null);
    // The device that asked stays signed in.
    assert.equal(((await laptop.get('/me')).json() as { user: string }).user, 'u-cy');
  });

  it('a cookie with one character of its MAC changed is refused even after the real one was cached', async () => {
    const client = new Client(running.url);
    await signIn(client, 'dee');
    await client.get('/me');
    const value = client.jar.get('id')!;
    const last = value.at(-1) === 'A' ? 'B' : 'A';
    const forged = `id=${value.slice(0, -1)}${last}`;
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(JSON.parse((await replay(`${running.url}/me`, forged)).text), {
        user: null,
        note: null,
      });
    }
    assert.equal(((await client.get('/me')).json() as { user: string }).user, 'u-dee');
  });
});

describe('Fastify 5 over inject on SqliteStore: login, read, logout, replay', () => {
  it('the old cookie is anonymous after logout and after a second login', async () => {
    const store = new SqliteStore({ path: ':memory:' });
    const app = Fastify();
    await app.register(fastifySession, { ...quiet, store });
    app.post('/login', async (request) => {
      await request.session.login((request.body as { user: string }).user);
      return { ok: true };
    });
    app.get('/me', async (request) => ({ user: request.session.meta?.userId ?? null }));
    app.post('/logout', async (request) => {
      await request.session.logout();
      return { ok: true };
    });
    const cookieOf = (res: { headers: Record<string, unknown> }) => {
      const line = [res.headers['set-cookie'] ?? []].flat().map(String)[0] ?? '';
      return line.split(';')[0]!;
    };
    const me = async (cookie: string) =>
      (await app.inject({ method: 'GET', url: '/me', headers: { cookie } })).json() as {
        user: string | null;
      };
    try {
      const login = async (user: string, cookie = '') =>
        cookieOf(
          await app.inject({
            method: 'POST',
            url: '/login',
            payload: { user },
            headers: cookie ? { cookie } : {},
          }),
        );
      const first = await login('u-1');
      assert.deepEqual(await me(first), { user: 'u-1' });
      assert.deepEqual(await me(first), { user: 'u-1' });
      const second = await login('u-2', first);
      assert.notEqual(second, first);
      assert.deepEqual(await me(first), { user: null }, 'the first login is dead after the second');
      assert.deepEqual(await me(second), { user: 'u-2' });
      const out = await app.inject({
        method: 'POST',
        url: '/logout',
        payload: {},
        headers: { cookie: second },
      });
      assert.equal(out.statusCode, 200);
      assert.match(String(out.headers['set-cookie']), /Max-Age=0|Expires=Thu, 01 Jan 1970/i);
      assert.deepEqual(await me(second), { user: null });
      assert.deepEqual(await me(second), { user: null });
    } finally {
      await app.close();
      await store.close();
    }
  });
});

describe('Hono 4 on @hono/node-server with SqliteStore: no-store while signed in, logout clears the cookie', () => {
  it('signed-in responses are no-store, logout clears the cookie and the replayed one is anonymous', async () => {
    const store = new SqliteStore({ path: ':memory:' });
    const app = new Hono<Env>();
    app.use(honoSession({ ...quiet, store }));
    app.post('/login', async (c) => {
      await c.get('session').login('u-h');
      return c.json({ ok: true });
    });
    app.get('/me', honoRequireAuth(), (c) => {
      c.header('Cache-Control', 'private, max-age=600');
      return c.json({ user: c.get('session').meta?.userId ?? null });
    });
    app.get('/public', (c) => c.text('hello', 200, { 'Cache-Control': 'public, max-age=60' }));
    app.post('/logout', async (c) => {
      await c.get('session').logout();
      return c.json({ ok: true });
    });
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const client = new Client(url);
      const login = await client.post('/login', {});
      assert.equal(login.headers.get('cache-control'), 'no-store');
      const cookie = client.cookieHeader;
      for (let i = 0; i < 2; i++) {
        const read = await client.get('/me');
        assert.deepEqual(read.json(), { user: 'u-h' });
        assert.equal(read.headers.get('cache-control'), 'no-store');
      }
      assert.equal((await client.get('/public')).headers.get('cache-control'), 'no-store');
      const out = await client.post('/logout', {});
      assert.equal(out.headers.get('cache-control'), 'no-store');
      assert.match(out.headers.get('clear-site-data') ?? '', /cache/);
      assert.equal(client.jar.size, 0, 'logout clears the cookie');
      const replayed = await replay(`${url}/me`, cookie);
      assert.equal(replayed.status, 401);
      assert.equal((await replay(`${url}/me`, cookie)).status, 401);
      const anonymous = await fetch(`${url}/public`);
      assert.equal(anonymous.headers.get('cache-control'), 'public, max-age=60');
      await anonymous.text();
    } finally {
      (server as unknown as { closeAllConnections(): void }).closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
    }
  });
});

describe('Express on SqliteStore: rotation and a second instance sharing the file', () => {
  it('after a scheduled rotation the old cookie works only within the grace, then never', async () => {
    let offset = 0;
    const now = () => Date.now() + offset;
    const store = new SqliteStore({ path: ':memory:', now });
    const app = express();
    app.use(session({ ...quiet, store, now, rotationIntervalMs: 60_000, rotationGraceMs: 10_000 }));
    app.post('/login', async (req, res) => {
      await req.session.login('u-r');
      res.json({ ok: true });
    });
    app.get('/me', (req, res) => res.json({ user: req.session.meta?.userId ?? null }));
    app.post('/logout', async (req, res) => {
      await req.session.logout();
      res.json({ ok: true });
    });
    const running = await listen(app as never);
    try {
      const client = new Client(running.url);
      await client.post('/login', {});
      const old = client.cookieHeader;
      assert.deepEqual((await client.get('/me')).json(), { user: 'u-r' });
      offset += 61_000;
      const rotated = await client.get('/me');
      assert.deepEqual(rotated.json(), { user: 'u-r' });
      assert.notEqual(client.cookieHeader, old, 'the rotation sent a new cookie');
      assert.equal(JSON.parse((await replay(`${running.url}/me`, old)).text).user, 'u-r', 'within the grace');
      offset += 11_000;
      for (let i = 0; i < 2; i++)
        assert.equal(JSON.parse((await replay(`${running.url}/me`, old)).text).user, null);
      assert.deepEqual((await client.get('/me')).json(), { user: 'u-r' });
      // Rotate once more, then log out: the predecessor within its grace is dead too.
      offset += 61_000;
      const before = client.cookieHeader;
      await client.get('/me');
      assert.notEqual(client.cookieHeader, before);
      await client.post('/logout', {});
      for (const cookie of [before, before]) {
        assert.equal(JSON.parse((await replay(`${running.url}/me`, cookie)).text).user, null);
      }
    } finally {
      await running.close();
      await store.close();
    }
  });

  it('a logout on one instance ends the session on another that had verified its cookie', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coatcheck-cache-'));
    const path = join(dir, 'sessions.db');
    const stores = [new SqliteStore({ path }), new SqliteStore({ path })];
    const servers = await Promise.all(
      stores.map((store) => {
        const app = express();
        app.use(session({ ...quiet, store }));
        app.post('/login', async (req, res) => {
          await req.session.login('u-two');
          res.json({ ok: true });
        });
        app.get('/me', (req, res) => res.json({ user: req.session.meta?.userId ?? null }));
        app.post('/logout', async (req, res) => {
          await req.session.logout();
          res.json({ ok: true });
        });
        return listen(app as never);
      }),
    );
    try {
      const [a, b] = servers as [Running, Running];
      const client = new Client(a.url);
      await client.post('/login', {});
      const cookie = client.cookieHeader;
      for (let i = 0; i < 2; i++)
        assert.equal(JSON.parse((await replay(`${b.url}/me`, cookie)).text).user, 'u-two');
      await client.post('/logout', {});
      for (let i = 0; i < 2; i++)
        assert.equal(JSON.parse((await replay(`${b.url}/me`, cookie)).text).user, null);
    } finally {
      for (const running of servers) await running.close();
      for (const store of stores) await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Socket.IO sharing the Express session on SqliteStore', () => {
  it('after a logout over HTTP a handshake with the old cookie sees nobody', async () => {
    const store = new SqliteStore({ path: ':memory:' });
    const sessions = session({ ...quiet, store });
    const app = express();
    app.use(sessions);
    app.post('/login', async (req, res) => {
      await req.session.login('u-sock');
      res.json({ ok: true });
    });
    app.post('/logout', async (req, res) => {
      await req.session.logout();
      res.json({ ok: true });
    });
    const running = await listen(app as never);
    const io = new SocketServer(running.server);
    io.engine.use(sessions);
    io.on('connection', (socket) => {
      const req = socket.request as unknown as { session: { meta: { userId: string | null } | null } };
      socket.emit('who', req.session.meta?.userId ?? null);
    });
    const who = (cookie: string) =>
      new Promise<string | null>((resolve, reject) => {
        const socket = connectSocket(running.url, {
          transports: ['websocket'],
          extraHeaders: { cookie },
          reconnection: false,
        });
        socket.once('who', (user: string | null) => {
          socket.disconnect();
          resolve(user);
        });
        socket.once('connect_error', reject);
      });
    try {
      const client = new Client(running.url);
      await client.post('/login', {});
      const cookie = client.cookieHeader;
      assert.equal(await who(cookie), 'u-sock');
      assert.equal(await who(cookie), 'u-sock');
      await client.post('/logout', {});
      assert.equal(await who(cookie), null);
      assert.equal(await who(cookie), null);
    } finally {
      await new Promise<void>((resolve) => io.close(() => resolve()));
      await running.close().catch(() => {});
      await store.close();
    }
  });
});

describe('Chromium, two tabs, Express + Passport on SqliteStore', () => {
  it('signing out in one tab signs the other out', async () => {
    const store = new SqliteStore({ path: ':memory:' });
    const auth = localPassport();
    const app = express();
    app.use(express.urlencoded({ extended: false }));
    app.use(session({ ...quiet, store }));
    app.use(auth.session());
    app.get('/login', (_req, res) => {
      res
        .type('html')
        .send(
          '<form method="post" action="/login"><input id="u" name="username"><input id="p" name="password">' +
            '<button id="go">go</button></form>',
        );
    });
    app.post('/login', auth.authenticate('local', { failureRedirect: '/login' }), (_req, res) => {
      res.redirect(303, '/me');
    });
    app.get('/me', (req, res) => {
      res.type('html').send(`<p id="who">${(req.user as { id: string } | undefined)?.id ?? 'nobody'}</p>`);
    });
    app.get('/out', (_req, res) => {
      res.type('html').send('<form method="post" action="/logout"><button id="out">out</button></form>');
    });
    app.post('/logout', (req, res, next) => {
      req.logout((error) => (error ? next(error) : res.redirect(303, '/me')));
    });
    const running = await listen(app as never);
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu'],
    });
    try {
      const context = await browser.newContext();
      const first = await context.newPage();
      await first.goto(`${running.url}/login`);
      await first.fill('#u', 'eve');
      await first.fill('#p', 'eve-pw');
      await Promise.all([first.waitForURL(`${running.url}/me`), first.click('#go')]);
      assert.equal(await first.textContent('#who'), 'u-eve');
      const second = await context.newPage();
      await second.goto(`${running.url}/me`);
      assert.equal(await second.textContent('#who'), 'u-eve');
      const [cookie] = await context.cookies();
      await first.goto(`${running.url}/out`);
      await Promise.all([first.waitForURL(`${running.url}/me`), first.click('#out')]);
      assert.equal(await first.textContent('#who'), 'nobody');
      await second.reload();
      assert.equal(await second.textContent('#who'), 'nobody');
      // The cookie the tabs held before the sign-out, put back: still nobody.
      await context.addCookies([cookie!]);
      await second.reload();
      assert.equal(await second.textContent('#who'), 'nobody');
    } finally {
      await browser.close();
      await running.close();
      await store.close();
    }
  });
});
