import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { startTestApp } from '../support/app.js';
import { Client } from '../support/http.js';
import { hasRedis, redisForSuite } from '../support/redis-server.js';

const SECOND = 1000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The previous release's Cluster rotation script (SUPERSEDE before 75462bc), verbatim: the pointer
 * it leaves keeps lastSeenAt and its original absolute expiry; only its idle expiry is brought
 * forward to the grace deadline. KEYS[1] old session; ARGV[1] successor, ARGV[2] grace deadline ms,
 * ARGV[3] now ms.
 */
const PREVIOUS_SUPERSEDE = `local old = redis.call('HMGET', KEYS[1], 'idleExpiresAt', 'absoluteExpiresAt', 'version', 'successor')
if not old[1] or old[4] then return false end
local idle = math.min(tonumber(old[1]), tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], 'successor', ARGV[1], 'idleExpiresAt', string.format('%.0f', idle),
  'version', string.format('%.0f', (tonumber(old[3]) or 0) + 1))
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', math.min(idle, tonumber(old[2])) - tonumber(ARGV[3])))
return 1`;

describe('Redis store during a rolling upgrade: a pointer written by the previous release', {
  skip: !hasRedis && 'redis-server is not installed',
}, () => {
  const redis = redisForSuite();

  // With `renewal: 'script'` (the option for this upgrade) the renewal reads the hash first and
  // leaves the pointer alone. The direct renewal cannot see that the previous release's script made
  // the hash a pointer, and stretches its idle expiry: this release still refuses the old token
  // after the grace period (the engine counts it from the successor's issue), an instance of the
  // previous release, which reads only the pointer's expiry, would not.
  for (const renewal of ['script', 'write'] as const)
    it(`S21 a renewal from an upgraded instance does not keep the replaced token alive past its grace period (renewal: '${renewal}')`, async () => {
      let clock = (): number => Date.now();
      const store = new RedisStore({ client: redis.client, now: () => clock(), renewal, layout: 'packed' });
      const app = await startTestApp(store, {
        idleTimeoutMs: 600 * SECOND,
        absoluteTimeoutMs: 3_600 * SECOND,
        rotationIntervalMs: 120 * SECOND,
        rotationGraceMs: 30 * SECOND,
      });
      clock = app.clock.now;
      const browser = new Client(app.url);
      await browser.post('/login', { userId: 'frank' });
      const oldCookie = browser.jar.get('id')!;
      const oldHandle = oldCookie.split('.')[0]!;

      // A request on the upgraded instance loads the session (a renewal is due) and takes a while.
      app.clock.advance(119 * SECOND);
      const slow = browser.post('/slow?ms=300', {});
      await sleep(100);
      // Meanwhile an instance still on the previous release rotates the token on schedule.
      app.clock.advance(2 * SECOND);
      const record = (await store.get(oldHandle))!;
      const successor = {
        ...record,
        handle: `SUCCESSOR${renewal.toUpperCase()}SUCCESSOR01`,
        rotatedAt: app.clock.at,
        version: 1,
      };
      assert.ok(await store.create(successor));
      const graceUntil = app.clock.at + 30 * SECOND;
      const superseded = await redis.client.eval(PREVIOUS_SUPERSEDE, {
        keys: [store.sessionKey(oldHandle)],
        arguments: [successor.handle, String(graceUntil), String(app.clock.at)],
      });
      assert.equal(superseded, 1);
      assert.equal((await slow).status, 200);

      // Well past the grace deadline, the replaced token must no longer lead anywhere.
      app.clock.advance(60 * SECOND);
      const stale = new Client(app.url);
      stale.jar.set('id', oldCookie);
      const late = await stale.get('/me');
      const pointer = await store.get(oldHandle);
      await app.close();
      assert.deepEqual(
        {
          oldTokenAt60sPastGrace: late.status,
          pointerEndsByGrace:
            pointer === null || Math.min(pointer.idleExpiresAt, pointer.absoluteExpiresAt) <= graceUntil,
        },
        { oldTokenAt60sPastGrace: 401, pointerEndsByGrace: renewal === 'script' },
      );
    });
});
