import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { Clock, SECRET, startTestApp, type TestApp, type TestAppOptions } from '../support/app.js';
import { Client } from '../support/http.js';
import { hasRedis, redisForSuite } from '../support/redis-server.js';

/**
 * A cookie value whose MAC was verified once is answered from memory on its next requests
 * (tokens/verified-tokens.ts). Every way a session ends must still refuse it, over real HTTP: each
 * cookie below is sent several times first, so it is cached when the session ends.
 */

const SECOND = 1000;
const OTHER_SECRET = 'another-secret-that-is-long-enough-9876543210';
const cookieOf = (client: Client) => client.jar.get('id') ?? '';
const handleOf = (cookie: string) => cookie.split('.')[0]!;

/** Sends the cookie three times: after the first, its verification is cached. */
async function warm(app: TestApp, cookie: string, expected = 200) {
  for (let i = 0; i < 3; i++) {
    assert.equal((await new Client(app.url).get('/me', { cookie: `id=${cookie}` })).status, expected);
  }
}

/** A browser that presents `cookie` and keeps nothing it is sent. */
const replay = (app: TestApp, cookie: string, path = '/me') =>
  new Client(app.url).get(path, { cookie: `id=${cookie}` });

/** `replaced`: a token rotated on schedule, whose record stays as a pointer until the store expires it. */
async function assertDead(app: TestApp, cookie: string, { replaced = false } = {}) {
  for (let i = 0; i < 2; i++) {
    const response = await replay(app, cookie);
    assert.equal(response.status, 401, 'the ended session is refused');
    assert.match(response.setCookies.join('\n'), /^id=; Max-Age=0;/m, 'and its cookie cleared');
  }
  const record = await app.store.get(handleOf(cookie));
  if (replaced) assert.ok(record === null || record.successor !== null, 'still only a pointer');
  else assert.equal(record, null, 'and nothing was written back');
}

/** A fresh store; `now` is the clock of the app it serves (stores with their own expiry need it). */
type StoreMaker = (now: () => number) => SessionStore;

