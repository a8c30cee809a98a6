import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { browserFamily, ipPrefix } from '../../packages/coatcheck/src/core/policies/binding.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SqliteStore } from '../../packages/coatcheck/src/stores/sqlite.js';
import { startTestApp } from '../support/app.js';
import { Client } from '../support/http.js';

const CHROME_120 =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.71 Safari/537.36';
const CHROME_121 =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.6167.85 Safari/537.36';
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const SAFARI =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15';
const EDGE = `${CHROME_120} Edg/120.0.2210.61`;

describe('concurrent-session limit', () => {
  for (const [name, makeStore] of [
    ['memory', () => new MemoryStore()],
    ['sqlite', () => new SqliteStore({ path: ':memory:' })],
  ] as const) {
    it(`S36 evict-oldest keeps the newest N, one after another and in parallel (${name})`, async () => {
      const app = await startTestApp(makeStore(), { maxSessionsPerUser: 3 });
      const clients = Array.from({ length: 4 }, () => new Client(app.url));
      for (const c of clients) {
        await c.post('/login', { userId: 'alice' });
        app.clock.advance(1);
      }
      assert.equal((await clients[0]!.get('/me')).status, 401, 'the oldest was evicted');
      for (const c of clients.slice(1)) assert.equal((await c.get('/me')).status, 200);
      assert.equal(app.events.filter((e) => e.type === 'session.evicted').length, 1);

      const burst = Array.from({ length: 8 }, () => new Client(app.url));
      await Promise.all(burst.map((c) => c.post('/login', { userId: 'bob' })));
      assert.ok((await app.store.listByUser('bob')).length <= 3);
      const alive = (await Promise.all(burst.map((c) => c.get('/me')))).filter((r) => r.status === 200);
      assert.ok(alive.length >= 1 && alive.length <= 3, `${alive.length} alive`);
      await app.close();
      await app.store.close();
    });

    it(`S36 refuse answers 409 at the limit and never exceeds it in parallel (${name})`, async () => {
      const app = await startTestApp(makeStore(), { maxSessionsPerUser: 2, sessionLimitPolicy: 'refuse' });
      const [a, b, c] = [new Client(app.url), new Client(app.url), new Client(app.url)];
      assert.equal((await a.post('/login', { userId: 'carol' })).status, 200);
      assert.equal((await b.post('/login', { userId: 'carol' })).status, 200);
      const refused = await c.post('/login', { userId: 'carol' });
      assert.equal(refused.status, 409);
      assert.deepEqual(refused.json(), { error: 'SESSION_LIMIT' });
      assert.equal((await c.get('/me')).status, 401);
      const burst = Array.from({ length: 7 }, () => new Client(app.url));
      const results = await Promise.all(burst.map((x) => x.post('/login', { userId: 'dave' })));
      assert.ok(results.filter((r) => r.status === 200).length <= 2);
      assert.ok(results.every((r) => r.status === 200 || r.status === 409));
      const alive = (await Promise.all(burst.map((x) => x.get('/me')))).filter((r) => r.status === 200);
      assert.ok(alive.length <= 2);
      assert.ok((await app.store.listByUser('dave')).length <= 2);
      await app.close();
      await app.store.close();
    });
  }
});

describe('device binding', () => {
  it('S42 browser families ignore versions; network prefixes group a /24 and a /48', () => {
    assert.equal(browserFamily(CHROME_120), browserFamily(CHROME_121));
    assert.deepEqual([FIREFOX, SAFARI, EDGE, CHROME_120].map(browserFamily), [
      'firefox',
      'safari',
      'edge',
      'chrome',
    ]);
    assert.equal(ipPrefix('203.0.113.9', 24, 48), ipPrefix('203.0.113.200', 24, 48));
    assert.notEqual(ipPrefix('203.0.113.9', 24, 48), ipPrefix('203.0.114.9', 24, 48));
    assert.equal(ipPrefix('::ffff:203.0.113.9', 24, 48), ipPrefix('203.0.113.1', 24, 48));
    assert.equal(ipPrefix('2001:db8:1::1', 24, 48), ipPrefix('2001:db8:1:ffff::2', 24, 48));
    assert.notEqual(ipPrefix('2001:db8:1::1', 24, 48), ipPrefix('2001:db8:2::1', 24, 48));
  });

  it('S42 a minor browser update is not a mismatch; another browser family is, and the policy applies', async () => {
    for (const policy of ['log', 'step-up', 'revoke'] as const) {
      const app = await startTestApp(new MemoryStore(), { binding: { policy } });
      const c = new Client(app.url, { 'user-agent': CHROME_120 });
      await c.post('/login', { userId: 'alice' });
      assert.equal((await c.get('/me', { 'user-agent': CHROME_121 })).status, 200);
      assert.equal(app.events.filter((e) => e.type === 'session.binding_mismatch').length, 0);
      const stolen = await c.get('/me', { 'user-agent': FIREFOX });
      const mismatches = app.events.filter((e) => e.type === 'session.binding_mismatch');
      assert.equal(mismatches.length, 1, policy);
      assert.equal(mismatches[0]!.reason, 'browser');
      if (policy === 'revoke') {
        assert.equal(stolen.status, 401);
        assert.equal((await c.get('/me', { 'user-agent': CHROME_120 })).status, 401);
      } else {
        assert.equal(stolen.status, 200);
        const sensitive = await c.post('/account/email', {}, { 'user-agent': FIREFOX });
        assert.equal(sensitive.status, policy === 'step-up' ? 401 : 200, policy);
        if (policy === 'step-up') {
          assert.equal((sensitive.json() as { error: string }).error, 'reauth_required');
          await c.post('/reauth', {}, { 'user-agent': FIREFOX });
          assert.equal((await c.post('/account/email', {}, { 'user-agent': FIREFOX })).status, 200);
        }
      }
      await app.close();
    }
  });
});

