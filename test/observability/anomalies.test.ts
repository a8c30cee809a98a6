import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { detectAnomalies as fromAudit, toAuditRecord } from '../../packages/coatcheck/src/audit/index.js';
import { SessionConfigError } from '../../packages/coatcheck/src/core/errors.js';
import type { SessionEvent } from '../../packages/coatcheck/src/core/events.js';
import {
  type AnomalyOptions,
  detectAnomalies,
  sessionMetrics,
} from '../../packages/coatcheck/src/observability/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { Client } from '../support/http.js';
import { sample, startObservedApp } from './support.js';

const T0 = Date.parse('2026-11-30T12:00:00Z');

type Raised = Omit<SessionEvent, 'time'>;

function detector(options: Omit<AnomalyOptions, 'emit'> = {}) {
  const raised: Raised[] = [];
  const listener = detectAnomalies({ emit: (event) => raised.push(event), ...options });
  const send = (atMs: number, event: Omit<SessionEvent, 'time'>) =>
    listener({ ...event, time: new Date(T0 + atMs).toISOString() } as SessionEvent);
  return { raised, send };
}

interface Rule {
  name: string;
  reason: string;
  defaults: { count: number; windowMs: number };
  option: keyof AnomalyOptions;
  /** The n-th event of a burst against one key. */
  event: (n: number) => Omit<SessionEvent, 'time'>;
  expect: Partial<Raised>;
}

const RULES: Rule[] = [
  {
    name: 'sessions created from one address',
    reason: 'session_burst_address',
    defaults: { count: 30, windowMs: 60_000 },
    option: 'sessionsPerAddress',
    event: (n) => ({
      type: n % 2 ? 'session.created' : 'auth.login.success',
      ip: '203.0.113.5',
      userId: `u${n}`,
    }),
    expect: { ip: '203.0.113.5' },
  },
  {
    name: 'sign-ins of one user',
    reason: 'session_burst_user',
    defaults: { count: 10, windowMs: 600_000 },
    option: 'sessionsPerUser',
    event: (n) => ({ type: 'auth.login.success', userId: 'alice', ip: `198.51.100.${n % 2}` }),
    expect: { userId: 'alice' },
  },
  {
    name: 'CSRF rejections',
    reason: 'csrf_burst',
    defaults: { count: 20, windowMs: 60_000 },
    option: 'csrfFailures',
    event: (n) => ({ type: 'csrf.reject', reason: 'cross-site', ip: `192.0.2.${n}` }),
    expect: {},
  },
  {
    name: "binding mismatches of one user's sessions",
    reason: 'binding_mismatch_burst',
    defaults: { count: 3, windowMs: 600_000 },
    option: 'bindingMismatchesPerUser',
    event: () => ({ type: 'session.binding_mismatch', userId: 'alice', reason: 'network' }),
    expect: { userId: 'alice' },
  },
  {
    name: 'sign-ins of one user from distinct networks',
    reason: 'network_spread',
    defaults: { count: 3, windowMs: 600_000 },
    option: 'networksPerUser',
    event: (n) => ({ type: 'auth.login.success', userId: 'bob', ip: `10.${n}.0.1` }),
    expect: { userId: 'bob' },
  },
];

const ofReason = (raised: Raised[], reason: string) => raised.filter((event) => event.reason === reason);