function endings(name: string, makeStore: StoreMaker) {
  describe(`cached tokens on ${name}: every ending still refuses the cookie`, () => {
    const apps: TestApp[] = [];
    after(async () => {
      for (const app of apps) await app.close();
    });
    async function start(options: TestAppOptions = {}, store?: SessionStore) {
      let now = (): number => Date.now();
      const app = await startTestApp(store ?? makeStore(() => now()), options);
      now = app.clock.now;
      apps.push(app);
      return app;
    }

    it('S29 logout', async () => {
      const app = await start();
      const browser = new Client(app.url);
      await browser.post('/login', { userId: 'ada' });
      const cookie = cookieOf(browser);
      await warm(app, cookie);
      assert.equal((await browser.post('/logout')).status, 200);
      await assertDead(app, cookie);
    });

    it('logoutEverywhere and revokeSession end the other devices', async () => {
      const app = await start();
      const laptop = new Client(app.url);
      const phone = new Client(app.url);
      const tablet = new Client(app.url);
      for (const device of [laptop, phone, tablet]) await device.post('/login', { userId: 'bob' });
      await warm(app, cookieOf(phone));
      await warm(app, cookieOf(tablet));
      const tabletCookie = cookieOf(tablet);
      assert.equal(
        (await laptop.request(`/sessions/${handleOf(tabletCookie)}`, { method: 'DELETE' })).status,
        204,
      );
      await assertDead(app, tabletCookie);
      const phoneCookie = cookieOf(phone);
      assert.equal(((await laptop.post('/logout-all', {})).json() as { count: number }).count, 1);
      await assertDead(app, phoneCookie);
      assert.equal((await laptop.get('/me')).status, 200, 'the current device stays signed in');
    });

    it('S22 idle timeout', async () => {
      const app = await start({ idleTimeoutMs: 60 * SECOND, absoluteTimeoutMs: 3_600 * SECOND });
      const browser = new Client(app.url);
      await browser.post('/login', { userId: 'carol' });
      const cookie = cookieOf(browser);
      await warm(app, cookie);
      app.clock.advance(61 * SECOND);
      await assertDead(app, cookie);
    });

    it('S23 absolute timeout, though the session was kept busy', async () => {
      const app = await start({ idleTimeoutMs: 60 * SECOND, absoluteTimeoutMs: 300 * SECOND });
      const browser = new Client(app.url);
      await browser.post('/login', { userId: 'dave' });
      const cookie = cookieOf(browser);
      for (let t = 0; t < 5; t++) {
        await warm(app, cookie);
        app.clock.advance(59 * SECOND);
      }
      app.clock.advance(6 * SECOND);
      await assertDead(app, cookie);
    });

    it('S3 a planted pre-session cookie is worthless after the victim signs in', async () => {
      const app = await start();
      const attacker = new Client(app.url);
      await attacker.post('/set', { cart: 1 });
      const planted = cookieOf(attacker);
      assert.ok(planted);
      for (let i = 0; i < 3; i++) assert.equal((await replay(app, planted, '/peek')).status, 200);
      const victim = new Client(app.url);
      victim.jar.set('id', planted);
      await victim.post('/login', { userId: 'victim' });
      assert.notEqual(cookieOf(victim), planted);
      await assertDead(app, planted);
      const peek = (await replay(app, planted, '/peek')).json() as { meta: unknown };
      assert.equal(peek.meta ?? null, null, 'the planted cookie reads no session');
    });

    it('regenerate, with and without keeping the data', async () => {
      const app = await start();
      for (const keep of ['', '?keep=1']) {
        const browser = new Client(app.url);
        await browser.post('/login', { userId: 'erin' });
        const cookie = cookieOf(browser);
        await warm(app, cookie);
        assert.equal((await browser.post(`/regenerate${keep}`)).status, 200);
        assert.notEqual(cookieOf(browser), cookie);
        await assertDead(app, cookie);
      }
    });

    it('S21 scheduled rotation: the cached old token works within the grace period only', async () => {
      const app = await start({
        idleTimeoutMs: 600 * SECOND,
        absoluteTimeoutMs: 3_600 * SECOND,
        rotationIntervalMs: 120 * SECOND,
        rotationGraceMs: 30 * SECOND,
      });
      const browser = new Client(app.url);
      await browser.post('/login', { userId: 'frank' });
      const old = cookieOf(browser);
      await warm(app, old);
      app.clock.advance(121 * SECOND);
      assert.equal((await browser.get('/me')).status, 200);
      const fresh = cookieOf(browser);
      assert.notEqual(fresh, old);
      for (let i = 0; i < 3; i++) {
        const response = await replay(app, old);
        assert.equal(response.status, 200);
        assert.deepEqual(response.setCookies, [], 'the replaced token is never re-sent');
        assert.equal((response.json() as { handle: string }).handle, handleOf(fresh));
      }
      app.clock.advance(31 * SECOND);
      await assertDead(app, old, { replaced: true });
      assert.equal((await browser.get('/me')).status, 200);
    });

    it('S61 key rotation: an old-key token is re-signed, and refused once the old key is removed', async () => {
      const clock = new Clock();
      const store = makeStore(clock.now);
      const before = await start({ clock, secret: OTHER_SECRET }, store);
      const browser = new Client(before.url);
      await browser.post('/login', { userId: 'grace' });
      const old = cookieOf(browser);
      await warm(before, old);

      const rotating = await start({ clock, secret: [SECRET, OTHER_SECRET] }, store);
      const resigned = new Set<string>();
      for (let i = 0; i < 3; i++) {
        const response = await replay(rotating, old);
        assert.equal(response.status, 200);
        const value = /^id=([^;]+)/m.exec(response.setCookies.join('\n'))?.[1];
        assert.ok(value && value !== old, 'each request with the old-key token is re-signed');
        resigned.add(value);
      }
      const current = [...resigned][0]!;
      await warm(rotating, current);

      const after = await start({ clock, secret: SECRET }, store);
      for (let i = 0; i < 2; i++) assert.equal((await replay(after, old)).status, 401);
      // The re-signed cookie works on the engine with the new key only.
      assert.equal((await replay(after, current)).status, 200);
    });

    it('two engines with different secrets on one store never accept each other’s tokens', async () => {
      const clock = new Clock();
      const store = makeStore(clock.now);
      const first = await start({ clock }, store);
      const second = await start({ clock, secret: OTHER_SECRET }, store);
      const a = new Client(first.url);
      const b = new Client(second.url);
      await a.post('/login', { userId: 'on-first' });
      await b.post('/login', { userId: 'on-second' });
      await warm(first, cookieOf(a));
      await warm(second, cookieOf(b));
      for (let i = 0; i < 2; i++) {
        assert.equal((await replay(second, cookieOf(a))).status, 401);
        assert.equal((await replay(first, cookieOf(b))).status, 401);
      }
      // Refusing them did not end them on their own engine.
      assert.equal((await replay(first, cookieOf(a))).status, 200);
      assert.equal((await replay(second, cookieOf(b))).status, 200);
    });
  });
}