describe('step-up freshness', () => {
  it('S39 S20 a stale session must re-authenticate; re-auth rotates, updates authAt in the store, and has a window', async () => {
    const app = await startTestApp(new MemoryStore());
    const c = new Client(app.url);
    await c.post('/login', { userId: 'alice' });
    assert.equal((await c.post('/account/email')).status, 200, 'fresh right after login');
    app.clock.advance(301_000);
    assert.equal((await c.get('/me')).status, 200, 'activity does not make it fresh');
    assert.equal(((await c.post('/account/email')).json() as { error: string }).error, 'reauth_required');
    const before = c.jar.get('id')!;
    await c.post('/reauth');
    const after = c.jar.get('id')!;
    assert.notEqual(after, before);
    assert.equal((await new Client(app.url).get('/me', { cookie: `id=${before}` })).status, 401);
    assert.equal((await app.store.get(after.split('.')[0]!))!.authAt, app.clock.at);
    assert.equal((await app.store.listByUser('alice')).length, 1, 'no second session');
    assert.equal((await c.post('/account/email')).status, 200);
    app.clock.advance(301_000);
    assert.equal((await c.post('/account/email')).status, 401);
    await app.close();
  });
});

describe('client address, guessing, response hygiene', () => {
  it('S43 the recorded address is the socket address unless a proxy is trusted', async () => {
    const app = await startTestApp(new MemoryStore());
    const c = new Client(app.url, { 'x-forwarded-for': '203.0.113.9' });
    await c.post('/login', { userId: 'alice' });
    const [device] = (await c.get('/sessions')).json() as [{ ip: string }];
    assert.match(device.ip, /127\.0\.0\.1/);
    await app.close();
  });

  it('S44 many invalid cookies from one address get 429 and an alert; valid users are unaffected', async () => {
    const app = await startTestApp(new MemoryStore(), { guessLimit: { max: 20, windowMs: 60_000 } });
    const legit = new Client(app.url);
    await legit.post('/login', { userId: 'alice' });
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const guess = `${'A'.repeat(22)}.${'B'.repeat(42)}${i % 10}.${'C'.repeat(43)}`;
      statuses.push((await new Client(app.url).get('/me', { cookie: `id=${guess}` })).status);
    }
    assert.deepEqual(statuses.slice(0, 20), Array(20).fill(401));
    assert.deepEqual(statuses.slice(20), Array(10).fill(429));
    assert.equal(app.events.filter((e) => e.type === 'security.session_bruteforce').length, 1);
    assert.equal((await legit.get('/me')).status, 200, 'a valid cookie from the same address still works');
    assert.equal((await new Client(app.url).get('/peek')).status, 200, 'no cookie, no limit');
    app.clock.advance(60_001);
    assert.equal((await new Client(app.url).get('/me', { cookie: `id=${'A'.repeat(22)}.x` })).status, 401);
    await app.close();
  });

  it('S16 S28 signed-in and cookie-setting responses are no-store; logout clears site data', async () => {
    const app = await startTestApp(new MemoryStore());
    const c = new Client(app.url);
    assert.equal((await c.get('/peek')).headers.get('cache-control'), null, 'anonymous pages stay cacheable');
    assert.equal((await c.post('/login', { userId: 'alice' })).headers.get('cache-control'), 'no-store');
    assert.equal((await c.get('/me')).headers.get('cache-control'), 'no-store');
    const logout = await c.post('/logout');
    assert.equal(logout.headers.get('cache-control'), 'no-store');
    assert.equal(logout.headers.get('clear-site-data'), '"cache", "storage"');
    await app.close();
  });
});
