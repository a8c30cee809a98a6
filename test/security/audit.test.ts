import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import pino from 'pino';
import { auditSink, jsonLineSink, toAuditRecord } from '../../packages/coatcheck/src/audit/index.js';
import type { SessionEvent } from '../../packages/coatcheck/src/core/events.js';
import { csrf } from '../../packages/coatcheck/src/express/csrf.js';
import { requireAuth, type SessionMiddleware, session } from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { Clock, SECRET } from '../support/app.js';
import { Client, listen, type Running } from '../support/http.js';

const INJECTION = '\r\n{"event":"auth.login.success","user":"admin"}';

describe('S47 S48 audit log of a whole session lifecycle, through pino', () => {
  const lines: string[] = [];
  const secrets = new Set<string>();
  const clock = new Clock();
  const store = new MemoryStore({ now: clock.now });
  let sessions: SessionMiddleware;
  let app: Running;

  /** Remembers every cookie value, cookie part, CSRF token and stored secret this run sees. */
  async function capture(client: Client): Promise<void> {
    for (const value of client.jar.values()) {
      secrets.add(value);
      const [handle, secret, mac] = value.split('.');
      if (secret) secrets.add(secret);
      if (mac) secrets.add(mac);
      const record = handle ? await store.get(handle) : null;
      if (record) secrets.add(record.secretHash);
      if (record?.csrfSecret) secrets.add(record.csrfSecret);
    }
  }
  async function token(client: Client): Promise<string> {
    const value = ((await client.get('/csrf')).json() as { token: string }).token;
    secrets.add(value);
    await capture(client);
    return value;
  }
  /** Runs one action and returns the events its log lines name, in order. */
  async function action(run: () => Promise<unknown>): Promise<string[]> {
    const from = lines.length;
    await run();
    return lines.slice(from).map((line) => (JSON.parse(line) as { event: string }).event);
  }

  before(async () => {
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line.trimEnd()) });
    sessions = session({ secret: SECRET, store, now: clock.now, warn: () => {} });
    sessions.on(auditSink(logger));
    const server = express();
    server.use(sessions, express.json());
    server.use(csrf({ origins: ['https://app.test'] }));
    server.get('/csrf', (req, res) => void res.json({ token: req.csrfToken() }));
    server.post('/login', async (req, res) => {
      await req.session.login(String((req.body as { userId: string }).userId));
      res.json({ ok: true });
    });
    server.post('/reauth', async (req, res) => {
      await req.session.reauthenticate();
      res.json({ ok: true });
    });
    server.post('/logout', async (req, res) => {
      await req.session.logout();
      res.json({ ok: true });
    });
    server.post('/logout-all', requireAuth(), async (req, res) => {
      res.json({ count: await req.session.logoutEverywhere() });
    });
    server.get('/me', requireAuth(), (req, res) => void res.json({ userId: req.session.meta?.userId }));
    app = await listen(server as never);
  });
  after(() => app.close());

  it('S47 each action logs its events exactly once, with no token, secret or cookie value anywhere', async () => {
    const alice = new Client(app.url, { 'user-agent': 'Browser/1.0 "quoted" \\ back' });
    let csrfToken = '';
    assert.deepEqual(await action(async () => (csrfToken = await token(alice))), ['session.created']);
    assert.deepEqual(
      await action(() => alice.post('/login', { userId: 'alice' }, { 'x-csrf-token': csrfToken })),
      ['session.regenerated', 'auth.login.success'],
    );
    await capture(alice);
    csrfToken = await token(alice);
    clock.advance(61_000);
    assert.deepEqual(await action(() => alice.get('/me')), ['session.renewed']);
    assert.deepEqual(await action(() => alice.post('/reauth', {}, { 'x-csrf-token': csrfToken })), [
      'session.regenerated',
      'auth.reauthenticated',
    ]);
    await capture(alice);
    assert.deepEqual(await action(() => alice.post('/reauth', {}, { 'x-csrf-token': csrfToken })), [
      'csrf.reject',
    ]);
    csrfToken = await token(alice);

    const valid = alice.jar.get('id')!;
    const [handle, secret, mac] = valid.split('.') as [string, string, string];
    const forged = `${handle}.${secret}.${mac.startsWith('A') ? 'B' : 'A'}${mac.slice(1)}`;
    assert.deepEqual(await action(() => alice.get('/me', { cookie: `id=${forged}` })), ['session.tamper']);
    // The tampered request's answer expired the cookie in this jar; the real browser keeps its own.
    alice.jar.set('id', valid);
    assert.deepEqual(await action(() => alice.get('/me', { cookie: `id=${valid}; id=${valid}` })), [
      'session.duplicate_cookie',
    ]);

    const phone = new Client(app.url, { 'user-agent': 'Phone/2.0' });
    const phoneToken = await token(phone);
    await phone.post('/login', { userId: 'alice' }, { 'x-csrf-token': phoneToken });
    await capture(phone);
    assert.deepEqual(await action(() => alice.post('/logout-all', {}, { 'x-csrf-token': csrfToken })), [
      'session.logout_all',
    ]);
    assert.deepEqual(await action(() => phone.get('/me')), ['session.unknown_id']);

    const beforeLogout = alice.cookieHeader;
    assert.deepEqual(await action(() => alice.post('/logout', {}, { 'x-csrf-token': csrfToken })), [
      'session.logout',
    ]);
    assert.deepEqual(await action(() => alice.get('/me', { cookie: beforeLogout })), ['session.unknown_id']);

    const log = lines.join('\n');
    const leaks = [...secrets].filter((value) => value.length >= 20 && log.includes(value));
    assert.ok(secrets.size >= 15, `captured ${secrets.size} secrets`);
    assert.deepEqual(leaks, []);
    assert.ok(log.includes(handle), 'handles, which are public, are what the log names sessions by');
  });

  it('S47 every line is one JSON object with the audit fields, UTC time and no duplicate keys', () => {
    assert.ok(lines.length >= 15);
    for (const line of lines) {
      assert.ok(!line.includes('\n') && !line.includes('\r'));
      const entry = JSON.parse(line) as Record<string, unknown>;
      for (const key of [
        'event',
        'eventTime',
        'userId',
        'handle',
        'ip',
        'userAgent',
        'outcome',
        'requestId',
      ]) {
        assert.ok(key in entry, `${key} in ${line}`);
      }
      assert.match(String(entry.eventTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(line.match(/"time":/g)?.length, 1, 'pino keeps its own time key, alone');
    }
    const reject = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((e) => e.event === 'csrf.reject');
    assert.deepEqual(
      { outcome: reject?.outcome, reason: reject?.reason, userId: reject?.userId },
      {
        outcome: 'rejected',
        reason: 'invalid-token',
        userId: 'alice',
      },
    );
  });

  it('S48 a user agent or user id carrying CR LF and a fake event stays inside its field', async () => {
    const { engine } = sessions;
    const from = lines.length;
    const state = await engine.load({ secure: false, userAgent: `x${INJECTION}`, ip: '203.0.113.7' });
    await engine.login(state, `mallory${INJECTION}`);
    const client = new Client(app.url);
    const csrfToken = await token(client);
    await client.post('/login', { userId: `eve\n${INJECTION}` }, { 'x-csrf-token': csrfToken });
    const written = lines.slice(from);
    const logins = written
      .map((line) => JSON.parse(line) as Record<string, string>)
      .filter((e) => e.event === 'auth.login.success');
    assert.equal(logins.length, 2, 'two logins, two lines: the injected text made none');
    assert.equal(logins[0]!.userAgent, `x\ufffd\ufffd{"event":"auth.login.success","user":"admin"}`);
    assert.equal(logins[0]!.userId, `mallory\ufffd\ufffd{"event":"auth.login.success","user":"admin"}`);
    assert.ok(logins[1]!.userId!.startsWith('eve\ufffd'));
    for (const line of written) assert.equal(typeof JSON.parse(line), 'object');
  });
});