endings('MemoryStore', () => new MemoryStore());

describe('on Redis', { skip: !hasRedis && 'redis-server is not installed' }, () => {
  const redis = redisForSuite();
  endings(
    'Redis',
    (now) =>
      new RedisStore({ client: redis.client, prefix: `t${Math.random().toString(36).slice(2)}:`, now }),
  );
});

describe('cached tokens and the cookie’s spelling', () => {
  const apps: TestApp[] = [];
  after(async () => {
    for (const app of apps) await app.close();
  });

  it('a genid handle: only its canonical percent-encoding is accepted, before and after it is cached', async () => {
    let next = 'user 1/ä+ß?';
    const app = await startTestApp(new MemoryStore(), { genid: () => next });
    apps.push(app);
    const browser = new Client(app.url);
    await browser.post('/login', { userId: 'ada' });
    const cookie = cookieOf(browser);
    assert.ok(cookie.startsWith(`${encodeURIComponent('user 1/ä+ß?')}.`), cookie);
    await warm(app, cookie);
    const [encoded, secret, mac] = [
      cookie.slice(0, cookie.indexOf('.')),
      ...cookie.slice(cookie.indexOf('.') + 1).split('.'),
    ];
    const variants = [
      `${encoded!.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase())}.${secret}.${mac}`,
      `${decodeURIComponent(encoded!)}.${secret}.${mac}`,
      `${encoded!.replace('%20', '+')}.${secret}.${mac}`,
      `${encodeURIComponent(encoded!)}.${secret}.${mac}`,
    ];
    for (const variant of variants) {
      const response = await new Client(app.url).get('/me', { cookie: `id=${variant}` });
      assert.equal(response.status, 401, variant);
    }
    // Spellings of the same value that the cookie grammar allows read the same session.
    for (const header of [`id="${cookie}"`, `  id=${cookie}  `, `a=b; id=${cookie}; c=d`]) {
      assert.equal((await new Client(app.url).get('/me', { cookie: header })).status, 200, header);
    }
    // A second copy of the cached cookie (S18) is read as no session.
    assert.equal(
      (await new Client(app.url).get('/me', { cookie: `id=${cookie}; id=${cookie}` })).status,
      401,
    );
    next = 'unused';
    await browser.post('/logout');
    await assertDead(app, cookie);
  });

  it('S5 a genid handle used again by the next user: the cached old cookie never reads the new session', async () => {
    const app = await startTestApp(new MemoryStore(), { genid: () => 'kiosk-1' });
    apps.push(app);
    const first = new Client(app.url);
    await first.post('/login', { userId: 'first' });
    const old = cookieOf(first);
    assert.equal(handleOf(old), 'kiosk-1');
    await warm(app, old);
    await first.post('/logout');
    const second = new Client(app.url);
    await second.post('/login', { userId: 'second' });
    assert.equal(handleOf(cookieOf(second)), 'kiosk-1', 'the same handle, a new secret');
    for (let i = 0; i < 3; i++) {
      const response = await replay(app, old, '/peek');
      assert.equal((response.json() as { meta?: { userId?: string } }).meta?.userId, undefined);
      assert.match(response.setCookies.join('\n'), /^id=; Max-Age=0;/m);
    }
    assert.equal(
      ((await second.get('/me')).json() as { userId: string }).userId,
      'second',
      'the new session is untouched',
    );
  });

  it("a handle that looks like express-session's `s:` value is a token of ours; a real legacy cookie is never cached", async () => {
    const app = await startTestApp(new MemoryStore(), {
      genid: () => `s:${Math.random().toString(36).slice(2)}`,
    });
    apps.push(app);
    const browser = new Client(app.url);
    await browser.post('/login', { userId: 'ada' });
    const cookie = cookieOf(browser);
    assert.ok(cookie.startsWith('s%3A'), cookie);
    await warm(app, cookie);
    await browser.post('/logout');
    await assertDead(app, cookie);
    // express-session's own cookie for a session that is not there (no legacy source): refused each time.
    const id = 'legacy-session-id';
    const sig = createHmac('sha256', SECRET).update(id).digest('base64').replace(/=+$/, '');
    const legacy = encodeURIComponent(`s:${id}.${sig}`);
    for (let i = 0; i < 3; i++) {
      const response = await new Client(app.url).get('/me', { cookie: `id=${legacy}` });
      assert.equal(response.status, 401);
    }
  });

  it('S44 forged values next to a cached token are all counted as guesses', async () => {
    const app = await startTestApp(new MemoryStore(), { guessLimit: { max: 20, windowMs: 60_000 } });
    apps.push(app);
    const browser = new Client(app.url);
    await browser.post('/login', { userId: 'ada' });
    const cookie = cookieOf(browser);
    await warm(app, cookie);
    const flip = (s: string, at: number) => `${s.slice(0, at)}${s[at] === 'A' ? 'B' : 'A'}${s.slice(at + 1)}`;
    // The same forged value again and again is never cached as verified.
    const forged = flip(cookie, cookie.length - 1);
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await replay(app, forged)).status);
    assert.deepEqual(statuses.slice(0, 20), Array(20).fill(401));
    assert.deepEqual(statuses.slice(20), Array(5).fill(429));
    assert.ok(app.events.some((event) => event.type === 'security.session_bruteforce'));
    // Once the window passes, the genuine cached cookie still works.
    app.clock.advance(61 * SECOND);
    assert.equal((await replay(app, cookie)).status, 200);
  });

  it('S44 a flood of distinct genuine anonymous tokens keeps working sessions working', async () => {
    const app = await startTestApp(new MemoryStore(), {});
    apps.push(app);
    const browser = new Client(app.url);
    await browser.post('/login', { userId: 'ada' });
    const cookie = cookieOf(browser);
    await warm(app, cookie);
    // More than the two generations of 4,096 cached tokens: the first ones are forgotten.
    const flood: string[] = [];
    for (let batch = 0; batch < 42; batch++) {
      const cookies = await Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          const client = new Client(app.url);
          await client.post('/set', { i: batch * 200 + i });
          assert.equal((await client.get('/peek')).status, 200);
          return cookieOf(client);
        }),
      );
      flood.push(...cookies);
    }
    for (let i = 0; i < flood.length; i += 100) {
      assert.equal((await replay(app, flood[i]!, '/peek')).status, 200);
    }
    assert.equal((await replay(app, cookie)).status, 200);
    await browser.post('/logout');
    await assertDead(app, cookie);
  });
});
