import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { totpCodeAt } from '../../app/totp.js';
import { assertError, call } from './api-client.js';
import {
  type AppUnderTest,
  csrfFrom,
  enableTotp,
  newPasswordOnlyAdmin,
  newUser,
  nextCode,
  postForm,
  signInWithCode,
  startApp,
  stepUpWith,
} from './harness.js';

const STEP_UP_MAX_AGE_MS = 120_000;

describe('reference app: step-up for admin actions (S40)', () => {
  let app: AppUnderTest;
  before(async () => {
    app = await startApp({ STEP_UP_MAX_AGE_MS: String(STEP_UP_MAX_AGE_MS) });
  });
  after(() => app.close());

  const targetId = async (admin: Awaited<ReturnType<typeof newPasswordOnlyAdmin>>, email: string) => {
    const { users } = (await admin.get('/api/admin/users')).json() as {
      users: { id: string; email: string }[];
    };
    return users.find((user) => user.email === email)!.id;
  };

  it('S40 an admin without a second factor reads the admin page but every action answers 401 step_up_required', async () => {
    const admin = await newPasswordOnlyAdmin(app, 'no-totp-admin@example.com');
    await newUser(app, 'target-1@example.com');
    const page = await admin.get('/admin');
    assert.equal(page.status, 200);
    assert.match(page.text, /Set up an authenticator app<\/a> first/);
    const id = await targetId(admin, 'target-1@example.com');
    const form = await postForm(admin, `/admin/users/${id}/revoke`, { _csrf: csrfFrom(page.text) });
    assert.equal(form.status, 401);
    assert.match(form.text, /Set up an authenticator app/);
    const json = await call(admin, 'POST', `/api/admin/users/${id}/role`, { role: 'admin' });
    assertError(json, 401, 'step_up_required');
    assert.equal((json.json() as { level: number }).level, 2);
    const stepUpPage = await admin.get('/step-up?returnTo=%2Fadmin');
    assert.match(stepUpPage.text, /does not use it yet/);
  });

  it('S40 password-only: 401 with level 2; after a TOTP step-up: 200; after the window: 401 again', async () => {
    const admin = await newPasswordOnlyAdmin(app, 'stepping-admin@example.com');
    const secret = await enableTotp(app, admin);
    await newUser(app, 'target-2@example.com');
    const id = await targetId(admin, 'target-2@example.com');

    // A later password-only sign-in (here: re-authentication is not enough either).
    app.clock.advance(STEP_UP_MAX_AGE_MS + 1000);
    const reauth = await call(admin, 'POST', '/api/reauth', { password: 'correct horse battery staple' });
    assert.equal(reauth.status, 200);
    const refused = await call(admin, 'POST', `/api/admin/users/${id}/role`, { role: 'admin' });
    assertError(refused, 401, 'step_up_required');
    assert.equal((refused.json() as { level: number }).level, 2);

    const before = admin.jar.get('id');
    const stepped = await stepUpWith(app, admin, nextCode(app, secret), '/admin');
    assert.equal(stepped.status, 303);
    assert.equal(stepped.headers.get('location'), '/admin');
    assert.notEqual(admin.jar.get('id'), before, 'the step-up rotated the session ID');
    const old = app.client({ cookie: `id=${before}` });
    assert.equal(((await old.get('/api/session')).json() as { authenticated: boolean }).authenticated, false);

    const ok = await call(admin, 'POST', `/api/admin/users/${id}/role`, { role: 'admin' });
    assert.equal(ok.status, 200);
    const page = await admin.get('/admin');
    const form = await postForm(admin, `/admin/users/${id}/role`, {
      _csrf: csrfFrom(page.text),
      role: 'user',
    });
    assert.equal(form.status, 303, 'the HTML form too');

    app.clock.advance(STEP_UP_MAX_AGE_MS + 1000);
    assertError(
      await call(admin, 'POST', `/api/admin/users/${id}/role`, { role: 'admin' }),
      401,
      'step_up_required',
    );
    const late = await admin.get('/admin');
    const lateForm = await postForm(admin, `/admin/users/${id}/revoke`, { _csrf: csrfFrom(late.text) });
    assert.equal(lateForm.status, 401);
    assert.match(lateForm.text, /href="\/step-up\?returnTo=%2Fadmin"/);
  });

  it('S40 signing in with password and code counts as a step-up until the window ends', async () => {
    const admin = await newPasswordOnlyAdmin(app, 'code-admin@example.com');
    const secret = await enableTotp(app, admin);
    await newUser(app, 'target-3@example.com');
    const laptop = app.client();
    await signInWithCode(app, laptop, 'code-admin@example.com', secret);
    const id = await targetId(laptop, 'target-3@example.com');
    assert.equal((await call(laptop, 'POST', `/api/admin/users/${id}/revoke-sessions`)).status, 200);
    app.clock.advance(STEP_UP_MAX_AGE_MS + 1000);
    assertError(
      await call(laptop, 'POST', `/api/admin/users/${id}/revoke-sessions`),
      401,
      'step_up_required',
    );
  });

  it('the step-up page goes back to the local path it was given, never elsewhere', async () => {
    const admin = await newPasswordOnlyAdmin(app, 'redirect-admin@example.com');
    const secret = await enableTotp(app, admin);
    app.clock.advance(STEP_UP_MAX_AGE_MS + 1000);
    const stepUpPage = await admin.get('/step-up?returnTo=%2Fadmin%3Fpage%3D1');
    assert.equal(stepUpPage.status, 200);
    const back = await stepUpWith(app, admin, nextCode(app, secret), '/admin?page=1');
    assert.equal(back.headers.get('location'), '/admin?page=1');
    const offsite = await stepUpWith(app, admin, nextCode(app, secret), '//evil.test/');
    assert.equal(offsite.headers.get('location'), '/dashboard', 'no open redirect');
  });
});

