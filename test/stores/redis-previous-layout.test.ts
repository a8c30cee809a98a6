import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { Clock, eventsOf } from '../support/app.js';
import { type GatedApp, startGatedApp, waitingAt } from '../support/gated-app.js';
import { Client } from '../support/http.js';
import { type ClientKind, type Connection, hasRedis, redisFleetForSuite } from '../support/redis-server.js';

const SECOND = 1000;
const handleOf = (cookie: string) => cookie.split('.')[0]!;
const TIMEOUTS = {
  idleTimeoutMs: 600 * SECOND,
  absoluteTimeoutMs: 3_600 * SECOND,
  renewalIntervalMs: SECOND,
};

for (const topology of ['standalone', 'Cluster'] as const)
  for (const kind of ['node-redis', 'ioredis'] as const satisfies ClientKind[]) {
    describe(`Sessions written field by field before the live marker (0.1.0: HDEL live) keep working and renewing (${kind}, ${topology})`, {
      skip: !hasRedis && 'redis-server is not installed',
    }, () => {
      const redis = redisFleetForSuite(topology, [kind, kind, kind]);

      /** A command's reply from the node holding `key` (the others answer MOVED). */
      async function onKey(...command: string[]): Promise<string> {
        const replies = await Promise.all(redis.servers.map((server) => server.cli(...command)));
        return replies.find((reply) => !reply.startsWith('MOVED'))?.trim() ?? '';
      }

      async function start(clock: Clock, count = 1) {
        const prefix = `v${Math.random().toString(36).slice(2)}:`;
        const stores = redis.connections.slice(0, count).map(
          (connection) =>
            new RedisStore({
              client: (connection as Connection<never>).client,
              prefix,
              now: clock.now,
              layout: 'fields',
            }),
        );
        const apps: GatedApp[] = [];
        for (const store of stores) apps.push(await startGatedApp(store, clock, TIMEOUTS));
        return { stores, apps };
      }

      /** Signs in, stores some data, and rewrites the hash as the previous layout had it. */
      async function legacySession(app: GatedApp, store: RedisStore, userId: string) {
        const browser = new Client(app.url);
        await browser.post('/login', { userId });
        await browser.post('/set', { theme: 'dark' });
        const key = store.sessionKey(handleOf(browser.jar.get('id')!));
        assert.equal(await onKey('HDEL', key, 'live'), '1');
        return { browser, key };
      }

      it('a request renews it: the idle expiry and the TTL move, the data and the user stay, the marker is added', async () => {
        const clock = new Clock();
        const { stores, apps } = await start(clock);
        try {
          const { browser, key } = await legacySession(apps[0]!, stores[0]!, 'ada');
          for (let i = 1; i <= 3; i++) {
            clock.advance(400 * SECOND);
            // 1,200 s after sign-in with a 600 s idle timeout: only renewals keep it alive.
            const me = await browser.get('/me');
            assert.equal(me.status, 200, `request ${i}`);
            assert.deepEqual(me.json(), {
              userId: 'ada',
              handle: handleOf(browser.jar.get('id')!),
              data: { theme: 'dark' },
            });
          }
          const record = await stores[0]!.get(handleOf(browser.jar.get('id')!));
          const ttl = Number(await onKey('PTTL', key));
          assert.equal(record?.lastSeenAt, clock.at);
          assert.equal(record?.idleExpiresAt, clock.at + 600 * SECOND);
          // The store's clock is the test's, Redis's TTL is real time: within the idle timeout and close to it.
          assert.ok(ttl > 590 * SECOND && ttl <= 600 * SECOND, `PTTL ${ttl}`);
          assert.equal(await onKey('HGET', key, 'live'), '1');
        } finally {
          for (const app of apps) await app.close();
        }
      });

      it('renewals of three instances released together all answer signed in and leave one consistent record', async () => {
        const clock = new Clock();
        const { stores, apps } = await start(clock, 3);
        try {
          const { browser, key } = await legacySession(apps[0]!, stores[0]!, 'bea');
          const cookie = browser.jar.get('id')!;
          clock.advance(5 * SECOND);
          const pending = apps.map((app) => {
            const tab = new Client(app.url);
            tab.jar.set('id', cookie);
            return tab.get('/gated');
          });
          for (const app of apps) {
            await eventsOf(app, 'session.renewed', 1);
            await waitingAt(app, 1);
          }
          for (const app of apps) app.gate.open();
          const answers = (await Promise.all(pending)).map(
            (res) => (res.json() as { userId: string }).userId,
          );
          assert.deepEqual(answers, ['bea', 'bea', 'bea']);
          const record = await stores[1]!.get(handleOf(cookie));
          assert.equal(record?.userId, 'bea');
          assert.equal(record?.idleExpiresAt, clock.at + 600 * SECOND);
          assert.equal(record?.data, '{"theme":"dark"}');
          assert.equal(await onKey('HGET', key, 'live'), '1');
          assert.ok(Number(await onKey('PTTL', key)) > 590 * SECOND);
          assert.equal((await browser.get('/me')).status, 200);
        } finally {
          for (const app of apps) await app.close();
        }
      });

      it('S29 a logout racing renewals of three instances leaves it gone', async () => {
        const clock = new Clock();
        const { stores, apps } = await start(clock, 3);
        try {
          const { browser, key } = await legacySession(apps[0]!, stores[0]!, 'cy');
          const cookie = browser.jar.get('id')!;
          clock.advance(5 * SECOND);
          const pending = apps.slice(1).map((app) => {
            const tab = new Client(app.url);
            tab.jar.set('id', cookie);
            return tab.get('/gated');
          });
          for (const app of apps.slice(1)) await waitingAt(app, 1);
          assert.equal((await browser.post('/logout')).status, 200);
          for (const app of apps) app.gate.open();
          await Promise.all(pending);
          assert.equal(await onKey('EXISTS', key), '0');
          const again = new Client(apps[2]!.url);
          again.jar.set('id', cookie);
          assert.equal((await again.get('/me')).status, 401);
        } finally {
          for (const app of apps) await app.close();
        }
      });

      it('a data write and a renewal on it keep both', async () => {
        const clock = new Clock();
        const { stores, apps } = await start(clock, 2);
        try {
          const { browser } = await legacySession(apps[0]!, stores[0]!, 'dee');
          clock.advance(5 * SECOND);
          const other = new Client(apps[1]!.url);
          other.jar.set('id', browser.jar.get('id')!);
          await other.post('/set', { lang: 'fr' });
          clock.advance(5 * SECOND);
          const me = await browser.get('/me');
          assert.deepEqual((me.json() as { data: unknown }).data, { theme: 'dark', lang: 'fr' });
          const record = await stores[0]!.get(handleOf(browser.jar.get('id')!));
          assert.equal(record?.idleExpiresAt, clock.at + 600 * SECOND);
        } finally {
          for (const app of apps) await app.close();
        }
      });
    });
  }
