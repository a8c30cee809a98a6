/**
 * node-redis's client-side cache (RESP3 client tracking) under two app processes: reads of a hot
 * session are answered from the instance's memory, and a logout or revocation on one instance is
 * refused on the other within a bounded delay: at once when Redis's invalidation message has
 * arrived, and never later than the cache's TTL if it is lost.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type AppCluster, startAppCluster } from '../support/app-cluster.js';
import { Client } from '../support/http.js';
import { hasRedis, type RedisServer, startRedis } from '../support/redis-server.js';

const CACHE_TTL_MS = 1000;
const RUNS = 40;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('two instances on Redis with the client-side cache', {
  skip: !hasRedis && 'redis-server is not installed',
}, () => {
  let redis: RedisServer;
  let cluster: AppCluster;
  before(async () => {
    redis = await startRedis();
    cluster = await startAppCluster({
      env: { REDIS_URL: redis.url, REDIS_CACHE_TTL_MS: String(CACHE_TTL_MS) },
      count: 2,
    });
  });
  after(async () => {
    await cluster?.stop();
    await redis?.dispose();
  });

  /** Signs in on A, reads on B until B's cache holds the session, ends it on A; B's refusal delay in ms. */
  async function refusalDelay(end: (client: Client) => Promise<{ status: number }>): Promise<number> {
    const [a, b] = cluster.instances;
    const user = new Client(a!.url);
    assert.equal((await user.post('/login', { userId: `u-${Math.random()}` })).status, 200);
    const onB = () => new Client(b!.url).get('/me', { cookie: user.cookieHeader });
    assert.equal((await onB()).status, 200);
    assert.equal((await onB()).status, 200);
    assert.equal((await end(user)).status, 200);
    const ended = performance.now();
    for (;;) {
      const status = (await onB()).status;
      if (status === 401) return performance.now() - ended;
      assert.equal(status, 200);
      assert.ok(performance.now() - ended < 5 * CACHE_TTL_MS, 'B still accepts the ended session');
      await sleep(1);
    }
  }

  it(`refuses a session logged out or revoked on the other instance within the cache TTL (${RUNS} runs)`, async (t) => {
    const before = (await new Client(cluster.instances[1]!.url).get('/cache-stats')).json() as {
      hitCount: number;
    };
    const delays: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      delays.push(await refusalDelay((user) => user.post('/logout')));
      delays.push(await refusalDelay((user) => user.post('/logout-all')));
    }
    const stats = (await new Client(cluster.instances[1]!.url).get('/cache-stats')).json() as {
      hitCount: number;
    };
    // Each run reads the session on B twice before it ends: the second read is a hit.
    assert.ok(stats.hitCount - before.hitCount >= 2 * RUNS, `cache hits ${stats.hitCount - before.hitCount}`);
    delays.sort((x, y) => x - y);
    const at = (q: number) => delays[Math.min(delays.length - 1, Math.floor(q * delays.length))]!.toFixed(1);
    t.diagnostic(
      `refusal delay on the other instance, ms: median ${at(0.5)}, p95 ${at(0.95)}, max ${at(1)} (${delays.length} runs, cache TTL ${CACHE_TTL_MS} ms)`,
    );
    assert.ok(delays.at(-1)! <= CACHE_TTL_MS, `max delay ${delays.at(-1)} ms`);
  });
});
