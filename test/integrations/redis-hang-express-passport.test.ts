/**
 * Express + Passport (passport-local) on RedisStore over node-redis: while redis-server is stopped
 * (SIGSTOP), requests answer 503 and never 500 or anonymous; after SIGCONT the same session works.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { Client } from '../support/http.js';
import { startPassportApp } from '../support/passport-app.js';
import { hasRedis, redisForSuite } from '../support/redis-server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Express + Passport on Redis while Redis hangs', {
  skip: !hasRedis && 'redis-server is not installed',
}, () => {
  const redis = redisForSuite();

  it('answers 503 during the hang and serves the same session after it', async () => {
    const app = await startPassportApp(new RedisStore({ client: redis.client, prefix: 'hang-passport:' }), {
      storeTimeoutMs: 300,
    });
    try {
      app.addUser('ann', 'pw-ann');
      const c = new Client(app.url);
      assert.equal((await c.post('/login', { username: 'ann', password: 'pw-ann' })).status, 302);
      const me = (await (await c.get('/whoami')).json()) as { user: string | null; id: string };
      assert.equal(me.user, 'user-ann');

      process.kill(redis.server.pid, 'SIGSTOP');
      let statuses: number[];
      try {
        const responses = await Promise.all([
          c.get('/whoami'),
          c.get('/private'),
          c.post('/cart', { item: 'x' }),
        ]);
        statuses = responses.map((r) => r.status);
      } finally {
        process.kill(redis.server.pid, 'SIGCONT');
      }
      assert.deepEqual(statuses, [503, 503, 503]);
      const errorsDuring = app.events.filter((e) => e.type === 'store.error').length;
      assert.ok(errorsDuring >= 1, 'store.error fired');
      assert.equal(app.events.filter((e) => e.type === 'store.recovered').length, 0);

      // node-redis answers the queued commands once the server runs again.
      await sleep(200);
      const after = (await (await c.get('/whoami')).json()) as { user: string | null; id: string };
      assert.equal(after.user, 'user-ann');
      assert.equal(after.id, me.id);
      assert.equal((await c.get('/private')).status, 200);
      await sleep(1_300);
      assert.equal((await c.get('/private')).status, 200);
      assert.equal(app.events.filter((e) => e.type === 'store.recovered').length, 1);

      // A second outage: store.error again, and one more store.recovered once it is over.
      const errorsBefore = app.events.filter((e) => e.type === 'store.error').length;
      process.kill(redis.server.pid, 'SIGSTOP');
      let second: number;
      try {
        second = (await c.get('/whoami')).status;
        // Signing in again (Passport regenerates the session) during the hang fails closed too.
        const relogin = await c.post('/login', { username: 'ann', password: 'pw-ann' });
        assert.equal(relogin.status, 503);
      } finally {
        process.kill(redis.server.pid, 'SIGCONT');
      }
      assert.equal(second, 503);
      assert.ok(app.events.filter((e) => e.type === 'store.error').length > errorsBefore);
      await sleep(200);
      assert.equal(((await (await c.get('/whoami')).json()) as { user: string }).user, 'user-ann');
      await sleep(1_300);
      await c.get('/private');
      assert.equal(app.events.filter((e) => e.type === 'store.recovered').length, 2);
      assert.ok(
        app.errors.every((e) => (e as { status?: number }).status === 503),
        'no 500s',
      );
    } finally {
      await app.close();
    }
  });
});