describe('reference app: failed step-ups are audited (S47)', () => {
  let app: AppUnderTest;
  before(async () => {
    app = await startApp({ LOGIN_MAX_FAILURES: '3', LOGIN_MAX_FAILURES_PER_IP: '1000' });
  });
  after(() => app.close());

  /** A 6-digit code that is not the one shown now, nor one step either side. */
  const wrongCode = (secret: string) => {
    const now = app.clock.now();
    const valid = new Set([-30_000, 0, 30_000].map((delta) => totpCodeAt(secret, now + delta)));
    return ['000000', '111111', '222222', '333333'].find((code) => !valid.has(code))!;
  };

  it('S47 wrong and throttled step-up codes each leave a failure event with the user, never the code', async () => {
    const client = await newUser(app, 'audited-step@example.com');
    const secret = await enableTotp(app, client);
    const userId = ((await client.get('/api/session')).json() as { user: { id: string } }).user.id;
    const from = app.events.length;
    const sent: string[] = [];
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const code = wrongCode(secret);
      sent.push(code);
      statuses.push((await stepUpWith(app, client, code)).status);
    }
    const { challenge } = (await call(client, 'GET', '/api/step-up')).json() as { challenge: string };
    const code = wrongCode(secret);
    sent.push(code);
    const json = await call(client, 'POST', '/api/step-up', { challenge, code });
    assertError(json, 429, 'too_many_attempts');
    assert.deepEqual(statuses, [401, 401, 401]);

    const failures = app.events.slice(from).filter((event) => event.type === 'auth.login.failure');
    assert.deepEqual(
      failures.map(({ reason, userId }) => ({ reason, userId })),
      [
        { reason: 'step_up_invalid', userId },
        { reason: 'step_up_invalid', userId },
        { reason: 'step_up_invalid', userId },
        { reason: 'step_up_throttled', userId },
      ],
    );
    const logged = JSON.stringify(app.events.slice(from));
    for (const value of sent) assert.ok(!logged.includes(value), 'no code in the audit log');
  });
});