describe('audit records', () => {
  const event = (fields: Partial<SessionEvent>): SessionEvent => ({
    type: 'session.created',
    time: '2026-01-01T00:00:00.000Z',
    ...fields,
  });

  it('S48 caps lengths and neutralises line breaks, C1 controls, bidi overrides and lone surrogates', () => {
    const record = toAuditRecord(
      event({
        userAgent: `a\u2028b\u2029c\u0085d\u202ee\ud800f ${'x '.repeat(1_000)}`,
        userId: 'u'.repeat(1_000),
      }),
    );
    assert.ok(record.userAgent!.startsWith('a\ufffdb\ufffdc\ufffdd\ufffde\ufffdf x '));
    assert.ok(record.userAgent!.length <= 513);
    assert.ok(record.userId!.length <= 257);
    assert.equal(toAuditRecord(event({ userAgent: '\ud83d\ude00 ok' })).userAgent, '\ud83d\ude00 ok');
  });

  it('S47 scrubs anything shaped like a session cookie or a 256-bit secret from free text', () => {
    const cookie = `${'h'.repeat(22)}.${'s'.repeat(43)}.${'m'.repeat(43)}`;
    const record = toAuditRecord(event({ userAgent: `UA ${cookie} end`, reason: `bad ${'t'.repeat(86)}` }));
    assert.equal(record.userAgent, 'UA [redacted] end');
    assert.equal(record.reason, 'bad [redacted]');
    const cut = toAuditRecord(event({ userAgent: `${'a '.repeat(245)}${cookie}` })).userAgent!;
    assert.ok(cut.endsWith('[redacted]') && !cut.includes('sss'), 'the cap never leaves part of a secret');
  });

  it('maps outcomes, copies only known fields, and writes UTC', () => {
    const extra = {
      ...event({ type: 'csrf.reject', reason: 'cross-site' }),
      cookie: 'id=secret',
      token: 'x',
    };
    const record = toAuditRecord(extra as SessionEvent);
    assert.deepEqual(record, {
      event: 'csrf.reject',
      time: '2026-01-01T00:00:00.000Z',
      userId: null,
      handle: null,
      ip: null,
      userAgent: null,
      outcome: 'rejected',
      requestId: null,
      reason: 'cross-site',
    });
    assert.equal(toAuditRecord(event({ type: 'session.expired.idle' })).outcome, 'expired');
    assert.equal(
      toAuditRecord(event({ type: 'auth.login.failure' as SessionEvent['type'] })).outcome,
      'failure',
    );
    assert.equal(
      toAuditRecord(event({ time: '2026-01-01T01:00:00+01:00' })).time,
      '2026-01-01T00:00:00.000Z',
    );
  });

  it('jsonLineSink writes exactly one line per event, with `time`', () => {
    const out: string[] = [];
    const sink = jsonLineSink((line) => out.push(line));
    sink(event({ userAgent: `ua${INJECTION}` }));
    sink(event({ type: 'session.logout', count: 2 }));
    assert.equal(out.length, 2);
    for (const line of out) {
      assert.ok(line.endsWith('\n') && line.indexOf('\n') === line.length - 1);
      assert.equal((JSON.parse(line) as { time: string }).time, '2026-01-01T00:00:00.000Z');
    }
  });

  it('auditSink accepts any { info } logger and refuses a time key pino owns', () => {
    const seen: Record<string, unknown>[] = [];
    auditSink({ info: (object) => seen.push(object) }, { timeKey: 'at' })(event({}));
    assert.equal(seen[0]?.at, '2026-01-01T00:00:00.000Z');
    assert.throws(() => auditSink({ info: () => {} }, { timeKey: 'level' }), TypeError);
    assert.throws(() => auditSink({} as never), TypeError);
  });
});
