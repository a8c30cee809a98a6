/**
 * The packed Redis layout (metadata in one `meta` field, string pointers for rotated sessions during
 * their grace period) and a session data key named `meta`, through real clients: Express 5 +
 * Passport over HTTP, Socket.IO handshakes, two Chromium tabs, and Fastify over inject.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { chromium } from 'playwright-core';
import { Server as SocketServer } from 'socket.io';
import { io as connectSocket } from 'socket.io-client';
import { requireAuth, session, sessionMetaOf } from '../../packages/coatcheck/src/express/index.js';
import {
  requireAuth as fastifyRequireAuth,
  requireFreshAuth as fastifyRequireFreshAuth,
  requireRole as fastifyRequireRole,
  requireStepUp as fastifyRequireStepUp,
} from '../../packages/coatcheck/src/fastify/index.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { startFastifyApp } from '../fastify/app.js';
import { Clock } from '../support/app.js';
import { ROTATION_OPTIONS } from '../support/gated-app.js';
import { Client, listen, type Running } from '../support/http.js';
import { localPassport } from '../support/passport-app.js';
import { hasRedis, redisForSuite } from '../support/redis-server.js';

const SECRET = 'test-secret-that-is-long-enough-0123456789';
const quiet = { secret: SECRET, warn: () => {}, guessLimit: false } as const;
const SECOND = 1000;
const uid = () => Math.random().toString(36).slice(2, 10);
/** With the 10 s already elapsed, past the grace period of ROTATION_OPTIONS. */
const GRACE_AFTER = ROTATION_OPTIONS.rotationGraceMs;
const hasChromium = existsSync('/usr/bin/chromium');
type Data = Record<string, unknown>;

async function replay(url: string, cookie: string) {
  const res = await fetch(url, { headers: { cookie }, redirect: 'manual' });
  return { status: res.status, text: await res.text() };
}

