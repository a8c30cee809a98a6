import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import express from 'express';
import expressSession from 'express-session';
import type { SessionStore } from '../../packages/coatcheck/src/express/index.js';
import { SECRET, startTestApp } from '../support/app.js';
import { Client, listen } from '../support/http.js';
import {
  type Connection,
  connectRedis,
  hasRedis,
  type NodeRedisClient,
  type RedisServer,
  startRedis,
} from '../support/redis-server.js';

type Bag = Record<string, unknown>;
type Callback = (error?: unknown, value?: unknown) => void;

/** express-session's id inside a `connect.sid` cookie value (`s:<id>.<signature>`, URL-encoded). */
const legacyId = (cookie: string) => {
  const value = decodeURIComponent(cookie);
  return value.slice(2, value.lastIndexOf('.'));
};

/** A store that returns whatever it holds, as many hand-written and database stores do, leaving expiry to a sweep. */
function plainStore() {
  const rows = new Map<string, string>();
  // An EventEmitter: express-session listens for the store's connect/disconnect.
  const store = Object.assign(new EventEmitter(), {
    get: (sid: string, cb: Callback) =>
      setImmediate(cb, null, rows.has(sid) ? JSON.parse(rows.get(sid)!) : null),
    set: (sid: string, session: Bag, cb: Callback) => {
      rows.set(sid, JSON.stringify(session));
      setImmediate(cb, null);
    },
    destroy: (sid: string, cb: Callback) => {
      rows.delete(sid);
      setImmediate(cb, null);
    },
  });
  return { store, rows };
}

/** Signs a user in on express-session with a short cookie lifetime; returns the `connect.sid` value. */
async function legacyLogin(store: object, maxAge: number): Promise<string> {
  const app = express();
  app.use(
    expressSession({
      secret: SECRET,
      store,
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge },
    }) as never,
  );
  app.get('/login', (req, res) => {
    (req as unknown as { session: Bag }).session.user = 'alice';
    res.end('ok');
  });
  const running = await listen(app as never);
  const browser = new Client(running.url);
  assert.equal((await browser.get('/login')).status, 200);
  await running.close();
  const cookie = browser.jar.get('connect.sid');
  assert.ok(cookie, 'express-session set its cookie');
  return cookie;
}

/** The expired record's old cookie, replayed against coatcheck on the same store. */
async function expectNotMigrated(store: object, cookie: string, exists: () => Promise<boolean>) {
  const app = await startTestApp(store as unknown as SessionStore, { now: () => Date.now() });
  try {
    const browser = new Client(app.url);
    browser.jar.set('connect.sid', cookie);
    const res = await browser.get('/peek');
    assert.equal(res.status, 200);
    assert.deepEqual((res.json() as { data: Bag }).data, {}, 'the expired session does not come back');
    assert.ok(
      res.setCookies.some((line) => /^connect\.sid=;.*Max-Age=0/i.test(line)),
      'the express-session cookie is expired',
    );
    assert.equal(browser.jar.has('id'), false, 'no coatcheck session was made from it');
    assert.equal((await browser.get('/me')).status, 401);
    assert.equal(await exists(), false, 'the expired legacy record is removed');
    assert.ok(!app.events.some((event) => event.type === 'session.migrated'));
    assert.ok(app.events.some((event) => event.type === 'session.unknown_id'));
  } finally {
    await app.close();
  }
}

describe('migration never revives an express-session record that has expired', () => {
  it('a store that returns expired records (no TTL of its own): time passes past cookie.expires', async () => {
    const { store, rows } = plainStore();
    const cookie = await legacyLogin(store, 300);
    assert.equal(rows.size, 1);
    await sleep(400);
    await expectNotMigrated(store, cookie, async () => rows.has(legacyId(cookie)));
  });

  it('a live record is still migrated from the same store', async () => {
    const { store, rows } = plainStore();
    const cookie = await legacyLogin(store, 60_000);
    const app = await startTestApp(store as unknown as SessionStore, { now: () => Date.now() });
    const browser = new Client(app.url);
    browser.jar.set('connect.sid', cookie);
    assert.deepEqual(((await browser.get('/peek')).json() as { data: Bag }).data, { user: 'alice' });
    assert.ok(browser.jar.has('id'));
    assert.equal(rows.has(legacyId(cookie)), false);
    await app.close();
  });

  describe('connect-redis with a fixed ttl longer than the cookie', {
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

    it('the record outlives cookie.expires in Redis, and is still not migrated', async () => {
      // `ttl` overrides cookie.expires in connect-redis: the key lives an hour, the session 300 ms.
      const store = new ConnectRedisStore({ client: connection.client, prefix: 'sess:', ttl: 3600 });
      const cookie = await legacyLogin(store, 300);
      await sleep(400);
      const key = `sess:${legacyId(cookie)}`;
      assert.equal(await connection.client.exists(key), 1, 'Redis still holds the expired record');
      await expectNotMigrated(store, cookie, async () => (await connection.client.exists(key)) === 1);
    });
  });
});