describe('anomaly thresholds', () => {
  for (const rule of RULES) {
    const { count, windowMs } = rule.defaults;
    const step = Math.floor((windowMs - 1) / count);

    it(`${rule.name}: ${count - 1} within ${windowMs / 1000} s raise nothing, ${count} raise one`, () => {
      const { raised, send } = detector();
      for (let n = 0; n < count - 1; n++) send(n * step, rule.event(n));
      assert.deepEqual(ofReason(raised, rule.reason), []);
      send((count - 1) * step, rule.event(count - 1));
      assert.deepEqual(ofReason(raised, rule.reason), [
        {
          type: 'security.anomaly',
          reason: rule.reason,
          count,
          ...rule.expect,
          ip: rule.event(count - 1).ip,
          requestId: undefined,
        },
      ]);
      // The key starts over: the next event alone is no new burst.
      send(count * step, rule.event(count));
      assert.equal(ofReason(raised, rule.reason).length, 1);
    });

    it(`${rule.name}: the same number spread wider than the window raises nothing`, () => {
      const { raised, send } = detector();
      for (let n = 0; n < count * 2; n++) send(n * (Math.ceil(windowMs / (count - 1)) + 1), rule.event(n));
      assert.deepEqual(ofReason(raised, rule.reason), []);
    });

    it(`${rule.name}: a configured threshold replaces the default, false turns it off`, () => {
      const custom = detector({ [rule.option]: { count: 2, windowMs: 1_000 } } as Omit<
        AnomalyOptions,
        'emit'
      >);
      custom.send(0, rule.event(0));
      custom.send(999, rule.event(1));
      assert.equal(ofReason(custom.raised, rule.reason).length, 1);
      const off = detector({ [rule.option]: false } as Omit<AnomalyOptions, 'emit'>);
      for (let n = 0; n < count * 2; n++) off.send(n, rule.event(n));
      assert.deepEqual(ofReason(off.raised, rule.reason), []);
    });
  }

  it('counts networks, not addresses: many addresses in one /24 or /48 are one network', () => {
    const { raised, send } = detector();
    for (let n = 0; n < 20; n++) send(n, { type: 'auth.login.success', userId: 'bob', ip: `10.1.2.${n}` });
    for (let n = 0; n < 20; n++) {
      send(100 + n, { type: 'auth.login.success', userId: 'bob', ip: `2001:db8:1:${n.toString(16)}::1` });
    }
    assert.deepEqual(ofReason(raised, 'network_spread'), []);
    send(200, { type: 'auth.login.success', userId: 'bob', ip: '::ffff:192.0.2.1' });
    assert.equal(ofReason(raised, 'network_spread').length, 1);
  });

  it('tracks at most maxKeys keys per rule, forgetting the least recently seen', () => {
    const { raised, send } = detector({ maxKeys: 2 });
    const mismatch = (userId: string) => ({ type: 'session.binding_mismatch' as const, userId });
    send(0, mismatch('a'));
    send(1, mismatch('a'));
    send(2, mismatch('b'));
    send(3, mismatch('c')); // 'a' is forgotten
    send(4, mismatch('a'));
    assert.deepEqual(ofReason(raised, 'binding_mismatch_burst'), []);
    send(5, mismatch('c'));
    send(6, mismatch('c'));
    assert.deepEqual(
      ofReason(raised, 'binding_mismatch_burst').map((event) => event.userId),
      ['c'],
    );
  });

  it('refuses bad thresholds at start-up, naming the option', () => {
    const emit = () => {};
    for (const options of [
      { emit, sessionsPerUser: { count: 0, windowMs: 1 } },
      { emit, csrfFailures: { count: 2, windowMs: -1 } },
      { emit, maxKeys: 0 },
    ]) {
      assert.throws(() => detectAnomalies(options), SessionConfigError);
    }
    assert.throws(
      () => detectAnomalies({ emit, networksPerUser: { count: 1.5, windowMs: 10 } }),
      (error) => error instanceof SessionConfigError && error.option === 'networksPerUser.count',
    );
    assert.throws(() => detectAnomalies({} as AnomalyOptions), SessionConfigError);
  });
});

describe('anomalies on the engine bus', () => {
  it('reach every listener as security.anomaly: the audit log as an alert, and the metrics', async () => {
    const registry = new Registry();
    const metrics = sessionMetrics({ registry });
    const app = await startObservedApp(new MemoryStore());
    app.sessions.on(metrics.listener);
    app.sessions.on(
      fromAudit({ emit: app.sessions.engine.emit, sessionsPerUser: { count: 3, windowMs: 60_000 } }),
    );
    try {
      for (let n = 0; n < 3; n++) await new Client(app.url).post('/login', { userId: 'carol' });
      const anomalies = app.events.filter((event) => event.type === 'security.anomaly');
      assert.equal(anomalies.length, 1);
      const record = toAuditRecord(anomalies[0]!);
      assert.equal(record.outcome, 'alert');
      assert.equal(record.userId, 'carol');
      assert.equal(record.reason, 'session_burst_user');
      assert.equal(record.count, 3);
      const text = await registry.metrics();
      assert.equal(sample(text, 'coatcheck_security_anomalies_total{reason="session_burst_user"}'), 1);
    } finally {
      await app.close();
    }
  });
});
