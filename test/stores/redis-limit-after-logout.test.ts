/**
 * Redis: a logout leaves its handle in the user index until a listing cleans it. The per-user
 * session limit must count only live sessions, or signed-out devices refuse or evict live ones.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { SessionOptions } from '../../packages/coatcheck/src/express/index.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Client } from '../support/http.js';
import { hasRedis, redisForSuite } from '../support/redis-server.js';

describe('Redis store: the per-user session limit after logouts', {
  skip: !hasRedis && 'redis-server is not installed',
}, () => {
  const redis = redisForSuite();

  async function start(options: Partial<SessionOptions>): Promise<TestApp> {
    const store = new RedisStore({ client: redis.client, prefix: `l${randomUUID().slice(0, 8)}:` });
    return startTestApp(store, options);
  }

  it('refuses no sign-in when every earlier session of the user was logged out', async () => {
    const app = await start({ maxSessionsPerUser: 2, sessionLimitPolicy: 'refuse' });
    try {
      for (let i = 0; i < 3; i++) {
        const browser = new Client(app.url);
        assert.equal((await browser.post('/login', { userId: 'fay' })).status, 200, `sign-in ${i + 1}`);
        assert.equal((await browser.post('/logout')).status, 200);
      }
      const laptop = new Client(app.url);
      assert.equal((await laptop.post('/login', { userId: 'fay' })).status, 200);
      assert.equal((await laptop.get('/me')).status, 200);
    } finally {
      await app.close();
    }
  });

  it('evicts no live session to make room for the handles of logged-out ones', async () => {
    const app = await start({ maxSessionsPerUser: 2, sessionLimitPolicy: 'evict-oldest' });
    try {
      const phone = new Client(app.url);
      assert.equal((await phone.post('/login', { userId: 'gus' })).status, 200);
      for (let i = 0; i < 3; i++) {
        const browser = new Client(app.url);
        assert.equal((await browser.post('/login', { userId: 'gus' })).status, 200);
        assert.equal((await browser.post('/logout')).status, 200);
      }
      const laptop = new Client(app.url);
      assert.equal((await laptop.post('/login', { userId: 'gus' })).status, 200);
      assert.deepEqual([(await phone.get('/me')).status, (await laptop.get('/me')).status], [200, 200]);
    } finally {
      await app.close();
    }
  });
});
