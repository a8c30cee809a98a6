import assert from 'node:assert/strict';
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SqliteStore } from '../../packages/coatcheck/src/stores/sqlite.js';
import { SECRET, startTestApp, type TestApp } from '../support/app.js';
import { Client } from '../support/http.js';

/** Signs `<handle>.<secret>` the way the engine does, with a key derived from `secret`. */
function sign(body: string, secret = SECRET): string {
  const key = Buffer.from(hkdfSync('sha256', secret, 'coatcheck', 'cookie-mac', 32));
  return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`;
}

describe('session tokens', () => {
  let app: TestApp;
  let gets = 0;
  before(async () => {
    const store = new SqliteStore({ path: ':memory:' });
    const get = store.get.bind(store);
    store.get = (handle) => {
      gets++;
      return get(handle);
    };
    app = await startTestApp(store);
  });
  after(async () => {
    await app.close();
    await app.store.close();
  });

  it('S1 S2 tokens carry 256 random bits, never repeat and hold no user, time or address', async () => {
    const secrets = new Set<string>();
    const handles = new Set<string>();
    const clients = await Promise.all(
      Array.from({ length: 500 }, async (_, i) => {
        const c = new Client(app.url);
        await c.post('/login', { userId: i % 2 ? 'alice' : 'mallory' });
        return c;
      }),
    );
    for (const c of clients) {
      const [handle, secret, mac] = c.jar.get('id')!.split('.') as [string, string, string];
      assert.equal(Buffer.from(secret, 'base64url').length, 32);
      assert.equal(Buffer.from(handle, 'base64url').length, 16);
      assert.equal(Buffer.from(mac, 'base64url').length, 32);
      secrets.add(secret);
      handles.add(handle);
      const decoded = Buffer.from(`${handle}${secret}`, 'base64url');
      for (const needle of ['alice', 'mallory', '127.0.0.1', String(Math.floor(app.clock.at / 1000))]) {
        assert.ok(!c.jar.get('id')!.includes(needle));
        assert.ok(!decoded.includes(Buffer.from(needle)));
      }
    }
    assert.equal(secrets.size, 500);
    assert.equal(handles.size, 500);
    // Bit balance across all 500 × 256 secret bits: a biased generator would drift far from 1/2.
    let ones = 0;
    for (const secret of secrets)
      for (const byte of Buffer.from(secret, 'base64url')) ones += byte.toString(2).split('1').length - 1;
    const ratio = ones / (500 * 256);
    assert.ok(ratio > 0.49 && ratio < 0.51, `ones ratio ${ratio}`);
  });

  it('S5 a well-signed token the server never issued is refused and never adopted', async () => {
    const handle = randomBytes(16).toString('base64url');
    const forged = sign(`${handle}.${randomBytes(32).toString('base64url')}`);
    const c = new Client(app.url);
    c.jar.set('id', forged);
    assert.equal((await c.get('/me')).status, 401);
    assert.ok(app.events.some((e) => e.type === 'session.unknown_id' && e.handle === handle));
    await c.post('/set', { now: 'stored' });
    assert.notEqual(c.jar.get('id'), forged);
    assert.notEqual(c.jar.get('id')!.split('.')[0], handle);
    assert.equal(await app.store.get(handle), null);
    await c.post('/login', { userId: 'alice' });
    assert.notEqual(c.jar.get('id')!.split('.')[0], handle);
  });

  it('S6 hostile cookie values are anonymous, never a 500, and cost no store call', async () => {
    const hostile = [
      "' OR 1=1--",
      '{"$gt":""}',
      '*',
      'sess:*',
      '../../x',
      'A'.repeat(10_000),
      '%00',
      '\u202e',
      '🍪🍪',
      `${randomBytes(16).toString('base64url')}.${randomBytes(32).toString('base64url')}`,
      `${randomBytes(16).toString('base64url')}.${randomBytes(32).toString('base64url')}.${randomBytes(32).toString('base64url')}`,
      's:abc.def',
    ];
    const before = gets;
    for (const value of hostile) {
      const res = await new Client(app.url).get('/me', { cookie: `id=${encodeURIComponent(value)}` });
      assert.equal(res.status, 401, value.slice(0, 20));
    }
    assert.equal(gets, before, 'no store lookups for values that fail format or MAC');
  });

  it('S8 the store holds nothing that works as a cookie', async () => {
    const c = new Client(app.url);
    await c.post('/login', { userId: 'dump' });
    const cookie = c.jar.get('id')!;
    const [handle, secret] = cookie.split('.') as [string, string];
    const row = JSON.stringify(await app.store.get(handle));
    assert.ok(!row.includes(secret), 'the secret is not stored');
    assert.ok(!row.includes(cookie));
    const record = (await app.store.get(handle))!;
    for (const attempt of [
      sign(`${handle}.${record.secretHash}`),
      `${handle}.${record.secretHash}`,
      handle,
    ]) {
      assert.equal((await new Client(app.url).get('/me', { cookie: `id=${attempt}` })).status, 401);
    }
  });

  it('S9 every tampered variant of a valid cookie is anonymous and reported as tampering', async () => {
    const alice = new Client(app.url);
    await alice.post('/login', { userId: 'alice' });
    const mallory = new Client(app.url);
    await mallory.post('/login', { userId: 'mallory' });
    const valid = alice.jar.get('id')!;
    const [handle, secret, mac] = valid.split('.') as [string, string, string];
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const otherKey = Buffer.from(
      hkdfSync('sha256', 'another-secret-of-enough-length-0000000', 'coatcheck', 'cookie-mac', 32),
    );
    const variants = [
      `${flip(handle, 3)}.${secret}.${mac}`,
      `${handle}.${flip(secret, 5)}.${mac}`,
      `${handle}.${secret}.${flip(mac, 7)}`,
      `${valid}garbage`,
      `${valid}.x`,
      `x.${valid}`,
      `${handle}.${secret}`,
      `${handle}.${secret}.${mac}=`,
      `${handle}.${secret}%2E${mac}`,
      valid.toUpperCase(),
      `${handle}.${secret}.${createHmac('sha256', otherKey).update(`${handle}.${secret}`).digest('base64url')}`,
      `${mallory.jar.get('id')!.split('.')[0]}.${secret}.${mac}`,
    ];
    for (const variant of variants) {
      const tampered = app.events.filter((e) => e.type === 'session.tamper').length;
      const res = await new Client(app.url).get('/me', { cookie: `id=${variant}; role=admin` });
      assert.equal(res.status, 401, variant);
      assert.ok(
        app.events.filter((e) => e.type === 'session.tamper').length > tampered,
        `tamper event for ${variant}`,
      );
    }
    assert.equal((await alice.get('/me')).status, 200);
  });

  it('S35 a handle shown in device lists does not authenticate', async () => {
    const c = new Client(app.url);
    await c.post('/login', { userId: 'handles' });
    const [{ handle }] = (await c.get('/sessions')).json() as [{ handle: string }];
    assert.equal((await new Client(app.url).get('/me', { cookie: `id=${handle}` })).status, 401);
    assert.equal((await new Client(app.url).get('/me', { cookie: `id=${sign(handle)}` })).status, 401);
  });
});

describe('S18 duplicate and look-alike cookies', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp(new MemoryStore(), { proxy: true });
  });
  after(async () => {
    await app.close();
    await app.store.close();
  });

  it('S18 two exact-name cookies mean no session, in either order; look-alikes are ignored', async () => {
    const https = { 'x-forwarded-proto': 'https' };
    const alice = new Client(app.url, https);
    const mallory = new Client(app.url, https);
    await alice.post('/login', { userId: 'alice' });
    await mallory.post('/login', { userId: 'mallory' });
    const A = alice.jar.get('__Host-id')!;
    const M = mallory.jar.get('__Host-id')!;
    const probe = (cookie: string) => new Client(app.url, https).get('/me', { cookie });
    const duplicates = app.events.filter((e) => e.type === 'session.duplicate_cookie').length;
    assert.equal((await probe(`__Host-id=${M}; __Host-id=${A}`)).status, 401);
    assert.equal((await probe(`__Host-id=${A}; __Host-id=${M}`)).status, 401);
    assert.equal((await probe(`__Host-id=${A}; other=1; __Host-id=${M}`)).status, 401);
    assert.equal(app.events.filter((e) => e.type === 'session.duplicate_cookie').length, duplicates + 3);
    for (const lookalike of [
      `__host-id=${M}`,
      `%5F%5FHost-id=${M}`,
      `..Host-id=${M}`,
      `=__Host-id=${M}`,
      `__Host-id =${M}`,
    ]) {
      const res = await probe(`${lookalike}; __Host-id=${A}`);
      assert.equal(res.status, 200, lookalike);
      assert.equal((res.json() as { userId: string }).userId, 'alice');
    }
  });
});

describe('S61 key rotation', () => {
  it('S61 an old-key cookie is accepted and re-signed; once the old key is gone it is refused', async () => {
    const store = new MemoryStore();
    const oldKey = 'old-secret-0123456789-0123456789-0123456789';
    const newKey = 'new-secret-0123456789-0123456789-0123456789';
    const first = await startTestApp(store, { secret: oldKey });
    const c = new Client(first.url);
    await c.post('/login', { userId: 'rotating' });
    const oldCookie = c.jar.get('id')!;
    await first.close();

    const rotated = await startTestApp(store, { secret: [newKey, oldKey] });
    const again = new Client(rotated.url);
    again.jar.set('id', oldCookie);
    const res = await again.get('/me');
    assert.equal(res.status, 200);
    const resigned = again.jar.get('id')!;
    assert.notEqual(resigned, oldCookie);
    assert.equal(resigned.split('.').slice(0, 2).join('.'), oldCookie.split('.').slice(0, 2).join('.'));
    await rotated.close();

    const retired = await startTestApp(store, { secret: newKey });
    assert.equal((await new Client(retired.url).get('/me', { cookie: `id=${oldCookie}` })).status, 401);
    assert.equal((await new Client(retired.url).get('/me', { cookie: `id=${resigned}` })).status, 200);
    await retired.close();
    await store.close();
  });
});
