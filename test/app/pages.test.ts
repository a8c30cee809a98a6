import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type AppUnderTest,
  csrfFrom,
  newUser,
  PASSWORD,
  postForm,
  register,
  signIn,
  startApp,
  submit,
} from './harness.js';

describe('reference app: sign-in, registration and common pages', () => {
  let app: AppUnderTest;
  before(async () => {
    app = await startApp();
  });
  after(() => app.close());

  it('serves the sign-in form with a CSRF token and creates the pre-session only there', async () => {
    const client = app.client();
    const res = await client.get('/login');
    assert.equal(res.status, 200);
    assert.match(res.text, /<form method="post" action="\/login"/);
    assert.ok(csrfFrom(res.text).length > 40);
    assert.equal(client.jar.size, 1, 'the pre-session cookie');
    assert.equal(res.headers.get('cache-control'), 'no-store');
  });

  it('registers a new account and answers with the same redirect for a taken email', async () => {
    const client = app.client();
    const first = await register(client, 'reg@example.com');
    assert.equal(first.status, 303);
    assert.equal(first.headers.get('location'), '/login?notice=registered');
    const again = await register(app.client(), 'REG@example.com ', 'another password entirely');
    assert.equal(again.status, first.status);
    assert.equal(again.headers.get('location'), first.headers.get('location'));
    // The second registration changed nothing: the first password still signs in.
    await signIn(app.client(), 'reg@example.com');
    const page = await app.client().get('/login?notice=registered');
    assert.match(page.text, /If that address was not registered yet/);
  });

  it('answers an invalid registration with the form again and a clear message', async () => {
    const cases = [
      [{ email: 'not-an-email', password: PASSWORD, confirm: PASSWORD }, /Enter an email address like/],
      [{ email: 'short@example.com', password: 'short', confirm: 'short' }, /at least 10 characters/],
      [{ email: 'mismatch@example.com', password: PASSWORD, confirm: `${PASSWORD}!` }, /do not match/],
    ] as const;
    for (const [fields, message] of cases) {
      const res = await submit(app.client(), '/register', '/register', fields);
      assert.equal(res.status, 400);
      assert.match(res.text, message);
      assert.match(res.text, /action="\/register"/);
    }
    const escaped = await submit(app.client(), '/register', '/register', {
      email: '<script>x</script>',
      password: PASSWORD,
      confirm: PASSWORD,
    });
    assert.ok(!escaped.text.includes('<script>x'), 'the echoed email is escaped');
  });

  it('gives one generic error for an unknown email and for a wrong password', async () => {
    await register(app.client(), 'known@example.com');
    const wrongPassword = await submit(app.client(), '/login', '/login', {
      email: 'known@example.com',
      password: 'not the password',
    });
    const unknownEmail = await submit(app.client(), '/login', '/login', {
      email: 'nobody@example.com',
      password: 'not the password',
    });
    assert.equal(wrongPassword.status, 401);
    assert.equal(unknownEmail.status, 401);
    const message = (html: string) => /<p class="error"[^>]*>([^<]+)</.exec(html)?.[1];
    assert.equal(message(wrongPassword.text), 'The email or password is incorrect.');
    assert.equal(message(unknownEmail.text), message(wrongPassword.text));
  });

  it('validates the sign-in fields', async () => {
    const noEmail = await submit(app.client(), '/login', '/login', { email: '', password: 'x' });
    assert.equal(noEmail.status, 400);
    assert.match(noEmail.text, /Enter your email address/);
    const noPassword = await submit(app.client(), '/login', '/login', {
      email: 'a@example.com',
      password: '',
    });
    assert.equal(noPassword.status, 400);
    assert.match(noPassword.text, /Enter your password/);
  });

  it('S19 signs in with a new session cookie and lands on the dashboard', async () => {
    await register(app.client(), 'dash@example.com');
    const client = app.client();
    const form = await client.get('/login');
    const preSession = [...client.jar.values()][0];
    const res = await postForm(client, '/login', {
      _csrf: csrfFrom(form.text),
      email: 'dash@example.com',
      password: PASSWORD,
    });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/dashboard');
    assert.notEqual([...client.jar.values()][0], preSession);
    const dashboard = await client.get('/dashboard');
    assert.equal(dashboard.status, 200);
    assert.match(dashboard.text, /Hello, dash@example.com/);
    assert.match(dashboard.text, /action="\/logout"/, 'S34 sign-out form in the header');
    const stale = app.client();
    stale.jar.set('id', preSession!);
    assert.equal((await stale.get('/dashboard')).status, 303, 'the pre-session cookie is dead');
  });

  it('sends anonymous visitors to the sign-in page and back where they were going', async () => {
    const client = app.client();
    const res = await client.get('/devices');
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/login?returnTo=%2Fdevices');
    await register(client, 'back@example.com');
    const form = await client.get('/login?returnTo=%2Fdevices');
    assert.match(form.text, /Your session has ended/);
    const login = await postForm(client, '/login', {
      _csrf: csrfFrom(form.text),
      email: 'back@example.com',
      password: PASSWORD,
      returnTo: '/devices',
    });
    assert.equal(login.headers.get('location'), '/devices');
  });

  it('never redirects to another site after sign-in', async () => {
    await register(app.client(), 'redirect@example.com');
    for (const returnTo of ['//evil.test/x', 'https://evil.test/', '/\\evil.test', '/ok\r\nx']) {
      const client = app.client();
      const res = await submit(client, '/login', '/login', {
        email: 'redirect@example.com',
        password: PASSWORD,
        returnTo,
      });
      assert.equal(res.status, 303);
      assert.equal(res.headers.get('location'), '/dashboard', returnTo);
    }
  });

  it('S27 S28 signs out with a POST: session ended server-side, cookie and site data cleared', async () => {
    const client = await newUser(app, 'logout@example.com');
    const cookie = client.cookieHeader;
    const page = await client.get('/dashboard');
    const res = await postForm(client, '/logout', { _csrf: csrfFrom(page.text) });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/login?notice=signedout');
    assert.equal(res.headers.get('clear-site-data'), '"cache", "storage"');
    assert.ok(res.setCookies.some((line) => /^id=;.*Max-Age=0/i.test(line)));
    const replay = await app.client({ cookie }).get('/dashboard');
    assert.equal(replay.status, 303, 'the old cookie no longer signs anyone in');
  });

  it('S34 refuses GET /logout with 405 and keeps the session', async () => {
    const client = await newUser(app, 'get-logout@example.com');
    const res = await client.get('/logout');
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST');
    assert.match(res.text, /sign-out button/);
    assert.equal((await client.get('/dashboard')).status, 200);
  });

  it('S53 refuses a sign-out without the CSRF token', async () => {
    const client = await newUser(app, 'csrf-logout@example.com');
    const res = await postForm(client, '/logout', {});
    assert.equal(res.status, 403);
    assert.equal((await client.get('/dashboard')).status, 200);
  });

  it('answers unknown pages with a 404 page and no session', async () => {
    const client = app.client();
    const res = await client.get('/no/such/page', { accept: 'text/html' });
    assert.equal(res.status, 404);
    assert.match(res.text, /Page not found/);
    assert.equal(res.setCookies.length, 0, 'a 404 creates no pre-session');
  });

  it('sets security headers on every page', async () => {
    const res = await app.client().get('/login');
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('x-powered-by'), null);
    const css = await app.client().get('/static/style.css');
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type') ?? '', /text\/css/);
  });

  it('shows a generic 500 page without a stack trace when something breaks', async () => {
    const client = await newUser(app, 'boom@example.com');
    const users = app.running.backends.users;
    const original = users.findById;
    users.findById = async () => {
      throw new Error('secret internal detail');
    };
    try {
      const res = await client.get('/dashboard');
      assert.equal(res.status, 500);
      assert.match(res.text, /Something went wrong/);
      assert.ok(!res.text.includes('secret internal detail'));
      assert.ok(!/at .*\.ts:\d+/.test(res.text), 'no stack trace');
      const api = await client.get('/api/session');
      assert.equal(api.status, 500);
      assert.deepEqual(api.json(), { error: 'internal', message: 'Something went wrong on our side.' });
    } finally {
      users.findById = original;
    }
    assert.ok(app.errors.length >= 1, 'the error was logged on the server');
  });
});
