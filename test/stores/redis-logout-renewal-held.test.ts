import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { Clock, eventsOf } from '../support/app.js';
import { type GatedApp, startGatedApp, waitingAt } from '../support/gated-app.js';
import { Client } from '../support/http.js';
import { type ClientKind, type Connection, hasRedis, redisFleetForSuite } from '../support/redis-server.js';

const SECOND = 1000;
const handleOf = (cookie: string) => cookie.split('.')[0]!;

// Instances on both drivers at once, as a mixed fleet during a driver migration would run.
const KINDS: ClientKind[] = ['node-redis', 'ioredis', 'node-redis', 'ioredis'];

for (const topology of ['standalone', 'Cluster'] as const) {
  describe(`S29 logout and revocation racing renewals of several app instances (${topology})`, {
    skip: !hasRedis && 'redis-server is not installed',
  }, () => {
    const redis = redisFleetForSuite(topology, KINDS);

    /** Whether any node holds `key` (the others answer MOVED, which is not "1"). */
    async function exists(key: string): Promise<boolean> {
      const replies = await Promise.all(redis.servers.map((server) => server.cli('EXISTS', key)));
      return replies.some((reply) => reply.trim() === '1');
    }

    async function startFleet(clock: Clock, options: Record<string, unknown> = {}) {
      const prefix = `l${Math.random().toString(36).slice(2)}:`;
      const stores = redis.connections.map(
        (connection) =>
          new RedisStore({ client: (connection as Connection<never>).client, prefix, now: clock.now }),
      );
      const apps: GatedApp[] = [];
      for (const store of stores) {
        apps.push(
          await startGatedApp(store, clock, {
            idleTimeoutMs: 600 * SECOND,
            absoluteTimeoutMs: 3_600 * SECOND,
            renewalIntervalMs: 1 * SECOND,
            ...options,
          }),
        );
      }
      return { stores, apps };
    }

    for (const ending of ['logout', 'sign-out everywhere from another device'] as const)
      it(`renewals held past a ${ending} and released together leave nothing behind`, async () => {
        const clock = new Clock();
        const { stores, apps } = await startFleet(clock);
        const [ender, ...renewers] = apps as [GatedApp, ...GatedApp[]];
        const results: { key: boolean; me: number; listed: number }[] = [];
        try {
          for (let round = 0; round < 4; round++) {
            const userId = `user-${round}`;
            const browser = new Client(ender.url);
            await browser.post('/login', { userId });
            await browser.post('/remember', { ms: 3_600 * SECOND });
            const phone = new Client(ender.url);
            await phone.post('/login', { userId });
            const cookie = browser.jar.get('id')!;
            clock.advance(5 * SECOND);
            const pending = renewers.map((app) => {
              const tab = new Client(app.url);
              tab.jar.set('id', cookie);
              return tab.get('/gated');
            });
            for (const app of renewers) {
              await eventsOf(app, 'session.renewed', round + 1);
              await waitingAt(app, 1);
            }
            const ended =
              ending === 'logout'
                ? await browser.post('/logout')
                : await phone.post('/logout-all', { includeCurrent: true });
            assert.equal(ended.status, 200);
            for (const app of renewers) app.gate.open();
            await Promise.all(pending);
            const again = new Client(ender.url);
            again.jar.set('id', cookie);
            results.push({
              key: await exists(stores[0]!.sessionKey(handleOf(cookie))),
              me: (await again.get('/me')).status,
              listed: (await stores[0]!.listByUser(userId)).filter((s) => s.handle === handleOf(cookie))
                .length,
            });
          }
        } finally {
          for (const app of apps) await app.close();
        }
        assert.deepEqual(
          results,
          results.map(() => ({ key: false, me: 401, listed: 0 })),
        );
      });

    it('a session renewed on every request by four instances stays gone after a logout mid-stream', async () => {
      // The real clock and a renewal interval of 1 ms: every request renews.
      const realTime = new Clock();
      realTime.now = () => Date.now();
      const { stores, apps } = await startFleet(realTime, { renewalIntervalMs: 1 });
      const leftovers: string[] = [];
      try {
        for (let round = 0; round < 5; round++) {
          const browser = new Client(apps[0]!.url);
          await browser.post('/login', { userId: `busy-${round}` });
          const cookie = browser.jar.get('id')!;
          let loggedOut = false;
          const hammer = apps.map(async (app) => {
            const tab = new Client(app.url);
            for (let i = 0; i < 25 && !loggedOut; i++) {
              tab.jar.set('id', cookie);
              await tab.get('/me');
            }
          });
          await new Promise((resolve) => setTimeout(resolve, 5 + round * 5));
          await browser.post('/logout');
          loggedOut = true;
          await Promise.all(hammer);
          const key = stores[0]!.sessionKey(handleOf(cookie));
          if (await exists(key)) leftovers.push(`round ${round}: key`);
          const again = new Client(apps[1]!.url);
          again.jar.set('id', cookie);
          const status = (await again.get('/me')).status;
          if (status !== 401) leftovers.push(`round ${round}: /me ${status}`);
        }
      } finally {
        for (const app of apps) await app.close();
      }
      assert.deepEqual(leftovers, []);
    });
  });
}
