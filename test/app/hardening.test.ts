import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonLineSink } from '../../packages/coatcheck/src/audit/index.js';
import { apiUser, call } from './api-client.js';
import { enableTotp, newUser, PASSWORD, startApp, submit } from './harness.js';

describe('reference app hardening', () => {
  it('S16 in production, plain HTTP is redirected to HTTPS (pages) or refused (API), with no cookie', async () => {
    const app = await startApp({
      NODE_ENV: 'production',
      TRUST_PROXY: 'loopback',
      PUBLIC_ORIGIN: 'https://app.example',
    });
    try {
      const page = await app.client().get('/login?returnTo=%2Fdevices');
      assert.equal(page.status, 308);
      assert.equal(page.headers.get('location'), 'https://app.example/login?returnTo=%2Fdevices');
      assert.deepEqual(page.setCookies, []);
      const api = await app.client().get('/api/session');
      assert.equal(api.status, 403);
      assert.equal((api.json() as { error: string }).error, 'https_required');
      assert.deepEqual(api.setCookies, []);
      const secure = await app
        .client({ 'x-forwarded-proto': 'https', origin: 'https://app.example' })
        .get('/login');
      assert.equal(secure.status, 200);
      assert.match(secure.setCookies[0] ?? '', /^__Host-id=.*; Secure/);
    } finally {
      await app.close();
    }
  });

  it('S44 one address cannot mint pre-sessions without limit; signed-in users are not counted', async () => {
    const app = await startApp();
    const events: string[] = [];
    app.running.sessions.on((event) => events.push(event.type));
    try {
      const member = await apiUser(app, 'member@example.com');
      const statuses: number[] = [];
      for (let i = 0; i < 70; i++)
        statuses.push((await app.client().get(i % 2 ? '/login' : '/register')).status);
      const allowed = statuses.filter((status) => status === 200).length;
      assert.ok(allowed <= 60 && allowed >= 50, `${allowed} pre-sessions allowed`);
      assert.deepEqual(statuses.slice(allowed), Array(70 - allowed).fill(429));
      const api = await app.client().get('/api/session');
      assert.equal(api.status, 429);
      assert.equal((api.json() as { error: string }).error, 'too_many_requests');
      assert.ok(events.includes('security.session_harvesting'));
      const mine = await member.get('/api/session');
      assert.equal(mine.status, 200, 'a signed-in user is not counted');
      assert.equal((mine.json() as { authenticated: boolean }).authenticated, true);
    } finally {
      await app.close();
    }
  });

  it('S47 failed sign-ins reach the audit log next to the library events, with no secret in any line', async () => {
    const app = await startApp();
    const lines: string[] = [];
    app.running.sessions.on(jsonLineSink((line) => lines.push(line)));
    try {
      const c = app.client({ 'user-agent': 'audit-test' });
      await call(c, 'POST', '/api/register', { email: 'audit@example.com', password: PASSWORD });
      const wrong = await call(c, 'POST', '/api/login', {
        email: 'audit@example.com',
        password: 'wrong password here',
      });
      assert.equal(wrong.status, 401, wrong.text);
      const ok = await call(c, 'POST', '/api/login', { email: 'audit@example.com', password: PASSWORD });
      assert.equal(ok.status, 200);
      const records = lines.map(
        (line) => JSON.parse(line) as { event: string; outcome: string; userAgent?: string },
      );
      assert.equal(
        lines.every((line) => line.endsWith('\n') && line.indexOf('\n') === line.length - 1),
        true,
      );
      const failure = records.find((r) => r.event === 'auth.login.failure');
      assert.equal(failure?.outcome, 'failure');
      assert.ok(records.some((r) => r.event === 'auth.login.success'));
      // The handle (first part) is public and logged on purpose; the secret and the MAC never are.
      const secrets = [...c.jar.values()].flatMap((value) => value.split('.').slice(1));
      assert.ok(secrets.length >= 2);
      for (const part of secrets)
        assert.ok(!lines.join('').includes(part), 'no token secret or MAC in the log');
    } finally {
      await app.close();
    }
  });

  it('S20 a right password gives the pre-session a new ID before the code page; the old one cannot go on', async () => {
    const app = await startApp();
    try {
      await enableTotp(app, await newUser(app, 'fixation@example.com'));
      const client = app.client();
      assert.equal((await client.get('/login')).status, 200);
      const planted = client.jar.get('id');
      assert.ok(planted, 'the sign-in form made a pre-session');
      const res = await submit(client, '/login', '/login', {
        email: 'fixation@example.com',
        password: PASSWORD,
      });
      assert.equal(res.headers.get('location'), '/login/code');
      assert.notEqual(client.jar.get('id'), planted);
      assert.equal((await client.get('/login/code')).status, 200);
      const fixated = app.client({ cookie: `id=${planted}` });
      const stale = await fixated.get('/login/code');
      assert.equal(stale.status, 303);
      assert.equal(stale.headers.get('location'), '/login?notice=codeexpired');
    } finally {
      await app.close();
    }
  });
});
