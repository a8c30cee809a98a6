import assert from 'node:assert/strict';
import { hkdfSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { createAdmin } from '../../app/cli/create-admin.js';
import type { Client } from '../support/http.js';
import { apiUser, call } from './api-client.js';
import {
  type AppUnderTest,
  apiToken,
  csrfFrom,
  newAdmin,
  newUser,
  PASSWORD,
  postForm,
  register,
  SECRET,
  signIn,
  sleep,
  startApp,
} from './harness.js';

const ORIGIN = 'https://app.example.com';
/** A browser behind the TLS-terminating proxy the secure app trusts. */
const HTTPS = { 'x-forwarded-proto': 'https', origin: ORIGIN };
const FRAMEWORK_NAMES = [
  'connect.sid',
  'sessionId',
  'sid',
  'sid.sig',
  'express:sess',
  'JSESSIONID',
  'PHPSESSID',
];

const cookieNames = (lines: string[]) => lines.map((line) => line.slice(0, line.indexOf('=')));
/** The parts of a token that must never leave in anything but Set-Cookie (the handle is public). */
const secretParts = (token: string) => [token, ...token.split('.').slice(1)];
const sessionOf = async (client: Client) =>
  (await client.get('/api/session')).json() as {
    authenticated: boolean;
    user: { id: string; role: string } | null;
    session: { handle: string; authAt: number } | null;
  };
const handleOf = (token: string) => token.split('.')[0]!;

function assertHsts(res: { headers: Headers }, what: string): void {
  const value = res.headers.get('strict-transport-security') ?? '';
  const maxAge = Number(/max-age=(\d+)/.exec(value)?.[1] ?? 0);
  assert.ok(maxAge >= 31_536_000 && /includeSubDomains/.test(value), `${what}: "${value}"`);
}

describe('reference app: checklist rows over HTTP', () => {
  let app: AppUnderTest;
  let secure: AppUnderTest;
  before(async () => {
    app = await startApp();
    secure = await startApp({ TRUST_PROXY: 'loopback', PUBLIC_ORIGIN: ORIGIN });
  });
  after(async () => {
    await app.close();
    await secure.close();
  });

  it('S3 the session cookie is id over HTTP and __Host-id over HTTPS, never a framework name', async () => {
    const plain = app.client();
    const form = await plain.get('/login');
    await register(plain, 's3@example.com');
    const fields = { _csrf: csrfFrom(form.text), email: 's3@example.com', password: PASSWORD };
    const login = await postForm(plain, '/login', fields);
    assert.equal(login.status, 303);
    const page = await plain.get('/dashboard');
    const logout = await postForm(plain, '/logout', { _csrf: csrfFrom(page.text) });
    const lines = [...form.setCookies, ...login.setCookies, ...logout.setCookies];
    assert.equal(lines.length, 3, 'pre-session, sign-in, sign-out');
    assert.deepEqual(new Set(cookieNames(lines)), new Set(['id']));
    await signIn(plain, 's3@example.com');
    assert.deepEqual([...plain.jar.keys()], ['id']);
    const tls = secure.client(HTTPS);
    await register(tls, 's3@example.com');
    await signIn(tls, 's3@example.com');
    assert.deepEqual([...tls.jar.keys()], ['__Host-id']);
    for (const name of FRAMEWORK_NAMES) assert.ok(!plain.jar.has(name) && !tls.jar.has(name), name);
  });

  it('S4 every sign-in gets a new token; the app secret sent as a cookie or bearer token is refused', async () => {
    const first = await newUser(app, 's4@example.com');
    const second = app.client();
    await signIn(second, 's4@example.com');
    const before = first.jar.get('id')!;
    const again = await postForm(first, '/login', {
      _csrf: csrfFrom((await first.get('/dashboard')).text),
      email: 's4@example.com',
      password: PASSWORD,
    });
    assert.equal(again.status, 303, 'signing in again while signed in');
    const tokens = [before, first.jar.get('id')!, second.jar.get('id')!];
    assert.equal(new Set(tokens).size, 3);
    assert.equal(new Set(tokens.map(handleOf)).size, 3);
    const derived = Buffer.from(hkdfSync('sha256', SECRET, 'coatcheck', 'cookie-mac', 32));
    const statics = [SECRET, derived.toString('base64url'), derived.toString('hex')];
    for (const value of statics) {
      for (const headers of [
        { cookie: `id=${value}` },
        { cookie: `__Host-id=${value}` },
        { authorization: `Bearer ${value}` },
      ]) {
        const client = app.client(headers);
        assert.equal((await client.get('/api/devices')).status, 401, JSON.stringify(headers));
        assert.equal((await sessionOf(client)).authenticated, false);
      }
    }
  });

  it('S7 a valid token sent anywhere but the Cookie header is ignored', async () => {
    const me = await newUser(secure, 's7@example.com', HTTPS);
    const other = secure.client(HTTPS);
    await signIn(other, 's7@example.com');
    const token = me.jar.get('__Host-id')!;
    const q = encodeURIComponent(token);
    const bare = () => secure.client(HTTPS);
    for (const path of [`/api/devices?id=${q}`, `/api/devices?__Host-id=${q}`]) {
      assert.equal((await bare().get(path)).status, 401, path);
    }
    for (const headers of [{ 'x-session-id': token }, { authorization: `Bearer ${token}` }]) {
      assert.equal((await bare().get('/api/devices', headers)).status, 401);
      const page = await bare().get('/dashboard', headers);
      assert.equal(page.status, 303);
      assert.match(page.headers.get('location') ?? '', /^\/login/);
    }
    const form = await postForm(bare(), '/devices/revoke-others', { id: token, '__Host-id': token });
    assert.ok(form.status === 403 || form.status === 303, `form field: ${form.status}`);
    const json = await bare().post('/api/devices/revoke-others', { id: token });
    assert.ok(json.status === 401 || json.status === 403, `JSON body: ${json.status}`);
    assert.equal((await other.get('/api/devices')).status, 200, 'nothing was signed out');
  });

  it('S7 S11 S16 after sign-in the token is only in Set-Cookie; signed-in pages are no-store', async () => {
    await createAdmin(secure.config, { email: 's7-admin@example.com', password: PASSWORD });
    const tokens = new Set<string>();
    const seen: { what: string; text: string; headers: string }[] = [];
    const record = (what: string, res: Awaited<ReturnType<Client['request']>>) => {
      for (const line of res.setCookies) {
        const value = line.slice(line.indexOf('=') + 1).split(';')[0]!;
        if (value !== '') tokens.add(value);
      }
      const headers = [...res.headers].filter(([name]) => name !== 'set-cookie');
      seen.push({
        what,
        text: res.text,
        headers: JSON.stringify(headers),
      });
      return res;
    };
    for (const email of ['s7-crawl@example.com', 's7-admin@example.com']) {
      const client = secure.client(HTTPS);
      if (email !== 's7-admin@example.com') await register(client, email);
      const form = record('GET /login', await client.get('/login'));
      record(
        'POST /login',
        await postForm(client, '/login', { _csrf: csrfFrom(form.text), email, password: PASSWORD }),
      );
      const paths = ['/', '/login', '/register', '/dashboard', '/devices', '/account/password', '/reauth'];
      paths.push('/admin', '/api/session', '/api/devices', '/api/admin/users', '/nowhere', '/api/nowhere');
      paths.push('/logout', '/api/logout', '/static/style.css');
      for (const path of paths) record(`GET ${path}`, await client.get(path, { accept: 'text/html' }));
      const reauth = await client.get('/reauth');
      record(
        'POST /reauth',
        await postForm(client, '/reauth', { _csrf: csrfFrom(reauth.text), password: PASSWORD }),
      );
      record('POST /api/reauth', await call(client, 'POST', '/api/reauth', { password: PASSWORD }));
      record('GET /devices', await client.get('/devices'));
      record('POST /api/login', await call(client, 'POST', '/api/login', { email, password: PASSWORD }));
      record('POST /api/reauth, no token', await client.post('/api/reauth', { password: PASSWORD }));
      const last = await client.get('/dashboard');
      record('POST /logout', await postForm(client, '/logout', { _csrf: csrfFrom(last.text) }));
    }
    assert.ok(tokens.size >= 6, `${tokens.size} tokens issued`);
    for (const response of seen) {
      for (const token of tokens) {
        for (const part of secretParts(token)) {
          assert.ok(!response.text.includes(part), `${response.what}: body`);
          assert.ok(!response.headers.includes(part), `${response.what}: headers`);
        }
      }
      // Every crawled response is signed in or sets the cookie; static files are neither.
      if (!response.what.includes('/static/')) {
        assert.match(response.headers, /"cache-control","no-store"/, `S16 ${response.what}`);
      }
    }
  });

  it('S15 HSTS on every response over HTTPS: pages, redirects, 4xx, 404, 405, 429 and 500', async () => {
    const anon = secure.client(HTTPS);
    for (const path of [
      '/',
      '/login',
      '/dashboard',
      '/api/devices',
      '/nowhere',
      '/logout',
      '/static/style.css',
    ]) {
      assertHsts(await anon.get(path), `GET ${path}`);
    }
    const bad = await postForm(secure.client(HTTPS), '/login', { email: 'x@example.com', password: 'x' });
    assert.equal(bad.status, 403);
    assertHsts(bad, 'CSRF refusal');
    const plainText = await secure.client(HTTPS).post('/api/login', {}, { 'content-type': 'text/plain' });
    assert.equal(plainText.status, 415);
    assertHsts(plainText, '415');
    const wrong = await call(secure.client(HTTPS), 'POST', '/api/login', {
      email: 'no@example.com',
      password: 'x',
    });
    assert.equal(wrong.status, 401);
    assertHsts(wrong, 'failed sign-in');
    const forged = `__Host-id=${randomBytes(16).toString('base64url')}.${randomBytes(32).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
    const guesser = secure.client({ ...HTTPS, cookie: forged, 'x-forwarded-for': '198.51.100.7' });
    let last = await guesser.get('/api/session');
    for (let i = 0; i < 25 && last.status !== 429; i++) last = await guesser.get('/api/session');
    assert.equal(last.status, 429);
    assertHsts(last, '429');
    const me = await newUser(secure, 's15@example.com', HTTPS);
    const users = secure.running.backends.users;
    const findById = users.findById;
    users.findById = async () => {
      throw new Error('users table unreadable');
    };
    try {
      const broken = await me.get('/dashboard');
      assert.equal(broken.status, 500);
      assertHsts(broken, '500');
    } finally {
      users.findById = findById;
    }
  });

  it('S30 devices list without tokens; ending one needs a fresh sign-in; no IDOR', async () => {
    const fresh = await startApp({ FRESH_AUTH_MS: '3000' });
    try {
      const agents = [
        'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0',
        'curl/8.5',
        'Mozilla/5.0 Chrome/120.0',
      ];
      const clients = [await apiUser(fresh, 's30@example.com', { 'user-agent': agents[0]! })];
      for (const agent of agents.slice(1)) {
        const client = fresh.client({ 'user-agent': agent });
        assert.equal(
          (await call(client, 'POST', '/api/login', { email: 's30@example.com', password: PASSWORD })).status,
          200,
        );
        clients.push(client);
      }
      const [one, two] = clients as [Client, Client, Client];
      const list = await one.get('/api/devices');
      const { devices } = list.json() as { devices: Record<string, unknown>[] };
      assert.equal(devices.length, 3);
      for (const device of devices) {
        for (const key of ['handle', 'browser', 'os', 'ip', 'signedInAt', 'lastSeenAt', 'current']) {
          assert.ok(key in device, key);
        }
      }
      assert.deepEqual(
        devices.filter((d) => d.current).map((d) => d.handle),
        [handleOf(one.jar.get('id')!)],
      );
      for (const client of clients) {
        for (const part of secretParts(client.jar.get('id')!)) assert.ok(!list.text.includes(part));
      }
      const target = handleOf(two.jar.get('id')!);
      await sleep(3100);
      const stale = await call(one, 'DELETE', `/api/devices/${target}`);
      assert.equal(stale.status, 401);
      assert.equal((stale.json() as { error: string }).error, 'reauth_required');
      assert.equal((await two.get('/api/devices')).status, 200);
      assert.equal((await call(one, 'POST', '/api/reauth', { password: PASSWORD })).status, 200);
      assert.equal((await call(one, 'DELETE', `/api/devices/${target}`)).status, 204);
      assert.equal((await two.get('/api/devices')).status, 401);
      const mallory = await apiUser(fresh, 's30-mallory@example.com');
      const foreign = await call(one, 'DELETE', `/api/devices/${handleOf(mallory.jar.get('id')!)}`);
      assert.equal(foreign.status, 404);
      assert.equal((await mallory.get('/api/devices')).status, 200);
    } finally {
      await fresh.close();
    }
  });

  it('S32 deleting an account ends all its sessions at their next request', async () => {
    const first = await newUser(app, 's32@example.com');
    const second = app.client();
    await signIn(second, 's32@example.com');
    const userId = (await sessionOf(first)).user!.id;
    assert.equal((await app.running.sessions.engine.listUserSessions(userId)).length, 2);
    const db = new BetterSqlite3(join(app.config.dataDir, 'coatcheck.db'));
    try {
      assert.equal(db.prepare('DELETE FROM app_users WHERE id = ?').run(userId).changes, 1);
    } finally {
      db.close();
    }
    assert.equal((await first.get('/api/devices')).status, 401);
    const page = await second.get('/dashboard');
    assert.equal(page.status, 303);
    assert.match(page.headers.get('location') ?? '', /^\/login/);
    assert.equal((await app.running.sessions.engine.listUserSessions(userId)).length, 0);
  });

  it('S34 every signed-in page has a sign-out form; a cross-site sign-out is refused', async () => {
    const admin = await newAdmin(app, 's34-admin@example.com');
    for (const path of ['/dashboard', '/devices', '/account/password', '/reauth', '/admin']) {
      const page = await admin.get(path);
      assert.equal(page.status, 200, path);
      assert.match(
        page.text,
        /<form class="signout" method="post" action="\/logout">\s*<input type="hidden" name="_csrf"/,
        path,
      );
    }
    const me = await newUser(app, 's34@example.com');
    const token = csrfFrom((await me.get('/dashboard')).text);
    for (const headers of [{ 'sec-fetch-site': 'cross-site' }, { origin: 'https://evil.test' }]) {
      const res = await me.request('/logout', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams({ _csrf: token }).toString(),
      });
      assert.equal(res.status, 403, JSON.stringify(headers));
      assert.equal((await me.get('/dashboard')).status, 200, 'still signed in');
    }
    const api = await me.post(
      '/api/logout',
      {},
      { 'x-csrf-token': await apiToken(me), origin: 'https://evil.test' },
    );
    assert.equal(api.status, 403);
    assert.equal((await me.get('/dashboard')).status, 200);
    assert.equal((await me.get('/logout')).status, 405);
    assert.equal((await me.get('/dashboard')).status, 200);
  });

  it('S55 login CSRF on /login: foreign Origin, cross-site metadata or no pre-session token get 403', async () => {
    await register(app.client(), 's55-mallory@example.com');
    const credentials = { email: 's55-mallory@example.com', password: PASSWORD };
    for (const headers of [{ origin: 'https://evil.test' }, { 'sec-fetch-site': 'cross-site' }]) {
      const victim = app.client();
      const form = await victim.get('/login');
      const res = await victim.request('/login', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams({ _csrf: csrfFrom(form.text), ...credentials }).toString(),
      });
      assert.equal(res.status, 403, JSON.stringify(headers));
      assert.equal((await sessionOf(victim)).authenticated, false);
    }
    const victim = app.client();
    const res = await postForm(victim, '/login', credentials);
    assert.equal(res.status, 403);
    assert.equal(res.setCookies.length, 0, 'no pre-session, no session');
    assert.equal((await sessionOf(victim)).authenticated, false);
  });

  it('S57 state-changing routes refuse GET, HEAD, OPTIONS and method overrides, and nothing changes', async () => {
    const admin = await newAdmin(app, 's57-admin@example.com');
    const user = await newUser(app, 's57@example.com');
    const laptop = app.client();
    await signIn(laptop, 's57@example.com');
    const anon = app.client();
    const { user: target, session } = await sessionOf(user);
    const before = { admin: admin.cookieHeader, user: user.cookieHeader, authAt: session!.authAt };
    const handle = handleOf(laptop.jar.get('id')!);
    const newPassword = 'a brand new password';
    const query = async (client: Client) =>
      new URLSearchParams({
        _csrf: await apiToken(client),
        _method: 'POST',
        email: client === anon ? 's57@example.com' : 's57-new@example.com',
        password: client === anon ? PASSWORD : newPassword,
        confirm: newPassword,
        newPassword,
        role: 'admin',
      }).toString();
    const postOnly: [Client, string][] = [
      [user, '/logout'],
      [user, '/devices/revoke-others'],
      [user, `/devices/${handle}/revoke`],
      [admin, `/admin/users/${target!.id}/revoke`],
      [admin, `/admin/users/${target!.id}/role`],
      [anon, '/api/register'],
      [anon, '/api/login'],
      [user, '/api/logout'],
      [user, '/api/reauth'],
      [user, '/api/devices/revoke-others'],
      [user, `/api/devices/${handle}`],
      [user, '/api/password'],
      [admin, `/api/admin/users/${target!.id}/revoke-sessions`],
      [admin, `/api/admin/users/${target!.id}/role`],
    ];
    const withPage: [Client, string][] = [
      [anon, '/login'],
      [anon, '/register'],
      [user, '/reauth'],
      [user, '/account/password'],
    ];
    for (const [client, path] of [...postOnly, ...withPage]) {
      const hasPage = withPage.some(([, page]) => page === path);
      for (const method of ['GET', 'HEAD', 'OPTIONS']) {
        const res = await client.request(`${path}?${await query(client)}`, {
          method,
          headers: { 'x-http-method-override': 'POST', 'x-csrf-token': await apiToken(client) },
        });
        const what = `${method} ${path}: ${res.status}`;
        if (method !== 'OPTIONS') {
          assert.ok(hasPage ? res.status === 200 : res.status === 404 || res.status === 405, what);
        } else {
          assert.equal(res.status, 405, what);
        }
      }
    }
    for (const override of [{ 'x-http-method-override': 'DELETE' }, { 'x-method-override': 'DELETE' }]) {
      const res = await user.post(
        `/api/devices/${handle}?_method=DELETE`,
        { _method: 'DELETE' },
        {
          'x-csrf-token': await apiToken(user),
          ...override,
        },
      );
      assert.equal(res.status, 404);
    }
    assert.equal((await laptop.get('/api/devices')).status, 200, 'no device was signed out');
    const after = await sessionOf(user);
    assert.equal(after.session?.authAt, before.authAt, 'no re-authentication');
    assert.equal(user.cookieHeader, before.user, 'no rotation or sign-out');
    assert.equal(admin.cookieHeader, before.admin);
    assert.equal((await sessionOf(anon)).authenticated, false, 'no sign-in');
    assert.equal(after.user?.role, 'user', 'no role change');
    assert.equal(
      (await call(app.client(), 'POST', '/api/login', { email: 's57@example.com', password: PASSWORD }))
        .status,
      200,
      'password unchanged',
    );
    const unregistered = await call(app.client(), 'POST', '/api/login', {
      email: 's57-new@example.com',
      password: newPassword,
    });
    assert.equal(unregistered.status, 401, 'no registration');
  });

  it('S60 no CORS grant to another site or a sibling subdomain, with or without a session', async () => {
    const me = await newUser(secure, 's60@example.com', HTTPS);
    const paths = ['/api/login', '/api/session', '/api/devices', '/api/password', '/login', '/logout'];
    for (const origin of ['https://evil.test', 'https://x.app.example.com', 'null', ORIGIN]) {
      for (const client of [secure.client({ 'x-forwarded-proto': 'https' }), me]) {
        for (const path of paths) {
          const preflight = await client.request(path, {
            method: 'OPTIONS',
            headers: {
              origin,
              'access-control-request-method': 'POST',
              'access-control-request-headers': 'content-type, x-csrf-token',
            },
          });
          const actual = await client.get(path, { origin });
          for (const res of [preflight, actual]) {
            const granted = [...res.headers.keys()].filter((name) => name.startsWith('access-control-'));
            assert.deepEqual(granted, [], `${origin} ${path}`);
          }
        }
      }
    }
  });
});
