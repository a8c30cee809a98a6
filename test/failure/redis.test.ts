import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { startTestApp } from '../support/app.js';
import { Client } from '../support/http.js';
import { type ClientKind, hasRedis, type RedisServer, startRedis } from '../support/redis-server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Clients configured as docs/operations-redis.md advises: reconnect by themselves, never queue offline. */
async function resilientClient(kind: ClientKind, redis: RedisServer) {
  if (kind === 'node-redis') {
    const client = createClient({
      url: redis.url,
      disableOfflineQueue: true,
      socket: { connectTimeout: 1_000, reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 500) },
    });
    await client.connect();
    return { client, close: () => client.close() };
  }
  const client = new Redis(redis.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 1_000,
    retryStrategy: (retries) => Math.min(50 * 2 ** retries, 500),
  });
  await new Promise((resolve) => client.once('ready', resolve));
  return { client, close: async () => void client.disconnect() };
}

describe('redis outage', { skip: !hasRedis && 'redis-server is not installed' }, () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  after(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  for (const kind of ['node-redis', 'ioredis'] as const) {
    it(`S49 fails closed while Redis is down and recovers by itself (${kind})`, async (t) => {
      // AOF on, so sessions survive the crash; the kill is SIGKILL, not a clean shutdown.
      const redis = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'everysec'] });
      const { client, close } = await resilientClient(kind, redis);
      const app = await startTestApp(new RedisStore({ client }), { storeTimeoutMs: 300 });
      t.after(async () => {
        await app.close();
        await close();
        await redis.dispose();
      });

      const alice = new Client(app.url);
      const bob = new Client(app.url);
      assert.equal((await alice.post('/login', { userId: 'alice' })).status, 200);
      assert.equal((await alice.post('/set', { cart: ['socks'] })).status, 200);
      assert.equal((await bob.post('/login', { userId: 'bob' })).status, 200);
      const aliceCookie = alice.cookieHeader;

      // Requests in flight (past the session load, inside the handler) when Redis dies.
      const inFlight = Array.from({ length: 8 }, (_, i) => alice.post('/slow?ms=400', { [`k${i}`]: i }));
      await sleep(150);
      await redis.stop('SIGKILL');
      const during = [
        ...(await Promise.all(inFlight)),
        await alice.get('/me'),
        await bob.get('/me'),
        await alice.post('/set', { late: true }),
      ];
      for (const response of during) {
        assert.equal(response.status, 503);
        assert.equal(response.text, 'Service Unavailable', 'a generic body, no stack trace');
        assert.equal(response.setCookies.length, 0, 'the session cookie is neither replaced nor cleared');
      }
      assert.equal(alice.cookieHeader, aliceCookie);
      assert.ok(app.events.some((event) => event.type === 'store.error'));
      assert.ok(!app.events.some((event) => event.type === 'store.recovered'));

      await redis.restart();
      const deadline = Date.now() + 15_000;
      let me = await alice.get('/me');
      while (me.status === 503 && Date.now() < deadline) {
        await sleep(100);
        me = await alice.get('/me');
      }
      assert.equal(me.status, 200, 'the same app serves again, with no restart');
      const body = me.json() as { userId: string; data: Record<string, unknown> };
      assert.equal(body.userId, 'alice', 'a session created before the outage still works');
      assert.deepEqual(body.data.cart, ['socks']);
      assert.equal((await bob.get('/me')).status, 200);
      const carol = new Client(app.url);
      assert.equal((await carol.post('/login', { userId: 'carol' })).status, 200);
      assert.equal((await carol.get('/me')).status, 200);

      // Reported once the store has answered without a failure for twice the timeout (1 s here).
      const reported = Date.now() + 3_000;
      while (!app.events.some((event) => event.type === 'store.recovered') && Date.now() < reported) {
        await sleep(100);
      }
      const recovered = app.events.findIndex((event) => event.type === 'store.recovered');
      assert.ok(recovered >= 0, 'store.recovered was reported');
      assert.ok(
        !app.events.slice(recovered).some((event) => event.type === 'store.error'),
        'no store error after recovery',
      );
      assert.deepEqual(unhandled, [], 'no unhandled rejection: the process stays up');
    });
  }

  it('S49 a login that fails on the store inside its handler answers 503, not the error page', async (t) => {
    const redis = await startRedis();
    const { client, close } = await resilientClient('node-redis', redis);
    const app = await startTestApp(new RedisStore({ client }), { storeTimeoutMs: 300 });
    t.after(async () => {
      await app.close();
      await close();
      await redis.dispose();
    });
    await redis.stop('SIGKILL');
    // No cookie, so the load needs no store; the handler awaits login(), whose rejection goes to
    // Express's error handler (500 with a stack trace outside production) unless the adapter steps in.
    const response = await new Client(app.url).post('/login', { userId: 'mallory' });
    assert.equal(response.status, 503);
    assert.equal(response.text, 'Service Unavailable', 'a generic body, no stack trace');
  });
});
