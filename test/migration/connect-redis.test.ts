import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import express from 'express';
import expressSession from 'express-session';
import type { SessionEvent } from '../../packages/coatcheck/src/core/events.js';
import { type SessionOptions, session } from '../../packages/coatcheck/src/express/index.js';
import { ConnectStore } from '../../packages/coatcheck/src/stores/connect.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { SECRET } from '../support/app.js';
import { Client, listen, type Running } from '../support/http.js';
import {
  type Connection,
  connectRedis,
  hasRedis,
  type NodeRedisClient,
  type RedisServer,
  startRedis,
} from '../support/redis-server.js';

type Bag = Record<string, unknown>;
const sessionOf = (req: express.Request) => (req as unknown as { session: Bag }).session;

/** The app as it runs today: Express 5, express-session and connect-redis. */
async function startLegacyApp(store: object): Promise<Running> {
  const app = express();
  app.use(express.json());
  app.use(
    expressSession({
      store,
      secret: SECRET,
      resave: false,
      saveUninitialized: false,
    }) as express.RequestHandler,
  );
  app.post('/login', (req, res) => {
    const data = sessionOf(req);
    data.userId = (req.body as { userId: string }).userId;
    data.cart = ['socks', 'hat'];
    data.prefs = { theme: 'dark', big: 9007199254740991 };
    res.json({ ok: true });
  });
  return listen(app as never);
}

/** The same app after the switch to coatcheck: one import changed, plus the store options. */
async function startCoatcheckApp(options: Partial<SessionOptions>) {
  const app = express();
  const events: SessionEvent[] = [];
  const middleware = session({ secret: SECRET, warn: () => {}, ...options });
  middleware.on((event) => events.push(event));
  app.use(middleware);
  app.get('/me', (req, res) => {
    const { cookie: _cookie, ...data } = sessionOf(req);
    if (!data.userId) return void res.status(401).json({ error: 'sign in' });
    res.json({ data, handle: req.sessionID });
  });
  return { ...(await listen(app as never)), events };
}

/** express-session's id inside a `connect.sid` cookie value (`s:<id>.<signature>`, URL-encoded). */
const legacyId = (cookie: string) => {
  const value = decodeURIComponent(cookie);
  return value.slice(2, value.lastIndexOf('.'));
};

describe('migration from express-session + connect-redis', {
  skip: !hasRedis && 'redis-server is not installed',
}, () => {
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

  /** Signs users in on the express-session app and returns their `connect.sid` values. */
  async function legacyLogins(connectStore: object, users: string[]): Promise<Map<string, string>> {
    const legacy = await startLegacyApp(connectStore);
    const cookies = new Map<string, string>();
    for (const userId of users) {
      const browser = new Client(legacy.url);
      assert.equal((await browser.post('/login', { userId })).status, 200);
      const cookie = browser.jar.get('connect.sid');
      assert.ok(cookie, 'express-session set its cookie');
      assert.equal(await connection.client.exists(`sess:${legacyId(cookie)}`), 1);
      cookies.set(userId, cookie);
    }
    await legacy.close();
    return cookies;
  }

  async function expectMigrated(url: string, userId: string, cookie: string): Promise<string> {
    const browser = new Client(url, {});
    browser.jar.set('connect.sid', cookie);
    const first = await browser.get('/me');
    assert.equal(first.status, 200, `${userId} is still signed in`);
    const { data } = first.json() as { data: Bag };
    assert.deepEqual(data, {
      userId,
      cart: ['socks', 'hat'],
      prefs: { theme: 'dark', big: 9007199254740991 },
    });
    assert.ok(browser.jar.has('id'), 'a coatcheck cookie was set');
    assert.ok(
      first.setCookies.some((line) => /^connect\.sid=;.*Max-Age=0/i.test(line)),
      'the express-session cookie is expired',
    );
    assert.equal(browser.jar.has('connect.sid'), false);
    assert.equal(await connection.client.exists(`sess:${legacyId(cookie)}`), 0, 'the old record is gone');

    assert.equal((await browser.get('/me')).status, 200, 'the new cookie works');
    const replay = new Client(url);
    replay.jar.set('connect.sid', cookie);
    assert.equal((await replay.get('/me')).status, 401, 'the old cookie no longer works');
    assert.equal(replay.jar.has('id'), false, 'a replayed old cookie creates no session');
    return browser.jar.get('id')!;
  }

  it('keeps users signed in when the connect-redis store is handed to coatcheck as is', async () => {
    const connectStore = new ConnectRedisStore({ client: connection.client });
    const cookies = await legacyLogins(connectStore, ['alice', 'bob', 'carol']);
    const app = await startCoatcheckApp({ store: connectStore });
    try {
      for (const [userId, cookie] of cookies) await expectMigrated(app.url, userId, cookie);
      assert.equal(app.events.filter((event) => event.type === 'session.migrated').length, 3);
    } finally {
      await app.close();
    }
  });

  it('moves users into the native RedisStore, reading connect-redis as the legacy source', async () => {
    const connectStore = new ConnectRedisStore({ client: connection.client });
    const cookies = await legacyLogins(connectStore, ['dave', 'erin']);
    const store = new RedisStore({ client: connection.client });
    const app = await startCoatcheckApp({ store, legacy: new ConnectStore(connectStore) });
    try {
      for (const [userId, cookie] of cookies) {
        const token = await expectMigrated(app.url, userId, cookie);
        const handle = token.split('.')[0]!;
        const record = await store.get(handle);
        assert.ok(record, 'the session now lives under the coatcheck key');
        const data = JSON.parse(record.data) as Record<string, unknown>;
        assert.equal(data.userId, userId);
        assert.equal(data.cookie, undefined, "express-session's cookie object is not carried over");
      }
    } finally {
      await app.close();
    }
  });
});
