/**
 * A short run of the chaos suite (chaos/, `npm run chaos` for the full one): a Redis kill -9 with
 * AOF and an app process kill -9, each under load through HAProxy, and a few thousand fuzzed
 * requests. The invariants are the full run's: no 500, no process death, no acknowledged write lost.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runFuzz } from '../../chaos/fuzz.js';
import { type LoadSettings, runScenario } from '../../chaos/runner.js';
import { SCENARIOS } from '../../chaos/scenarios.js';
import { hasRedis } from '../support/redis-server.js';
import { requireBinary } from '../support/servers.js';

const haproxy = requireBinary('haproxy', ['/usr/sbin/haproxy']);
const SHORT: LoadSettings = {
  rate: 150,
  durationMs: 6_000,
  writers: 30,
  signIns: 10,
  warmupMs: 2_000,
  outageMs: 1_500,
};

describe('chaos smoke', {
  skip: (!hasRedis || !haproxy) && 'redis-server or haproxy is not installed',
}, () => {
  for (const name of ['redis-kill-aof', 'app-kill']) {
    it(`${name}: no 500, no process death, every acknowledged write read back`, async (t) => {
      const scenario = SCENARIOS.find((candidate) => candidate.name === name)!;
      const result = await runScenario(scenario, SHORT, haproxy!);
      const statuses = [...result.record.perSecond].map(
        ([second, bucket]) => `${second}: ${JSON.stringify([...bucket])}`,
      );
      t.diagnostic(`${name} by second: ${statuses.join(' | ')}`);
      assert.deepEqual(result.failures, []);
      assert.equal(result.status500, 0);
      assert.deepEqual(result.deaths, []);
      assert.ok(result.record.ackedWrites > 0, 'writes were acknowledged during the run');
      assert.equal(result.lost, 0, 'every acknowledged write is read back');
      assert.equal(result.unreadable, 0, 'every writer could read its session after the run');
      assert.equal(result.liveSessions, SHORT.writers + SHORT.signIns, 'every session survived');
      assert.ok(result.firstOkMs !== null, 'a 2xx came after the repair');
      if (name === 'redis-kill-aof') {
        const unavailable = result.record.events.filter((event) => event.status === 503).length;
        assert.ok(unavailable > 0, 'the outage was seen as 503s');
      }
    });
  }

  it('fuzz: a few thousand cookies, CSRF tokens and session data; no 500, no crash, no forged access', async () => {
    const result = await runFuzz({ requests: 2_000, concurrency: 4, seed: 20_261_130, maxMs: 90_000 });
    assert.deepEqual(result.failures, []);
    assert.equal(result.status500, 0);
    assert.equal(result.crashed, false);
    assert.ok(result.requests >= 2_000, `ran ${result.requests} requests`);
  });
});
