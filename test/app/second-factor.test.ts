import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { totpCodeAt } from '../../app/totp.js';
import type { Client } from '../support/http.js';
import { assertError, call } from './api-client.js';
import {
  type AppUnderTest,
  csrfFrom,
  enableTotp,
  fieldFrom,
  newUser,
  nextCode,
  PASSWORD,
  postForm,
  signInWithCode,
  startApp,
  stepUpWith,
  submit,
} from './harness.js';

interface SessionView {
  authenticated: boolean;
  session: { aal: number; stepUpAt: number | null } | null;
}

const sessionOf = async (client: Client) => (await client.get('/api/session')).json() as SessionView;

/** A user with an authenticator app, signed out again; returns the secret. */
async function enrolledUser(app: AppUnderTest, email: string): Promise<string> {
  const client = await newUser(app, email);
  const secret = await enableTotp(app, client);
  await submit(client, '/dashboard', '/logout', {});
  return secret;
}

/** Password step on a new client; returns the client on the code page and the page's challenge. */
async function passwordStep(app: AppUnderTest, email: string): Promise<{ client: Client; page: string }> {
  const client = app.client();
  const res = await submit(client, '/login', '/login', { email, password: PASSWORD });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/login/code');
  const page = await client.get('/login/code');
  assert.equal(page.status, 200);
  return { client, page: page.text };
}

const postCode = (client: Client, page: string, code: string, challenge = fieldFrom(page, 'challenge')) =>
  postForm(client, '/login/code', { _csrf: csrfFrom(page), challenge, code });

