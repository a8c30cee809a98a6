import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SessionConfigError } from '../../packages/coatcheck/src/core/errors.js';
import { session } from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Client } from '../support/http.js';

const HOST_COOKIE =
  /^__Host-id=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Lax$/;
const HOST_CLEAR = /^__Host-id=; Max-Age=0; Path=\/; HttpOnly; Secure; SameSite=Lax$/;

describe('cookie attributes over HTTPS (behind a trusted proxy)', () => {
  let app: TestApp;
  const https = { 'x-forwarded-proto': 'https' };
  before(async () => {
    app = await startTestApp(new MemoryStore(), { proxy: true });
  });
  after(async () => {
    await app.close();
    await app.store.close();
  });

  it('S10 S11 S12 every Set-Cookie is __Host-, Secure, Path=/, HttpOnly, SameSite=Lax, without Domain', async () => {
    const c = new Client(app.url, https);
    const lines: string[] = [];
    lines.push(...(await c.post('/set', { pre: 1 })).setCookies);
    lines.push(...(await c.post('/login', { userId: 'alice' })).setCookies);
    lines.push(...(await c.post('/regenerate?keep=1')).setCookies);
    lines.push(...(await c.post('/reauth')).setCookies);
    const cleared = (await c.post('/logout')).setCookies;
    assert.equal(lines.length, 4);
    for (const line of lines) assert.match(line, HOST_COOKIE);
    assert.equal(cleared.length, 1);
    assert.match(cleared[0]!, HOST_CLEAR);
    for (const line of [...lines, ...cleared]) assert.ok(!/domain=/i.test(line));
  });

  it('S11 the token appears in no response body', async () => {
    const c = new Client(app.url, https);
    await c.post('/login', { userId: 'bodies' });
    const token = c.jar.get('__Host-id')!;
    const [, secret] = token.split('.') as [string, string];
    for (const path of ['/me', '/sessions', '/peek']) {
      const { text } = await c.get(path);
      assert.ok(!text.includes(secret), path);
    }
  });

  it('S14 every cookie we set stays far below 4096 bytes, even with the longest name and path', async () => {
    const long = await startTestApp(new MemoryStore(), {
      name: `n${'x'.repeat(63)}`,
      cookie: { path: `/${'p'.repeat(255)}`, maxAge: 3_600_000 },
      saveUninitialized: true,
    });
    const c = new Client(long.url);
    // express-session sets no cookie outside cookie.path, so the request goes under it.
    const res = await c.get(`/${'p'.repeat(255)}/page`);
    const line = res.setCookies[0]!;
    assert.ok(line.length < 600, `${line.length} bytes`);
    await long.close();
    const c2 = new Client(app.url, https);
    const normal = (await c2.post('/login', { userId: 'size' })).setCookies[0]!;
    assert.ok(normal.length < 200, `${normal.length} bytes`);
  });

  it('S13 the session cookie is not persistent by default', async () => {
    const c = new Client(app.url, https);
    const [line] = (await c.post('/login', { userId: 'no-persist' })).setCookies;
    assert.ok(!/Max-Age|Expires/i.test(line!));
  });

  it('sends no cookie over plain HTTP when Secure is forced', async () => {
    const forced = await startTestApp(new MemoryStore(), { cookie: { secure: true } });
    const res = await new Client(forced.url).post('/set', { a: 1 });
    assert.deepEqual(res.setCookies, []);
    await forced.close();
  });
});

describe('S17 S12 cookie options are validated at start-up', () => {
  const build = (options: Parameters<typeof session>[0]) => () =>
    session({ secret: 'x'.repeat(40), store: new MemoryStore(), warn: () => {}, ...options });
  const cases: [string, Parameters<typeof session>[0]][] = [
    ['cookie.name', { name: 'a=b; Domain=evil' }],
    ['cookie.name', { name: 'sp ace' }],
    ['cookie.name', { name: 'ünicode' }],
    ['cookie.path', { cookie: { path: '/;x' } }],
    ['cookie.path', { cookie: { path: '/\u0001' } }],
    ['cookie.domain', { cookie: { domain: 'evil.test;x' } }],
    ['cookie.domain', { cookie: { domain: 'a b.test' } }],
    ['cookie.domain', { cookie: { domain: 'évil.test' } }],
    ['cookie.sameSite', { cookie: { sameSite: 'none', secure: false } }],
    ['cookie.sameSite', { cookie: { sameSite: 'auto', secure: false } }],
    ['cookie.sameSite', { cookie: { sameSite: false } }],
    ['cookie.name', { name: '__Host-x', cookie: { domain: 'app.test' } }],
    ['cookie.maxAge', { cookie: { maxAge: -1 } }],
    ['idleTimeoutMs', { idleTimeoutMs: 0 }],
    ['absoluteTimeoutMs', { idleTimeoutMs: 10_000, absoluteTimeoutMs: 5_000 }],
    ['unset', { unset: 'drop' as 'keep' }],
  ];
  for (const [option, options] of cases) {
    it(`S17 throws SessionConfigError naming ${option} for ${JSON.stringify(options)}`, () => {
      assert.throws(
        build(options),
        (error: unknown) => error instanceof SessionConfigError && error.option === option,
      );
    });
  }

  it('S61 refuses a missing or short secret in production, warns in development', () => {
    const warnings: string[] = [];
    const make = (secret: string | undefined, production: boolean) => () =>
      session({
        ...(secret === undefined ? {} : { secret }),
        store: new MemoryStore(),
        production,
        warn: (m) => warnings.push(m),
      });
    assert.throws(
      make(undefined, true),
      (e: unknown) => e instanceof SessionConfigError && e.option === 'secret',
    );
    assert.throws(
      make('short', true),
      (e: unknown) => e instanceof SessionConfigError && e.option === 'secret',
    );
    make('short', false)();
    make(undefined, false)();
    assert.equal(warnings.filter((w) => w.includes('secret')).length, 2);
  });
});
