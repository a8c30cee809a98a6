import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { Clock } from '../support/app.js';
import { cookieSet, type GatedApp, ROTATION_OPTIONS, startGatedApp } from '../support/gated-app.js';
import { Client } from '../support/http.js';
import { type ClientKind, type Connection, hasRedis, redisFleetForSuite } from '../support/redis-server.js';

const SECOND = 1000;

const ROTATION = ROTATION_OPTIONS;

const KINDS: ClientKind[] = ['node-redis', 'ioredis', 'node-redis', 'ioredis'];

for (const topology of ['standalone', 'Cluster'] as const) {
  describe(`S21 simultaneous requests of one browser on four instances the moment a rotation falls due (${topology})`, {
    skip: !hasRedis && 'redis-server is not installed',
  }, () => {
    const redis = redisFleetForSuite(topology, KINDS);

    for (const renewal of ['write', 'script'] as const)
      it(`every one answers signed in, none clears the cookie, and the browser keeps a working token (renewal: '${renewal}')`, async () => {
        const clock = new Clock();
        const prefix = `s${Math.random().toString(36).slice(2)}:`;
        const apps: GatedApp[] = [];
        for (const connection of redis.connections) {
          const client = (connection as Connection<never>).client;
          apps.push(
            await startGatedApp(new RedisStore({ client, prefix, now: clock.now, renewal }), clock, ROTATION),
          );
        }
        const problems: string[] = [];
        try {
          for (let round = 0; round < 40; round++) {
            const browser = new Client(apps[0]!.url);
            await browser.post('/login', { userId: `u${round}` });
            const oldCookie = browser.jar.get('id')!;
            clock.advance(121 * SECOND);
            const arrived: { status: number; setCookies: string[] }[] = [];
            await Promise.all(
              apps.flatMap((app) =>
                [0, 1].map(() => {
                  const tab = new Client(app.url);
                  tab.jar.set('id', oldCookie);
                  return tab.get('/me').then((res) => void arrived.push(res));
                }),
              ),
            );
            let holds: string | undefined = oldCookie;
            for (const res of arrived) {
              if (res.status !== 200) problems.push(`round ${round}: ${res.status}`);
              if (res.setCookies.some((line) => /^id=;|max-age=0/i.test(line)))
                problems.push(`round ${round}: cookie cleared`);
              if (res.setCookies.some((line) => line.startsWith('id='))) holds = cookieSet(res.setCookies);
            }
            clock.advance(40 * SECOND);
            const last = new Client(apps[3]!.url);
            if (holds) last.jar.set('id', holds);
            const status = (await last.get('/me')).status;
            if (status !== 200) problems.push(`round ${round}: after the grace period ${status}`);
          }
        } finally {
          for (const app of apps) await app.close();
        }
        assert.deepEqual(problems, []);
      });
  });
}
