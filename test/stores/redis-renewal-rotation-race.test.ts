import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { Clock, eventsOf } from '../support/app.js';
import {
  cookieSet,
  type GatedApp,
  ROTATION_OPTIONS,
  startGatedApp,
  waitingAt,
} from '../support/gated-app.js';
import { Client } from '../support/http.js';
import { type ClientKind, type Connection, hasRedis, redisFleetForSuite } from '../support/redis-server.js';

const SECOND = 1000;
const handleOf = (cookie: string) => cookie.split('.')[0]!;

const ROTATION = ROTATION_OPTIONS;

const targets = [
  ['node-redis', 'standalone'],
  ['ioredis', 'standalone'],
  ['node-redis', 'Cluster'],
  ['ioredis', 'Cluster'],
] as const satisfies [ClientKind, string][];

for (const [kind, topology] of targets) {
  describe(`S21 renewals of several app instances released together onto a grace-period pointer (${kind}, ${topology})`, {
    skip: !hasRedis && 'redis-server is not installed',
  }, () => {
    const redis = redisFleetForSuite(topology, [kind, kind, kind, kind]);

    async function pttl(key: string): Promise<number> {
      const replies = await Promise.all(
        redis.servers.map(async (server) => Number((await server.cli('PTTL', key)).trim())),
      );
      return Math.max(...replies.filter(Number.isFinite));
    }

    for (const renewal of ['write', 'script'] as const)
      it(`a burst of one browser's requests across four instances as the rotation falls due keeps it signed in (renewal: '${renewal}')`, async () => {
        const clock = new Clock();
        const prefix = `b${Math.random().toString(36).slice(2)}:`;
        const apps: GatedApp[] = [];
        for (const connection of redis.connections) {
          const store = new RedisStore({
            client: (connection as Connection<never>).client,
            prefix,
            now: clock.now,
            renewal,
          });
          apps.push(await startGatedApp(store, clock, ROTATION));
        }
        const outcomes: {
          statuses: number[];
          resentOld: number;
          afterGrace: number;
          oldAfterGrace: number;
        }[] = [];
        try {
          for (let round = 0; round < 3; round++) {
            const browser = new Client(apps[0]!.url);
            await browser.post('/login', { userId: `burst-${round}` });
            await browser.post('/remember', { ms: 3_600 * SECOND });
            const oldCookie = browser.jar.get('id')!;
            clock.advance(119 * SECOND);
            // The browser applies each Set-Cookie in the order the responses arrive.
            const arrived: { status: number; setCookies: string[] }[] = [];
            const send = (app: GatedApp, path: string) => {
              const tab = new Client(app.url);
              tab.jar.set('id', oldCookie);
              return tab.get(path).then((res) => {
                arrived.push(res);
                return res;
              });
            };
            const early = apps.map((app) => send(app, '/gated'));
            for (const app of apps) await waitingAt(app, 1);
            clock.advance(2 * SECOND);
            const due = apps.flatMap((app) => [send(app, '/me'), send(app, '/me')]);
            await Promise.all(due);
            for (const app of apps) app.gate.open();
            await Promise.all(early);
            let holds = oldCookie;
            for (const res of arrived) holds = cookieSet(res.setCookies) ?? holds;
            clock.advance(40 * SECOND);
            const last = new Client(apps[1]!.url);
            last.jar.set('id', holds);
            const stale = new Client(apps[2]!.url);
            stale.jar.set('id', oldCookie);
            outcomes.push({
              statuses: [...new Set(arrived.map((res) => res.status))],
              resentOld: arrived.filter((res) => cookieSet(res.setCookies) === oldCookie).length,
              afterGrace: (await last.get('/me')).status,
              oldAfterGrace: (await stale.get('/me')).status,
            });
          }
        } finally {
          for (const app of apps) await app.close();
        }
        assert.deepEqual(
          outcomes,
          outcomes.map(() => ({ statuses: [200], resentOld: 0, afterGrace: 200, oldAfterGrace: 401 })),
        );
      });

    for (const renewal of ['write', 'script'] as const)
      it(`no response re-sends the replaced token and the browser stays signed in past the grace period (renewal: '${renewal}')`, async () => {
        const clock = new Clock();
        const prefix = `r${Math.random().toString(36).slice(2)}:`;
        const stores = redis.connections.map(
          (connection) =>
            new RedisStore({
              client: (connection as Connection<never>).client,
              prefix,
              now: clock.now,
              renewal,
            }),
        );
        const apps: GatedApp[] = [];
        for (const store of stores) apps.push(await startGatedApp(store, clock, ROTATION));
        const [rotator, ...renewers] = apps as [GatedApp, ...GatedApp[]];
        const outcomes: {
          resentOld: number;
          browserHolds: 'new' | 'old' | 'none';
          afterGrace: number;
          oldAfterGrace: number;
          pointerTtlWithinGrace: boolean;
        }[] = [];
        try {
          for (let round = 0; round < 4; round++) {
            const browser = new Client(rotator.url);
            await browser.post('/login', { userId: `user-${round}` });
            await browser.post('/remember', { ms: 3_600 * SECOND });
            const oldCookie = browser.jar.get('id')!;
            clock.advance(118 * SECOND);
            // Each instance loads the session and decides to renew it; none rotates yet.
            const pending = renewers.map((app) => {
              const tab = new Client(app.url);
              tab.jar.set('id', oldCookie);
              return tab.get('/gated');
            });
            for (const app of renewers) {
              await eventsOf(app, 'session.renewed', round + 1);
              await waitingAt(app, 1);
            }
            clock.advance(3 * SECOND);
            const rotation = await browser.get('/me');
            const newCookie = cookieSet(rotation.setCookies);
            assert.ok(
              newCookie && newCookie !== oldCookie,
              'the request on the first instance rotated the token',
            );
            for (const app of renewers) app.gate.open();
            const responses = await Promise.all(pending);
            // A browser keeps the cookie of the response it received last: these came after the rotation's.
            let holds = browser.jar.get('id');
            for (const res of responses) holds = cookieSet(res.setCookies) ?? holds;
            const pointerTtl = await pttl(stores[0]!.sessionKey(handleOf(oldCookie)));
            clock.advance(40 * SECOND);
            const last = new Client(rotator.url);
            if (holds) last.jar.set('id', holds);
            const stale = new Client(rotator.url);
            stale.jar.set('id', oldCookie);
            outcomes.push({
              resentOld: responses.filter((res) => cookieSet(res.setCookies) === oldCookie).length,
              browserHolds: holds === newCookie ? 'new' : holds === oldCookie ? 'old' : 'none',
              afterGrace: (await last.get('/me')).status,
              oldAfterGrace: (await stale.get('/me')).status,
              pointerTtlWithinGrace: pointerTtl <= 30 * SECOND,
            });
          }
        } finally {
          for (const app of apps) await app.close();
        }
        const expected = {
          resentOld: 0,
          browserHolds: 'new',
          afterGrace: 200,
          oldAfterGrace: 401,
          pointerTtlWithinGrace: true,
        };
        assert.deepEqual(
          outcomes,
          outcomes.map(() => expected),
        );
      });
  });
}
