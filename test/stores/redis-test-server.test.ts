import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasRedis, startRedis } from '../support/redis-server.js';

/**
 * The suite's redis-server launcher: a server that cannot bind its port exits at once, and the
 * launcher says so at once (it used to wait out its 10 s timeout, and a port taken by a parallel
 * test process between its check and the bind failed a whole Cluster suite).
 */
describe('test redis-server launcher', { skip: !hasRedis && 'redis-server is not installed' }, () => {
  it('a server whose port is taken is reported as exited, without waiting out the timeout', async () => {
    const first = await startRedis();
    try {
      const started = Date.now();
      await assert.rejects(startRedis({ port: first.port }), /exited before it answered/);
      assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
      assert.equal((await first.cli('PING')).trim(), 'PONG', 'the first server is untouched');
    } finally {
      await first.dispose();
    }
  });
});
