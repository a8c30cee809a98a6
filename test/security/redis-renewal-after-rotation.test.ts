import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { makeRecord } from '../../packages/coatcheck/src/testing/conformance.js';
import { eventsOf, startTestApp, type TestApp } from '../support/app.js';
import { ROTATION_OPTIONS } from '../support/gated-app.js';
import { Client } from '../support/http.js';
import {
  type ClientKind,
  type Connection,
  connectRedis,
  hasRedis,
  type RedisServer,
  startRedis,
  startRedisCluster,
} from '../support/redis-server.js';

const SECOND = 1000;
const handleOf = (cookie: string) => cookie.split('.')[0]!;

// Renewal due a second after the last request: two requests a second apart each renew the session.
const ROTATION = ROTATION_OPTIONS;

const targets = [
  ['node-redis', 'standalone'],
  ['ioredis', 'standalone'],
  ['node-redis', 'Cluster'],
  ['ioredis', 'Cluster'],
] as const satisfies [ClientKind, string][];

for (const [kind, topology] of targets) {
  describe(`Redis store (${kind}, ${topology}): renewals racing a scheduled rotation with a grace period`, {
    skip: !hasRedis && 'redis-server is not installed',
  }, () => {
    let servers: RedisServer[];
    let stop: () => Promise<void>;
    let connection: Connection<unknown>;
    before(async () => {
      if (topology === 'Cluster') {
        const cluster = await startRedisCluster();
        servers = cluster.servers;
        stop = cluster.stop;
        connection = await connectRedis(kind, cluster);
      } else {
        const server = await startRedis();
        servers = [server];
        stop = server.dispose;
        connection = await connectRedis(kind, server);
      }
    });
    after(async () => {
      await connection?.close();
      await stop?.();
    });

    /** PTTL of a key on the node that holds it (the others answer MOVED). */
    async function pttl(key: string): Promise<number> {
      const replies = await Promise.all(
        servers.map(async (server) => Number((await server.cli('PTTL', key)).trim())),
      );
      return Math.max(...replies.filter(Number.isFinite));
    }

    async function start(options: { rolling?: boolean } = {}): Promise<{ app: TestApp; store: RedisStore }> {
      let clock = (): number => Date.now();
      const store = new RedisStore({
        client: (connection as Connection<never>).client,
        prefix: `t${Math.random().toString(36).slice(2)}:`,
        now: () => clock(),
      });
      const app = await startTestApp(store, { ...ROTATION, ...options });
      clock = app.clock.now;
      return { app, store };
    }

    /**
     * Two slow requests of one browser load the session a second apart, both due a renewal but
     * before the rotation is due; a third request then rotates the token on schedule; the two slow
     * ones commit their renewals after it, to the record that is now a grace-period pointer.
     */
    async function raceTwoRenewals(app: TestApp, browser: Client) {
      app.clock.advance(118 * SECOND);
      const first = browser.post('/slow?ms=400', {});
      await eventsOf(app, 'session.renewed', 1);
      app.clock.advance(1.5 * SECOND);
      const second = browser.post('/slow?ms=700', {});
      await eventsOf(app, 'session.renewed', 2);
      app.clock.advance(1 * SECOND);
      const rotation = await browser.get('/me');
      return { rotation, first: await first, second: await second };
    }

    // A renewal re-sends a persistent cookie, and `rolling` re-sends a session cookie on every response.
    for (const cookie of ['a persistent cookie', 'a rolling session cookie'] as const)
      it(`S21 ${cookie} is not set back to the replaced token by a renewal that raced the rotation`, async () => {
        const rolling = cookie === 'a rolling session cookie';
        const { app, store } = await start({ rolling });
        const browser = new Client(app.url);
        await browser.post('/login', { userId: 'alice' });
        if (!rolling) await browser.post('/remember', { ms: 3_600 * SECOND });
        const oldCookie = browser.jar.get('id')!;
        const { rotation, first, second } = await raceTwoRenewals(app, browser);
        const newCookie = rotation.setCookies
          .find((line) => line.startsWith('id='))
          ?.split(';')[0]
          ?.slice(3);
        const resentOld = [first, second].filter((res) =>
          res.setCookies.some((line) => line.startsWith(`id=${oldCookie};`)),
        ).length;
        const pointer = await store.get(handleOf(oldCookie));
        // The browser keeps whatever cookie it was sent last; past the grace period only the new
        // token may still work, and it must be the one the browser holds.
        app.clock.advance(40 * SECOND);
        const later = await browser.get('/me');
        const stale = new Client(app.url);
        stale.jar.set('id', oldCookie);
        const oldTokenAfterGrace = (await stale.get('/me')).status;
        await app.close();
        assert.equal(rotation.status, 200);
        assert.ok(newCookie && newCookie !== oldCookie, 'the third request rotated the token');
        assert.equal(pointer?.successor, handleOf(newCookie));
        assert.deepEqual(
          {
            responsesResendingTheOldToken: resentOld,
            browserHolds: browser.jar.get('id') === newCookie ? 'new' : 'old',
            afterGrace: later.status,
            oldTokenAfterGrace,
          },
          { responsesResendingTheOldToken: 0, browserHolds: 'new', afterGrace: 200, oldTokenAfterGrace: 401 },
        );
      });

    it('S21 a renewal that reaches a grace-period pointer is told of its successor, however many came before it', async () => {
      const { app, store } = await start();
      await app.close();
      const now = app.clock.at;
      const base = makeRecord({
        userId: 'bob',
        createdAt: now,
        authAt: now,
        lastSeenAt: now,
        idleExpiresAt: now + 600 * SECOND,
        absoluteExpiresAt: now + 3_600 * SECOND,
        aal: 1,
        rotatedAt: now,
      });
      const old = { ...base, handle: 'OLDOLDOLDOLDOLDOLDOLD1' };
      const next = { ...base, handle: 'NEWNEWNEWNEWNEWNEWNEW1' };
      assert.ok(await store.create(old));
      const graceUntil = now + 30 * SECOND;
      assert.ok(await store.replace(old.handle, next, { graceUntil }));
      const answers: (string | null)[] = [];
      for (let i = 1; i <= 3; i++) {
        const meta = { lastSeenAt: now + i, idleExpiresAt: now + 600 * SECOND + i };
        answers.push((await store.update(old.handle, { meta }))?.successor ?? null);
      }
      const ttlMs = await pttl(store.sessionKey(old.handle));
      assert.deepEqual(
        { successors: answers, pointerTtlWithinGrace: ttlMs <= 30 * SECOND ? true : ttlMs },
        { successors: [next.handle, next.handle, next.handle], pointerTtlWithinGrace: true },
      );
    });
  });
}