describe('newcomer: Redis packed layout and a data key named meta, with real clients', {
  skip: !hasRedis && 'redis-server is not installed',
}, () => {
  const redis = redisForSuite();
  const storeOf = (clock?: Clock) =>
    new RedisStore({
      client: redis.client as never,
      prefix: `n${uid()}:`,
      layout: 'packed',
      ...(clock ? { now: clock.now } : {}),
    });
  const keyType = async (key: string) => (await redis.server.cli('TYPE', key)).trim();

  describe('Express 5 + Passport on RedisStore', () => {
    let running: Running;
    let store: RedisStore;
    before(async () => {
      store = storeOf();
      const auth = localPassport();
      const app = express();
      app.use(express.json());
      app.use(session({ ...quiet, store }));
      app.use(auth.session());
      app.post('/login', auth.authenticate('local'), (req, res) => {
        res.json({ user: (req.user as { id: string }).id });
      });
      app.post('/meta', (req, res) => {
        (req.session as unknown as Data).meta = req.body;
        res.json({ ok: true });
      });
      app.get('/me', requireAuth(), (req, res) => {
        res.json({
          user: (req.user as { id: string } | undefined)?.id ?? null,
          recordUser: sessionMetaOf(req.session)?.userId ?? null,
          view: (req.session.meta as unknown as Data | undefined)?.userId ?? null,
          meta: (req.session as unknown as Data).meta ?? null,
        });
      });
      app.get('/sessions', requireAuth(), async (req, res) => {
        res.json(await req.session.listSessions());
      });
      app.post('/logout', (req, res, next) => {
        req.logout((error) => (error ? next(error) : res.json({ ok: true })));
      });
      app.post('/logout-everywhere', requireAuth(), async (req, res) => {
        res.json({ count: await req.session.logoutEverywhere() });
      });
      running = await listen(app as never);
    });
    after(async () => {
      await running.close();
    });

    const signIn = async (client: Client, name: string) => {
      const res = await client.post('/login', { username: name, password: `${name}-pw` });
      assert.equal(res.status, 200);
      return client.cookieHeader;
    };

    it('an anonymous session whose data meta names a user gets 401 from requireAuth and lists nothing', async () => {
      const anon = new Client(running.url);
      assert.equal((await anon.post('/meta', { userId: 'u-nina', authAt: Date.now() })).status, 200);
      assert.equal((await anon.get('/me')).status, 401);
      assert.equal((await anon.get('/sessions')).status, 401);
      assert.equal((await anon.post('/logout-everywhere', {})).status, 401);
    });

    it('data under meta is kept apart from the record; logout everywhere from a second device gives the first 401', async () => {
      const laptop = new Client(running.url);
      const phone = new Client(running.url);
      const tablet = new Client(running.url);
      await signIn(laptop, 'nina');
      await signIn(phone, 'nina');
      await signIn(tablet, 'nina');
      const laptopCookie = laptop.cookieHeader;
      // The app's own data under meta, naming someone else and no one.
      assert.equal((await laptop.post('/meta', { userId: 'admin', theme: 'dark' })).status, 200);
      assert.equal((await phone.post('/meta', { userId: null })).status, 200);
      const me = (await laptop.get('/me')).json() as Data;
      assert.equal(me.user, 'u-nina');
      assert.equal(me.recordUser, 'u-nina', 'the record, not the data, names the user');
      assert.deepEqual(me.meta, { userId: 'admin', theme: 'dark' });
      assert.equal(me.view, 'admin', 'documented: the data key shadows the meta view on Express');

      const handle = laptop.jar.get('id')!.split('.')[0]!;
      assert.equal(await keyType(store.sessionKey(handle)), 'hash');
      const fields = await redis.server.cli('HKEYS', store.sessionKey(handle));
      assert.ok(fields.split('\n').includes('meta'), `packed layout has a meta field: ${fields}`);

      const listed = (await phone.get('/sessions')).json() as { current: boolean }[];
      assert.equal(listed.length, 3, 'the phone (data meta.userId=null) lists all three sessions');
      assert.equal(listed.filter((s) => s.current).length, 1);

      const out = (await phone.post('/logout-everywhere', {})).json() as { count: number };
      assert.equal(out.count, 2, 'laptop and tablet');
      assert.equal((await laptop.get('/me')).status, 401);
      assert.equal((await tablet.get('/me')).status, 401);
      assert.equal((await replay(`${running.url}/me`, laptopCookie)).status, 401);
      assert.equal((await phone.get('/me')).status, 200, 'the device that asked stays signed in');
      assert.equal(await keyType(store.sessionKey(handle)), 'none');

      // req.logout on the phone: signed out, its old cookie is dead.
      const phoneCookie = phone.cookieHeader;
      assert.equal((await phone.post('/logout', {})).status, 200);
      assert.equal((await phone.get('/me')).status, 401);
      assert.equal((await replay(`${running.url}/me`, phoneCookie)).status, 401);
    });
  });

  describe('Express on RedisStore with rotation: logout everywhere while a string pointer is in its grace', () => {
    it('the rotated-away cookie of another device is dead after logoutEverywhere, data meta or not', async () => {
      const clock = new Clock();
      const store = storeOf(clock);
      const app = express();
      app.use(express.json());
      app.use(session({ ...quiet, store, now: clock.now, ...ROTATION_OPTIONS }));
      app.post('/login', async (req, res) => {
        await req.session.login('u-rot');
        (req.session as unknown as Data).meta = { userId: null };
        res.json({ ok: true });
      });
      app.get('/me', requireAuth(), (req, res) => res.json({ user: sessionMetaOf(req.session)?.userId }));
      app.post('/logout-all', requireAuth(), async (req, res) => {
        res.json({ count: await req.session.logoutEverywhere() });
      });
      const running = await listen(app as never);
      try {
        const laptop = new Client(running.url);
        const phone = new Client(running.url);
        await laptop.post('/login', {});
        clock.advance(60 * SECOND);
        await phone.post('/login', {});
        const laptopOld = laptop.cookieHeader;
        const laptopHandle = laptop.jar.get('id')!.split('.')[0]!;
        clock.advance(70 * SECOND); // laptop's rotation is due, the phone's is not
        assert.equal((await laptop.get('/me')).status, 200);
        assert.notEqual(laptop.cookieHeader, laptopOld);
        assert.equal(await keyType(store.sessionKey(laptopHandle)), 'string');
        assert.equal((await replay(`${running.url}/me`, laptopOld)).status, 200, 'inside grace');
        const out = (await phone.post('/logout-all', {})).json() as { count: number };
        // The laptop's session; its rotated-away pointer is removed too, but it is not a device.
        assert.equal(out.count, 1, 'the laptop, not its pointer');
        assert.equal((await laptop.get('/me')).status, 401);
        assert.equal((await replay(`${running.url}/me`, laptopOld)).status, 401, 'old cookie inside grace');
        assert.equal((await phone.get('/me')).status, 200);
      } finally {
        await running.close();
      }
    });
  });

  describe('Socket.IO sharing the Express session on RedisStore with periodic rotation', () => {
    it('the old cookie handshakes as the user during grace, as nobody after grace and after logout', async () => {
      const clock = new Clock();
      const store = storeOf(clock);
      const sessions = session({ ...quiet, store, now: clock.now, ...ROTATION_OPTIONS });
      const app = express();
      app.use(express.json());
      app.use(sessions);
      app.post('/login', async (req, res) => {
        await req.session.login('u-sock');
        (req.session as unknown as Data).meta = { userId: 'forged' };
        res.json({ ok: true });
      });
      app.get('/me', (req, res) => res.json({ user: sessionMetaOf(req.session)?.userId ?? null }));
      app.post('/logout', async (req, res) => {
        await req.session.logout();
        res.json({ ok: true });
      });
      const running = await listen(app as never);
      const io = new SocketServer(running.server);
      io.engine.use(sessions);
      io.on('connection', (socket) => {
        const req = socket.request as unknown as { session: Parameters<typeof sessionMetaOf>[0] };
        socket.emit('who', sessionMetaOf(req.session)?.userId ?? null);
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
          socket.once('connect_error', (error) => {
            socket.disconnect();
            reject(error);
          });
        });
      try {
        const client = new Client(running.url);
        await client.post('/login', {});
        const oldCookie = client.cookieHeader;
        const oldHandle = client.jar.get('id')!.split('.')[0]!;
        assert.equal(await who(oldCookie), 'u-sock');

        clock.advance(121 * SECOND);
        const rotated = await client.get('/me');
        assert.equal((rotated.json() as Data).user, 'u-sock');
        assert.notEqual(client.cookieHeader, oldCookie, 'periodic rotation set a new cookie');
        assert.equal(await keyType(store.sessionKey(oldHandle)), 'string', 'old session is a string pointer');
        const newCookie = client.cookieHeader;

        clock.advance(10 * SECOND);
        assert.equal(await who(oldCookie), 'u-sock', 'old cookie inside grace');
        assert.equal(await who(newCookie), 'u-sock');

        clock.advance(GRACE_AFTER);
        // Observed: the handshake is accepted, as nobody (not refused).
        assert.equal(await who(oldCookie), null, 'old cookie after grace');
        assert.equal((await replay(`${running.url}/me`, oldCookie)).text, '{"user":null}');
        assert.equal(await who(newCookie), 'u-sock');

        await client.post('/logout', {});
        assert.equal(await who(newCookie), null);
        assert.equal(await who(oldCookie), null);
      } finally {
        await new Promise<void>((resolve) => io.close(() => resolve()));
        await running.close().catch(() => {});
      }
    });
  });

  describe('Chromium, two tabs, Express on RedisStore with rotation and 1 s renewal', {
    skip: !hasChromium && 'chromium is not installed',
  }, () => {
    it('parallel fetches across a rotation keep the browser signed in; logout signs out both tabs', async () => {
      const clock = new Clock();
      const store = storeOf(clock);
      const app = express();
      app.use(session({ ...quiet, store, now: clock.now, ...ROTATION_OPTIONS }));
      app.get('/', (_req, res) => res.type('html').send('<p>hi</p>'));
      app.post('/login', async (req, res) => {
        await req.session.login('u-chrome');
        (req.session as unknown as Data).meta = { note: 'mine' };
        res.json({ ok: true });
      });
      app.get('/me', (req, res) =>
        res.json({
          user: sessionMetaOf(req.session)?.userId ?? null,
          data: (req.session as unknown as Data).meta ?? null,
        }),
      );
      app.post('/logout', async (req, res) => {
        await req.session.logout();
        res.json({ ok: true });
      });
      const running = await listen(app as never);
      const browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        args: ['--headless', '--no-sandbox', '--disable-gpu'],
      });
      try {
        const context = await browser.newContext();
        const [a, b] = [await context.newPage(), await context.newPage()];
        await a.goto(`${running.url}/`);
        await b.goto(`${running.url}/`);
        await a.evaluate(() => fetch('/login', { method: 'POST' }).then((r) => r.status));
        const burst = (page: typeof a) =>
          page.evaluate(() =>
            Promise.all(
              Array.from({ length: 6 }, () =>
                fetch('/me').then((r) => r.json() as Promise<{ user: string | null }>),
              ),
            ),
          );
        const [firstCookie] = await context.cookies();
        for (let round = 0; round < 3; round++) {
          clock.advance(121 * SECOND);
          const [ra, rb] = await Promise.all([burst(a), burst(b)]);
          for (const r of [...ra, ...rb]) assert.equal(r.user, 'u-chrome', `round ${round}`);
          const [again] = await Promise.all([burst(a), burst(b)]);
          for (const r of again!) assert.equal(r.user, 'u-chrome', `round ${round}, after`);
        }
        const [lastCookie] = await context.cookies();
        assert.notEqual(lastCookie!.value, firstCookie!.value, 'the cookie rotated');
        const data = await b.evaluate(() => fetch('/me').then((r) => r.json()));
        assert.deepEqual(data, { user: 'u-chrome', data: { note: 'mine' } });

        await a.evaluate(() => fetch('/logout', { method: 'POST' }).then((r) => r.status));
        for (const page of [a, b]) {
          const after = await page.evaluate(() => fetch('/me').then((r) => r.json()));
          assert.deepEqual(after, { user: null, data: null });
        }
        await context.addCookies([lastCookie!]);
        const revived = await b.evaluate(() => fetch('/me').then((r) => r.json()));
        assert.deepEqual(revived, { user: null, data: null }, 'the pre-logout cookie is dead');
      } finally {
        await browser.close();
        await running.close();
      }
    });
  });

  describe('Fastify over inject on RedisStore: a data key named meta', () => {
    it('an anonymous session with forged data meta gets 401; a signed-in one storing meta lists and logs out its sessions', async () => {
      const store = storeOf();
      const fastify = await startFastifyApp(
        { store },
        (app) => {
          app.get('/account', { preHandler: fastifyRequireAuth() }, async () => ({ ok: true }));
          app.get('/admin', { preHandler: fastifyRequireRole('admin') }, async () => ({ ok: true }));
          app.get('/password', { preHandler: fastifyRequireFreshAuth() }, async () => ({ ok: true }));
          app.get('/keys', { preHandler: fastifyRequireStepUp() }, async () => ({ ok: true }));
        },
        'inject',
      );
      try {
        const anon = fastify.client();
        const forged = {
          userId: 'admin',
          aal: 9,
          authAt: Date.now() + 3_600_000,
          stepUpAt: Date.now() + 3_600_000,
        };
        assert.equal((await anon.post('/set', { meta: forged, role: 'admin' })).status, 200);
        for (const path of ['/account', '/admin', '/password', '/keys']) {
          assert.equal((await anon.get(path)).status, 401, path);
        }
        const anonHandle = anon.jar.get('id')!.split('.')[0]!;
        assert.equal(await keyType(store.sessionKey(anonHandle)), 'hash', 'the anonymous session is stored');
        // The test app's /me reads request.session.meta, which the data key shadows (documented).
        assert.equal((await anon.get('/sessions')).text, '[]');

        const devices = [fastify.client(), fastify.client(), fastify.client()];
        for (const d of devices) assert.equal((await d.post('/login', { userId: 'olga' })).status, 200);
        assert.equal((await devices[0]!.post('/set', { meta: { userId: null, x: 1 } })).status, 200);
        assert.equal((await devices[0]!.get('/account')).status, 200);
        const peek = (await devices[0]!.get('/peek')).json() as { data: Data; meta: Data };
        assert.deepEqual(peek.data.meta, { userId: null, x: 1 });
        const listed = (await devices[0]!.get('/sessions')).json() as unknown[];
        assert.equal(listed.length, 3);
        const out = (await devices[0]!.post('/logout-everywhere', {})).json() as { count: number };
        assert.equal(out.count, 2);
        assert.equal((await devices[1]!.get('/account')).status, 401);
        assert.equal((await devices[2]!.get('/account')).status, 401);
        assert.equal((await devices[0]!.get('/account')).status, 200);
        assert.equal((await anon.get('/account')).status, 401);
      } finally {
        await fastify.close();
      }
    });
  });
});