describe('reference app: two-step sign-in with an authenticator app', () => {
  let app: AppUnderTest;
  before(async () => {
    app = await startApp();
  });
  after(() => app.close());

  it('sets up TOTP only after a code confirms it: QR as inline SVG, the key in base32', async () => {
    const client = await newUser(app, 'enrol@example.com');
    const setup = await client.get('/account/two-step/setup');
    assert.equal(setup.status, 200);
    assert.match(setup.text, /<div class="qr"[^>]*><svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    const secret = /id="totp-secret">([A-Z2-7]{32})</.exec(setup.text)?.[1];
    assert.ok(secret, 'the base32 key is shown');
    const wrong = await postForm(client, '/account/two-step/setup', {
      _csrf: csrfFrom(setup.text),
      current: PASSWORD,
      code: '000000',
    });
    assert.equal(wrong.status, 400);
    assert.match((await client.get('/account/two-step')).text, /Off\./);
    const right = await postForm(client, '/account/two-step/setup', {
      _csrf: csrfFrom(setup.text),
      current: PASSWORD,
      code: totpCodeAt(secret, app.clock.now()),
    });
    assert.equal(right.status, 303);
    assert.match((await client.get('/account/two-step')).text, /On\. Signing in asks/);
    assert.equal((await sessionOf(client)).session?.aal, 2, 'password and code were both just shown');
  });

  it('users without TOTP still sign in with the password alone, at level 1', async () => {
    const client = await newUser(app, 'plain@example.com');
    const view = await sessionOf(client);
    assert.equal(view.authenticated, true);
    assert.equal(view.session?.aal, 1);
    assert.equal(view.session?.stepUpAt, null);
  });

  it('the right password alone does not sign in; a wrong code neither; the right code does, at level 2', async () => {
    const secret = await enrolledUser(app, 'totp@example.com');
    const { client, page } = await passwordStep(app, 'totp@example.com');
    assert.equal((await sessionOf(client)).authenticated, false, 'not signed in after the password');
    assert.equal((await client.get('/dashboard')).status, 303);
    const wrong = await postCode(client, page, '123456');
    assert.equal(wrong.status, 401);
    assert.match(wrong.text, /That code is not right/);
    assert.equal((await sessionOf(client)).authenticated, false);
    const right = await postCode(client, wrong.text, nextCode(app, secret));
    assert.equal(right.status, 303);
    assert.equal(right.headers.get('location'), '/dashboard');
    const view = await sessionOf(client);
    assert.equal(view.authenticated, true);
    assert.equal(view.session?.aal, 2);
    const stepUpAt = view.session?.stepUpAt ?? 0;
    assert.ok(stepUpAt <= app.clock.now() && app.clock.now() - stepUpAt < 60_000, 'stepped up at sign-in');
  });

  it('wrong codes are throttled like wrong passwords', async () => {
    const strict = await startApp({ LOGIN_MAX_FAILURES: '3' });
    try {
      const client = await newUser(strict, 'throttle-totp@example.com');
      await enableTotp(strict, client);
      const other = strict.client();
      const res = await submit(other, '/login', '/login', {
        email: 'throttle-totp@example.com',
        password: PASSWORD,
      });
      assert.equal(res.status, 303);
      let page = (await other.get('/login/code')).text;
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const wrong = await postCode(other, page, '000000');
        statuses.push(wrong.status);
        page = wrong.text;
      }
      assert.deepEqual(statuses, [401, 401, 401, 429]);
      assert.match(page, /Too many failed attempts/);
    } finally {
      await strict.close();
    }
  });

  it('the pending sign-in expires: after 5 minutes the code page sends back to the password', async () => {
    const secret = await enrolledUser(app, 'slow@example.com');
    const { client, page } = await passwordStep(app, 'slow@example.com');
    app.clock.advance(5 * 60_000 + 1000);
    const late = await postCode(client, page, totpCodeAt(secret, app.clock.now()));
    assert.equal(late.status, 401);
    assert.equal((await sessionOf(client)).authenticated, false);
    const again = await client.get('/login/code');
    assert.equal(again.status, 303);
    assert.equal(again.headers.get('location'), '/login?notice=codeexpired');
  });

  it('S41 a code accepted once is refused the second time, at sign-in and at step-up', async () => {
    const secret = await enrolledUser(app, 'replay@example.com');
    const first = await passwordStep(app, 'replay@example.com');
    const code = nextCode(app, secret);
    assert.equal((await postCode(first.client, first.page, code)).status, 303);
    const second = await passwordStep(app, 'replay@example.com');
    const replayed = await postCode(second.client, second.page, code);
    assert.equal(replayed.status, 401, 'the same code signs in only once');
    assert.equal((await sessionOf(second.client)).authenticated, false);

    const stepCode = nextCode(app, secret);
    assert.equal((await stepUpWith(app, first.client, stepCode)).status, 303);
    const replayedStepUp = await stepUpWith(app, first.client, stepCode);
    assert.equal(replayedStepUp.status, 401, 'the same code steps up only once');
  });

  it('S41 two parallel submissions of one code: exactly one signs in', async () => {
    const secret = await enrolledUser(app, 'race@example.com');
    const tabs = await Promise.all([
      passwordStep(app, 'race@example.com'),
      passwordStep(app, 'race@example.com'),
    ]);
    const code = nextCode(app, secret);
    const results = await Promise.all(tabs.map(({ client, page }) => postCode(client, page, code)));
    assert.deepEqual(results.map((res) => res.status).sort(), [303, 401]);
  });

  it("S41 session A's challenge submitted from session B is refused, as is a used or missing one", async () => {
    const secret = await enrolledUser(app, 'bound@example.com');
    const a = await passwordStep(app, 'bound@example.com');
    const b = await passwordStep(app, 'bound@example.com');
    const stolen = await postCode(b.client, b.page, nextCode(app, secret), fieldFrom(a.page, 'challenge'));
    assert.equal(stolen.status, 401, 'the code page: A challenge, B session');
    assert.equal((await sessionOf(b.client)).authenticated, false);
    const none = await postCode(a.client, a.page, nextCode(app, secret), '');
    assert.equal(none.status, 401, 'no challenge');
    const used = await postCode(a.client, a.page, nextCode(app, secret));
    assert.equal(used.status, 401, 'the challenge was spent by the previous submission');

    // The step-up form: a challenge served to one signed-in session is worthless in another.
    await signInWithCode(app, a.client, 'bound@example.com', secret);
    await signInWithCode(app, b.client, 'bound@example.com', secret);
    const formA = await a.client.get('/step-up');
    const formB = await b.client.get('/step-up');
    const cross = await postForm(b.client, '/step-up', {
      _csrf: csrfFrom(formB.text),
      challenge: fieldFrom(formA.text, 'challenge'),
      returnTo: '/dashboard',
      code: nextCode(app, secret),
    });
    assert.equal(cross.status, 401);
    const expired = await a.client.get('/step-up');
    app.clock.advance(5 * 60_000 + 1000);
    const late = await postForm(a.client, '/step-up', {
      _csrf: csrfFrom(expired.text),
      challenge: fieldFrom(expired.text, 'challenge'),
      returnTo: '/dashboard',
      code: totpCodeAt(secret, app.clock.now()),
    });
    assert.equal(late.status, 401, 'an expired challenge');
  });

  it('the JSON API: password → 202 with a challenge, then the code signs in; replays are 401', async () => {
    const secret = await enrolledUser(app, 'api-totp@example.com');
    const client = app.client();
    const password = await call(client, 'POST', '/api/login', {
      email: 'api-totp@example.com',
      password: PASSWORD,
    });
    assert.equal(password.status, 202);
    const { challenge } = password.json() as { challenge: string };
    assert.equal((await sessionOf(client)).authenticated, false);
    const code = nextCode(app, secret);
    const ok = await call(client, 'POST', '/api/login/totp', { challenge, code });
    assert.equal(ok.status, 200);
    assert.equal((await sessionOf(client)).session?.aal, 2);
    assertError(await call(client, 'POST', '/api/login/totp', { challenge, code }), 401, 'challenge_invalid');

    const start = await client.get('/api/step-up');
    const stepChallenge = (start.json() as { challenge: string }).challenge;
    assertError(
      await call(client, 'POST', '/api/step-up', { challenge: stepChallenge, code }),
      401,
      'invalid_code',
    );
    const again = (await client.get('/api/step-up')).json() as { challenge: string };
    const stepped = await call(client, 'POST', '/api/step-up', {
      challenge: again.challenge,
      code: nextCode(app, secret),
    });
    assert.equal(stepped.status, 200);
    assert.equal((stepped.json() as { aal: number }).aal, 2);
  });

  it('S40 turning the second factor off needs a step-up, even right after the password', async () => {
    const client = await newUser(app, 'disable@example.com');
    const secret = await enableTotp(app, client);
    app.clock.advance(app.config.stepUpMaxAgeMs + 1000);
    assert.equal((await submit(client, '/reauth', '/reauth', { password: PASSWORD })).status, 303);
    const page = await client.get('/account/two-step');
    const refused = await postForm(client, '/account/two-step/disable', { _csrf: csrfFrom(page.text) });
    assert.equal(refused.status, 401);
    assert.match((await client.get('/account/two-step')).text, /On\./);
    assert.equal((await stepUpWith(app, client, nextCode(app, secret), '/account/two-step')).status, 303);
    const fresh = await client.get('/account/two-step');
    const done = await postForm(client, '/account/two-step/disable', { _csrf: csrfFrom(fresh.text) });
    assert.equal(done.status, 303);
    assert.match((await client.get('/account/two-step')).text, /Off\./);
  });

  it('S39 turning the second factor off needs a fresh password, even right after a step-up', async () => {
    const client = await newUser(app, 'stale@example.com');
    const secret = await enableTotp(app, client);
    // Signed in two hours ago and active since, without entering the password again.
    for (let i = 0; i < 12; i++) {
      app.clock.advance(10 * 60_000);
      assert.equal((await client.get('/dashboard')).status, 200);
    }
    assert.equal((await stepUpWith(app, client, nextCode(app, secret), '/account/two-step')).status, 303);
    const page = await client.get('/account/two-step');
    const refused = await postForm(client, '/account/two-step/disable', { _csrf: csrfFrom(page.text) });
    assert.equal(refused.status, 303);
    assert.equal(refused.headers.get('location'), '/reauth?returnTo=%2Faccount%2Ftwo-step');
    assert.match((await client.get('/account/two-step')).text, /On\./, 'still on');
    assert.equal(
      (await submit(client, '/reauth', '/reauth', { password: PASSWORD, returnTo: '/account/two-step' }))
        .status,
      303,
    );
    const again = await client.get('/account/two-step');
    const done = await postForm(client, '/account/two-step/disable', { _csrf: csrfFrom(again.text) });
    assert.equal(done.status, 303);
    assert.match((await client.get('/account/two-step')).text, /Off\./);
  });
});

describe('users table migration on SQLite', () => {
  it('adds the TOTP columns to a database from the previous version and keeps its users', async () => {
    const { default: BetterSqlite3 } = await import('better-sqlite3');
    const { SqliteUsers } = await import('../../app/users/sqlite.js');
    const db = new BetterSqlite3(':memory:');
    try {
      db.exec(`CREATE TABLE app_users (id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL DEFAULT 'user', password_hash TEXT NOT NULL, created_at INTEGER NOT NULL);
        INSERT INTO app_users VALUES ('old', 'old@example.com', 'admin', 'hash', 1);`);
      const users = new SqliteUsers(db);
      new SqliteUsers(db);
      const old = await users.findById('old');
      assert.equal(old?.role, 'admin');
      assert.equal(old?.totpSecret, null);
      await users.enableTotp('old', 'JBSWY3DPEHPK3PXP', 5);
      assert.equal(await users.acceptTotpStep('old', 5), false);
      assert.equal(await users.acceptTotpStep('old', 6), true);
    } finally {
      db.close();
    }
  });
});
