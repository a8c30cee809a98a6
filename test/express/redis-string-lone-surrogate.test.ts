// A data key holding a lone surrogate, set by a request on Express and kept across a rotation, in
// the string layout: writes, login and logout keep working on it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { startTestApp } from '../support/app.js';
import { Client } from '../support/http.js';
import { hasRedis, redisForSuite } from '../support/redis-server.js';

describe('Express on the Redis string layout: a data key with a lone surrogate', {
  skip: !hasRedis && 'no redis',
}, () => {
  const redis = redisForSuite();
  it('a first request that sets key "\\ud800" creates a session that can be updated and logged out', async () => {
    const store = new RedisStore({ client: redis.client, prefix: 'ls-express:' });
    const app = await startTestApp(store);
    try {
      const client = new Client(app.url);
      // JSON text with the escape, as any browser may send it; express.json makes a lone surrogate key.
      const set = await client.request('/set', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"\\ud800":1}',
      });
      assert.equal(set.status, 200);
      // The session was created by that request, its data in the one CREATE (codec.ts encodeString).
      const later = await client.request('/set', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"b":2}',
      });
      const logout = await client.post('/logout');
      const keys = await redis.client.keys('ls-express:s:*');
      assert.deepEqual(
        { write: later.status, logout: logout.status, keysLeft: keys.length },
        { write: 200, logout: 200, keysLeft: 0 },
      );
    } finally {
      await app.close();
    }
  });
});
