import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import expressSession from 'express-session';
import { Counter, Registry, register } from 'prom-client';
import { SessionConfigError } from '../../packages/coatcheck/src/core/errors.js';
import { MemoryStore as ExpressMemoryStore } from '../../packages/coatcheck/src/express/index.js';
import { sessionMetrics } from '../../packages/coatcheck/src/observability/index.js';
import { ConnectStore, type ConnectStoreLike } from '../../packages/coatcheck/src/stores/connect.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { Client } from '../support/http.js';
import { sample, startObservedApp } from './support.js';

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0';
const CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0 Safari/537.36';

describe('one registry, several callers', () => {
  it('prom-client itself throws on a second registration (the bug avoided)', () => {
    const registry = new Registry();
    const make = () => new Counter({ name: 'coatcheck_x_total', help: 'x', registers: [registry] });
    make();
    assert.throws(make, /already been registered/);
  });

  it('reuses the metrics when called twice with the same registry, and both count into them', async () => {
    const registry = new Registry();
    const first = await startObservedApp(new MemoryStore());
    const second = await startObservedApp(new MemoryStore());
    try {
      first.sessions.on(sessionMetrics({ registry }).listener);
      second.sessions.on(sessionMetrics({ registry }).listener);
      await new Client(first.url).post('/set');
      await new Client(second.url).post('/set');
      const text = await registry.metrics();
      assert.equal(sample(text, 'coatcheck_sessions_created_total{kind="anonymous"}'), 2);
      assert.equal(text.match(/^# TYPE coatcheck_sessions_created_total /gm)?.length, 1);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it("reuses them in prom-client's global registry by default", () => {
    try {
      const one = sessionMetrics();
      assert.doesNotThrow(() => sessionMetrics());
      assert.equal(one.registry, register);
      assert.ok(register.getSingleMetric('coatcheck_store_operation_duration_seconds'));
    } finally {
      register.clear();
    }
  });

  it('shares one registry between the ESM and CommonJS builds in one process', async () => {
    const registry = new Registry();
    const esm = await import('coatcheck/metrics');
    const cjs = createRequire(import.meta.url)('coatcheck/metrics') as typeof esm;
    assert.notEqual(esm.sessionMetrics, cjs.sessionMetrics, 'two copies of the module');
    esm.sessionMetrics({ registry });
    assert.doesNotThrow(() => cjs.sessionMetrics({ registry }));
  });

  it('refuses a registry where a coatcheck name is another kind of metric', () => {
    const registry = new Registry();
    new Counter({ name: 'coatcheck_store_operation_duration_seconds', help: 'x', registers: [registry] });
    assert.throws(
      () => sessionMetrics({ registry }),
      (error) => error instanceof SessionConfigError && error.option === 'registry',
    );
    assert.throws(() => sessionMetrics({ registry: {} as Registry }), SessionConfigError);
    assert.throws(() => sessionMetrics({ buckets: [0] }), SessionConfigError);
  });
});

describe('session lifecycle counters', () => {
  it('counts a scripted sequence exactly', async () => {
    const registry = new Registry();
    const metrics = sessionMetrics({ registry });
    const app = await startObservedApp(metrics.instrumentStore(new MemoryStore()), {
      idleTimeoutMs: 60_000,
      absoluteTimeoutMs: 120_000,
      binding: { policy: 'revoke' },
      guessLimit: { max: 3, windowMs: 60_000 },
      maxSessionsPerUser: 2,
    });
    app.sessions.on(metrics.listener);
    try {
      const laptop = new Client(app.url, { 'user-agent': FIREFOX });
      await laptop.post('/set');
      const cookieName = [...laptop.jar.keys()][0]!;
      await laptop.post('/login', { userId: 'u1' });
      const phone = new Client(app.url, { 'user-agent': FIREFOX });
      const { handle } = (await phone.post('/login', { userId: 'u1' })).json() as { handle: string };
      app.clock.advance(31_000);
      await laptop.get('/peek'); // renewal
      assert.equal((await laptop.request(`/sessions/${handle}`, { method: 'DELETE' })).status, 204);
      await laptop.post('/logout');

      const idle = new Client(app.url);
      await idle.post('/set');
      app.clock.advance(61_000);
      await idle.get('/peek'); // idle timeout

      const kept = new Client(app.url, { 'user-agent': FIREFOX });
      await kept.post('/login', { userId: 'u2' });
      for (let step = 0; step < 3; step++) {
        app.clock.advance(45_000);
        await kept.get('/peek'); // renewals, then the absolute timeout at 135 s
      }

      const stolen = new Client(app.url, { 'user-agent': FIREFOX });
      await stolen.post('/login', { userId: 'u3' });
      await stolen.get('/peek', { 'user-agent': CHROME }); // binding mismatch: revoked

      for (const device of ['a', 'b', 'c'])
        await new Client(app.url).post('/login', { userId: `u4${device}` });
      for (let n = 0; n < 3; n++) await new Client(app.url).post('/login', { userId: 'u5' }); // evicts one

      for (let n = 0; n < 3; n++) {
        await new Client(app.url).get('/peek', { cookie: `${cookieName}=forged${n}.x.y` });
      }

      const text = await registry.metrics();
      const expected: Record<string, number> = {
        'coatcheck_sessions_created_total{kind="anonymous"}': 2,
        'coatcheck_sessions_created_total{kind="login"}': 10,
        'coatcheck_sessions_rotated_total{trigger="reissue"}': 1,
        'coatcheck_sessions_ended_total{cause="revoked"}': 1,
        'coatcheck_sessions_ended_total{cause="logout"}': 1,
        'coatcheck_sessions_ended_total{cause="idle"}': 1,
        'coatcheck_sessions_ended_total{cause="absolute"}': 1,
        'coatcheck_sessions_ended_total{cause="binding"}': 1,
        'coatcheck_sessions_ended_total{cause="evicted"}': 1,
        'coatcheck_binding_mismatches_total{reason="browser"}': 1,
        coatcheck_session_renewals_total: 3,
        coatcheck_guess_limiter_trips_total: 1,
        'coatcheck_store_operation_duration_seconds_count{operation="replace",outcome="ok"}': 1,
      };
      for (const [series, value] of Object.entries(expected))
        assert.equal(sample(text, series), value, series);
      assert.ok(!text.includes('u1') && !text.includes(handle), 'no user id or handle in a label');
    } finally {
      await app.close();
    }
  });
});

describe('store calls', () => {
  it('counts timeouts and errors by operation, and times the calls that finished', async () => {
    const registry = new Registry();
    const metrics = sessionMetrics({ registry });
    const store = new MemoryStore();
    const app = await startObservedApp(metrics.instrumentStore(store), { storeTimeoutMs: 100 });
    app.sessions.on(metrics.listener);
    try {
      const client = new Client(app.url);
      await client.post('/set');
      const { get } = store;
      store.get = () => new Promise(() => {}); // a store that stopped answering
      assert.equal((await client.get('/peek')).status, 503);
      store.get = get;
      store.update = () => Promise.reject(new Error('connection reset'));
      assert.equal((await client.post('/set')).status, 503);

      const text = await registry.metrics();
      assert.equal(sample(text, 'coatcheck_store_errors_total{operation="get",kind="timeout"}'), 1);
      assert.equal(sample(text, 'coatcheck_store_errors_total{operation="update",kind="error"}'), 1);
      assert.equal(
        sample(text, 'coatcheck_store_operation_duration_seconds_count{operation="update",outcome="error"}'),
        1,
      );
      assert.equal(
        sample(text, 'coatcheck_store_operation_duration_seconds_count{operation="get",outcome="ok"}'),
        1,
        'the hanging call is not timed',
      );
    } finally {
      await app.close();
    }
  });

  it("keeps the store's class, other methods and express-session's callback API", async () => {
    const metrics = sessionMetrics({ registry: new Registry() });
    const memory = metrics.instrumentStore(new ExpressMemoryStore());
    assert.ok(memory instanceof ExpressMemoryStore);
    const connect = metrics.instrumentStore(
      new ConnectStore(new expressSession.MemoryStore() as unknown as ConnectStoreLike),
    );
    assert.ok(connect instanceof ConnectStore, 'so the Express layer still migrates its sessions');
    const app = await startObservedApp(memory);
    try {
      const client = new Client(app.url);
      await client.post('/set');
      assert.equal(memory.size, 1);
      assert.deepEqual((await client.get('/store-get')).json(), { error: false, found: true });
      const text = await metrics.registry.metrics();
      assert.equal(
        sample(text, 'coatcheck_store_operation_duration_seconds_count{operation="get",outcome="ok"}'),
        1,
      );
    } finally {
      await app.close();
    }
  });
});
