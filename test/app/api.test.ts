import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiUser, assertError, call, type ErrorBody } from './api-client.js';
import { type AppUnderTest, apiToken, PASSWORD, startApp } from './harness.js';

describe('reference app: JSON API', () => {
  let app: AppUnderTest;
  before(async () => {
    app = await startApp();
  });
  after(() => app.close());

  it('describes the anonymous session and hands out a CSRF token', async () => {
    const client = app.client();
    const res = await client.get('/api/session');
    assert.equal(res.status, 200);
    const body = res.json() as { authenticated: boolean; user: unknown; csrfToken: string };
    assert.equal(body.authenticated, false);
    assert.equal(body.user, null);
    assert.ok(body.csrfToken.length > 40);
  });

  it('S58 S53 refuses writes without JSON or without the CSRF header', async () => {
    const client = app.client();
    const token = await apiToken(client);
    const plain = await client.request('/api/login', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-csrf-token': token },
      body: '{}',
    });
    assert.equal(plain.status, 415);
    const missing = await client.post('/api/login', { email: 'a@example.com', password: 'x' });
    assert.equal(missing.status, 403);
    assert.equal((missing.json() as ErrorBody).error, 'csrf');
  });

  it('registers, signs in with one generic error, and reports the session', async () => {
    const client = app.client();
    const bad = await call(client, 'POST', '/api/register', { email: 'nope', password: PASSWORD });
    assertError(bad, 400, 'invalid_email');
    const short = await call(client, 'POST', '/api/register', {
      email: 'api@example.com',
      password: 'short',
    });
    assertError(short, 400, 'invalid_password');
    const first = await call(client, 'POST', '/api/register', {
      email: 'api@example.com',
      password: PASSWORD,
    });
    const second = await call(client, 'POST', '/api/register', {
      email: 'api@example.com',
      password: PASSWORD,
    });
    assert.equal(first.status, 202);
    assert.deepEqual(second.json(), first.json());
    const wrong = await call(client, 'POST', '/api/login', {
      email: 'api@example.com',
      password: 'wrong one',
    });
    const unknown = await call(client, 'POST', '/api/login', {
      email: 'ghost@example.com',
      password: 'wrong one',
    });
    assertError(wrong, 401, 'invalid_credentials');
    assert.deepEqual(unknown.json(), wrong.json());
    assertError(
      await call(client, 'POST', '/api/login', { email: 'api@example.com' }),
      400,
      'invalid_password',
    );
    const ok = await call(client, 'POST', '/api/login', { email: 'api@example.com', password: PASSWORD });
    assert.equal(ok.status, 200);
    const session = (await client.get('/api/session')).json() as {
      authenticated: boolean;
      user: { email: string; role: string };
      session: { handle: string; authAt: number };
    };
    assert.equal(session.authenticated, true);
    assert.deepEqual([session.user.email, session.user.role], ['api@example.com', 'user']);
    assert.equal(typeof session.session.authAt, 'number');
  });

  it('answers 401 with an error body when signed out, and 400 for a body that is not JSON', async () => {
    assertError(await app.client().get('/api/devices'), 401, 'unauthenticated');
    const client = app.client();
    const token = await apiToken(client);
    const res = await client.request('/api/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': token },
      body: '{"email": ',
    });
    assertError(res, 400, 'invalid_json');
  });

  it('lists devices, revokes one (404 for a foreign handle) and the others', async () => {
    const me = await apiUser(app, 'api-devices@example.com', {
      'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0',
    });
    const other = app.client();
    await call(other, 'POST', '/api/login', { email: 'api-devices@example.com', password: PASSWORD });
    const third = app.client();
    await call(third, 'POST', '/api/login', { email: 'api-devices@example.com', password: PASSWORD });
    const list = (await me.get('/api/devices')).json() as {
      devices: { handle: string; current: boolean; browser: string; ip: string }[];
    };
    assert.equal(list.devices.length, 3);
    assert.equal(list.devices.filter((d) => d.current).length, 1);
    assert.equal(list.devices.find((d) => d.current)?.browser, 'Firefox 128');
    const target = list.devices.find((d) => !d.current)!.handle;
    assert.equal((await call(me, 'DELETE', `/api/devices/${target}`)).status, 204);
    assertError(await call(me, 'DELETE', `/api/devices/${target}`), 404, 'not_found');
    const stranger = await apiUser(app, 'api-stranger@example.com');
    const strangerHandle = ((await stranger.get('/api/devices')).json() as { devices: { handle: string }[] })
      .devices[0]!.handle;
    assertError(await call(me, 'DELETE', `/api/devices/${strangerHandle}`), 404, 'not_found');
    const others = await call(me, 'POST', '/api/devices/revoke-others');
    assert.deepEqual(others.json(), { signedOut: 1 });
    const remaining = (await me.get('/api/devices')).json() as { devices: unknown[] };
    assert.equal(remaining.devices.length, 1);
    assertError(await other.get('/api/devices'), 401, 'unauthenticated');
  });

  it('signs out with POST only', async () => {
    const me = await apiUser(app, 'api-logout@example.com');
    assertError(await me.get('/api/logout'), 405, 'method_not_allowed');
    assert.equal((await call(me, 'POST', '/api/logout')).status, 204);
    assertError(await me.get('/api/devices'), 401, 'unauthenticated');
  });

  it('answers unknown endpoints with 404 and an error body', async () => {
    assertError(await app.client().get('/api/nothing-here'), 404, 'not_found');
  });

  it('fails closed with 503 and a generic body when the session store is down', async () => {
    const me = await apiUser(app, 'api-down@example.com');
    const store = app.running.backends.sessionStore;
    const original = store.get;
    store.get = async () => {
      throw new Error('connection refused');
    };
    try {
      const res = await me.get('/api/devices');
      assertError(res, 503, 'unavailable');
      assert.equal(res.headers.get('retry-after'), '5');
      const page = await me.get('/dashboard');
      assert.equal(page.status, 503);
      assert.match(page.text, /Temporarily unavailable/);
      assert.ok(!page.text.includes('connection refused'));
    } finally {
      store.get = original;
    }
    assert.equal((await me.get('/api/devices')).status, 200, 'recovers when the store is back');
  });
});
