import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { SessionOptions } from '../../packages/coatcheck/src/express/index.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Client } from '../support/http.js';
import { hasRedis, redisForSuite } from '../support/redis-server.js';

const MINUTE = 60_000;
const TIMEOUTS = { idleTimeoutMs: 10 * MINUTE, absoluteTimeoutMs: 60 * MINUTE };

describe('Redis store: a user index after many sign-ins and sign-outs', {
  skip: !hasRedis && 'redis-server is not installed',
}, () => {
  const redis = redisForSuite();

  /** An app whose store runs on the app's clock, so absolute expiry can be reached without waiting. */
  async function start(options: Partial<SessionOptions> = {}): Promise<{ app: TestApp; store: RedisStore }> {
    let clock = (): number => Date.now();
    const store = new RedisStore({
      client: redis.client,
      prefix: `g${randomUUID().slice(0, 8)}:`,
      now: () => clock(),
    });
    const app = await startTestApp(store, { ...TIMEOUTS, ...options });
    clock = app.clock.now;
    return { app, store };
  }

  async function signInAndOut(app: TestApp, userId: string, times: number): Promise<void> {
    for (let i = 0; i < times; i++) {
      const browser = new Client(app.url);
      assert.equal((await browser.post('/login', { userId })).status, 200);
      assert.equal((await browser.post('/logout')).status, 200);
    }
  }

  const members = async (store: RedisStore, userId: string) =>
    Number((await redis.server.cli('ZCARD', store.userKey(userId))).trim());

  it('S30 S31 after 120 sign-in/sign-out cycles the device list shows only the live sessions and sign-out-everywhere ends them', async () => {
    const { app, store } = await start();
    await signInAndOut(app, 'dana', 120);
    const laptop = new Client(app.url);
    const phone = new Client(app.url);
    await laptop.post('/login', { userId: 'dana' });
    await phone.post('/login', { userId: 'dana' });
    const listed = (await laptop.get('/sessions')).json() as { handle: string }[];
    const afterListing = await members(store, 'dana');
    const ended = (await laptop.post('/logout-all', { includeCurrent: true })).json() as { count: number };
    const statuses = [(await laptop.get('/me')).status, (await phone.get('/me')).status];
    const ttl = Number((await redis.server.cli('PTTL', store.userKey('dana'))).trim());
    await app.close();
    assert.deepEqual(
      { listed: listed.length, afterListing, ended: ended.count, statuses, indexWithoutTtl: ttl === -1 },
      { listed: 2, afterListing: 2, ended: 2, statuses: [401, 401], indexWithoutTtl: false },
    );
  });

  it('sessions past their absolute expiry leave the index of a user who keeps signing in, with genid handles too', async () => {
    // An express-session style genid: every handle begins with 's', never '0', 'P' or 'p'.
    const { app, store } = await start({ genid: () => `sess-${randomUUID()}` });
    await signInAndOut(app, 'erin', 40);
    // Every one of those sessions is now past its absolute expiry.
    app.clock.advance(61 * MINUTE);
    await signInAndOut(app, 'erin', 40);
    const count = await members(store, 'erin');
    await app.close();
    assert.ok(count <= 40, `the index holds ${count} members, 40 of them past their absolute expiry`);
  });
});
