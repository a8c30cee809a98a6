import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '../support/http.js';
import { assertError, call } from './api-client.js';
import {
  type AppUnderTest,
  csrfFrom,
  newUser,
  PASSWORD,
  postForm,
  signIn,
  startApp,
  submit,
} from './harness.js';

/** One GET with a raw Host header (fetch does not let a test choose it). */
function getWithHost(
  url: string,
  path: string,
  host: string,
): Promise<{ status: number; location?: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { headers: { host } }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          ...(res.headers.location ? { location: res.headers.location } : {}),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** The same signed-in session, from a client that sends no Origin (an old browser, or a forged form). */
function withoutOrigin(app: AppUnderTest, signedIn: Client): Client {
  const bare = new Client(app.url);
  for (const [name, value] of signedIn.jar) bare.jar.set(name, value);
  return bare;
}

describe('security review of the reference app', () => {
  let app: AppUnderTest;
  before(async () => {
    app = await startApp();
  });
  after(() => app?.close());

  it('S59 strict routes are strict however Express matches them: case, trailing and duplicate slashes', async () => {
    const me = await newUser(app, 'strict-case@example.com');
    const token = csrfFrom((await me.get('/account/password')).text);
    const bare = withoutOrigin(app, me);
    for (const path of [
      '/account/password',
      '/ACCOUNT/PASSWORD',
      '/Account/Password/',
      '//account//password',
      '/REAUTH',
    ]) {
      const res = await postForm(bare, path, { _csrf: token, password: 'x', confirm: 'x' });
      assert.equal(res.status, 403, `${path} without any origin header is refused`);
    }
    // The control: with its Origin the same upper-case request reaches the handler (400: short password).
    assert.equal(
      (await postForm(me, '/ACCOUNT/PASSWORD', { _csrf: token, password: 'x', confirm: 'x' })).status,
      400,
    );
    const api = { 'content-type': 'application/json', 'x-csrf-token': token };
    for (const path of ['/api/PASSWORD', '/API/ADMIN/users/1/role', '/Api/Reauth']) {
      const res = await bare.request(path, { method: 'POST', headers: api, body: '{}' });
      assert.equal(res.status, 403, path);
      assert.deepEqual(res.json(), { error: 'csrf' });
    }
  });

  it('V2.1.6 a password change needs the current password, pages and API alike', async () => {
    const me = await newUser(app, 'current-pw@example.com');
    const fields = { password: 'a brand new password', confirm: 'a brand new password' };
    const missing = await submit(me, '/account/password', '/account/password', fields);
    assert.equal(missing.status, 400);
    assert.match(missing.text, /Enter your current password/);
    const wrong = await submit(me, '/account/password', '/account/password', {
      ...fields,
      current: 'not my password',
    });
    assert.equal(wrong.status, 401);
    assert.match(wrong.text, /current password is incorrect/);
    assertError(
      await call(me, 'POST', '/api/password', { newPassword: 'the next password' }),
      400,
      'invalid_password',
    );
    assertError(
      await call(me, 'POST', '/api/password', {
        newPassword: 'the next password',
        currentPassword: 'nope nope',
      }),
      401,
      'invalid_credentials',
    );
    await signIn(app.client(), 'current-pw@example.com', PASSWORD);
    const right = await submit(me, '/account/password', '/account/password', {
      ...fields,
      current: PASSWORD,
    });
    assert.equal(right.status, 303);
    await signIn(app.client(), 'current-pw@example.com', 'a brand new password');
  });

  it('V2.1.6 two-step enrolment needs the current password', async () => {
    const me = await newUser(app, 'enrol-pw@example.com');
    const setup = await me.get('/account/two-step/setup');
    const res = await postForm(me, '/account/two-step/setup', {
      _csrf: csrfFrom(setup.text),
      current: 'not my password',
      code: '123456',
    });
    assert.equal(res.status, 401);
    assert.match(res.text, /current password is incorrect/);
    assert.match((await me.get('/account/two-step')).text, /Off\./);
  });

  it('looks notices up among its own keys: ?notice=constructor shows nothing built in', async () => {
    for (const notice of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const page = await app.client().get(`/login?notice=${notice}`);
      assert.equal(page.status, 200);
      assert.doesNotMatch(page.text, /native code|function |\[object/, notice);
    }
    assert.match((await app.client().get('/login?notice=signedout')).text, /You are signed out/);
  });

  it('S18 a session cookie planted for one path shows a page and clears it instead of looping via /login', async () => {
    const me = await newUser(app, 'tossed@example.com');
    const real = me.cookieHeader;
    // What the browser sends on /devices once `id=x; Path=/devices` was planted: both cookies.
    const tossed = await fetch(`${app.url}/devices`, {
      headers: { cookie: `id=planted-value; ${real}` },
      redirect: 'manual',
    });
    assert.equal(tossed.status, 400, 'no redirect to /login, which would send the user straight back');
    const cleared = tossed.headers.getSetCookie();
    assert.ok(
      cleared.some((line) => /^id=; Path=\/devices;/.test(line)),
      cleared.join('\n'),
    );
    assert.ok(!cleared.some((line) => /Path=\/;/.test(line)), 'the real cookie (Path=/) is left alone');
    assert.match(await tossed.text(), /two session cookies/);
    // Once the browser dropped the planted cookie, the real session works on that page again.
    assert.equal((await me.get('/devices')).status, 200);
    const api = await fetch(`${app.url}/api/devices`, { headers: { cookie: `id=x; ${real}` } });
    assert.equal(api.status, 400);
    assert.equal(((await api.json()) as { error: string }).error, 'duplicate_session_cookie');
  });
});

describe('reference app files and hosts', () => {
  it('creates DATA_DIR 0700 and its SQLite database 0600', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'coatcheck-perms-'));
    const dir = join(parent, 'data');
    const app = await startApp({ DATA_DIR: dir });
    try {
      await newUser(app, 'perms@example.com');
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      for (const file of ['coatcheck.db', 'coatcheck.db-wal', 'coatcheck.db-shm', 'session-secret']) {
        const path = join(dir, file);
        if (existsSync(path)) assert.equal(statSync(path).mode & 0o777, 0o600, file);
      }
      assert.ok(existsSync(join(dir, 'coatcheck.db')));
    } finally {
      await app.close();
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it('S16 the HTTPS redirect never goes to a host the request named', async () => {
    const configured = await startApp({ NODE_ENV: 'production', PUBLIC_ORIGIN: 'https://app.example' });
    try {
      const evil = await getWithHost(configured.url, '/login', 'evil.example');
      assert.equal(evil.status, 308);
      assert.equal(evil.location, 'https://app.example/login');
    } finally {
      await configured.close();
    }
    const bare = await startApp({ NODE_ENV: 'production' });
    try {
      const evil = await getWithHost(bare.url, '/login', 'evil.example');
      assert.equal(evil.status, 421, 'an unknown host is refused');
      assert.equal(evil.location, undefined);
      const own = await getWithHost(bare.url, '/login', new URL(bare.url).host);
      assert.equal(own.status, 308);
      assert.equal(own.location, 'https://127.0.0.1/login');
    } finally {
      await bare.close();
    }
  });
});
