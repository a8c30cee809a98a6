import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cluster } from 'ioredis';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Client } from '../support/http.js';
import { hasRedis, type RedisCluster, startRedisCluster } from '../support/redis-server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const count = (app: TestApp, type: string) => app.events.filter((event) => event.type === type).length;

describe('store.recovered under a partial outage', {
  skip: !hasRedis && 'redis-server is not installed',
}, () => {
  let cluster: RedisCluster;
  before(async () => {
    cluster = await startRedisCluster();
  });
  after(() => cluster?.stop());

  it('is reported once, after the outage, not after every success while one node is down', async (t) => {
    const client = new Cluster(cluster.nodes, {
      enableOfflineQueue: false,
      clusterRetryStrategy: () => 100,
      redisOptions: { maxRetriesPerRequest: 0, connectTimeout: 500 },
    });
    await new Promise((resolve) => client.once('ready', resolve));
    const app = await startTestApp(new RedisStore({ client }), { storeTimeoutMs: 300 });
    t.after(async () => {
      await app.close();
      client.disconnect();
    });
    // Enough users that every master holds some of their sessions.
    const users = Array.from({ length: 30 }, () => new Client(app.url));
    for (const [i, user] of users.entries())
      assert.equal((await user.post('/login', { userId: `p${i}` })).status, 200);

    const down = cluster.servers[0]!;
    await down.stop('SIGKILL');
    const statuses = new Map<number, number>();
    const until = Date.now() + 2_500;
    while (Date.now() < until) {
      for (const response of await Promise.all(users.map((user) => user.get('/me')))) {
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      }
    }
    assert.ok(statuses.get(503) && statuses.get(200), `a partial outage: ${JSON.stringify([...statuses])}`);
    const during = count(app, 'store.recovered');
    t.diagnostic(
      `store.error ${count(app, 'store.error')}, store.recovered ${during} while one of 3 masters was down`,
    );
    assert.equal(during, 0, 'no recovery reported while a third of the sessions answer 503');

    await down.restart();
    const deadline = Date.now() + 20_000;
    let all: number[] = [];
    do {
      await sleep(100);
      all = (await Promise.all(users.map((user) => user.get('/me')))).map((r) => r.status);
    } while (all.includes(503) && Date.now() < deadline);
    // The restarted master kept no data: its sessions are gone (401), the others still served.
    assert.ok(!all.includes(503) && all.includes(200), `the store answers again: ${all.join(',')}`);
    const quietDeadline = Date.now() + 3_000;
    while (count(app, 'store.recovered') === 0 && Date.now() < quietDeadline) {
      await users[0]!.get('/me');
      await sleep(100);
    }
    assert.equal(count(app, 'store.recovered'), 1, 'recovery reported once');
  });
});
