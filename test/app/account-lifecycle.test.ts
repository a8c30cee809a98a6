import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '../support/http.js';
import { assertError, call } from './api-client.js';
import {
  type AppUnderTest,
  csrfFrom,
  enableTotp,
  newAdmin,
  newPasswordOnlyAdmin,
  newUser,
  PASSWORD,
  postForm,
  signIn,
  startApp,
  submit,
} from './harness.js';

const signedIn = async (client: Client) => (await client.get('/dashboard')).status === 200;

describe('reference app: account lifecycle (ASVS 7.4)', () => {
  let app: AppUnderTest;
  let admin: Client;
  before(async () => {
    app = await startApp();
    admin = await newAdmin(app, 'lifecycle-admin@example.com');
  });
  after(() => app.close());
  const idOf = async (email: string) => (await app.running.backends.users.findByEmail(email))!.id;

  it('7.4.2 disabling an account ends all its sessions and stops sign-in until enabled', async () => {
    const laptop = await newUser(app, 'disabled@example.com');
    const phone = app.client();
    await signIn(phone, 'disabled@example.com');
    const id = await idOf('disabled@example.com');
    const page = await admin.get('/admin');
    const res = await postForm(admin, `/admin/users/${id}/disable`, { _csrf: csrfFrom(page.text) });
    assert.equal(res.status, 303);
    assert.equal(await signedIn(laptop), false);
    assert.equal(await signedIn(phone), false);
    assert.match(
      (await admin.get('/admin')).text,
      />disabled@example\.com <span class="badge">disabled<\/span>/,
    );
    const refused = await submit(app.client(), '/login', '/login', {
      email: 'disabled@example.com',
      password: PASSWORD,
    });
    assert.equal(refused.status, 401, 'the same answer as a wrong password');
    const ended = app.events.filter((e) => e.type === 'session.logout_all' && e.userId === id);
    assert.equal(ended.length, 1);

    const enabled = await call(admin, 'POST', `/api/admin/users/${id}/enable`);
    assert.equal(enabled.status, 200);
    assert.deepEqual(enabled.json(), { userId: id, disabled: false, sessionsEnded: 0 });
    await signIn(app.client(), 'disabled@example.com');
    const again = await call(admin, 'POST', `/api/admin/users/${id}/disable`);
    assert.equal((again.json() as { sessionsEnded: number }).sessionsEnded, 1);
  });

  it('refuses to disable oneself, an unknown user, or without a step-up', async () => {
    assertError(
      await call(admin, 'POST', `/api/admin/users/${await idOf('lifecycle-admin@example.com')}/disable`),
      409,
      'own_account',
    );
    assertError(await call(admin, 'POST', '/api/admin/users/no-such-user/disable'), 404, 'not_found');
    const plain = await newPasswordOnlyAdmin(app, 'no-step-up@example.com');
    const target = await newUser(app, 'target@example.com');
    assertError(
      await call(plain, 'POST', `/api/admin/users/${await idOf('target@example.com')}/disable`),
      401,
      'step_up_required',
    );
    const user = await newUser(app, 'not-admin@example.com');
    assertError(
      await call(user, 'POST', `/api/admin/users/${await idOf('target@example.com')}/disable`),
      403,
      'forbidden',
    );
    assert.equal(await signedIn(target), true);
  });

  it('7.4.3 after turning two-step sign-in on, ending the other sessions is offered and works', async () => {
    const me = await newUser(app, 'offer@example.com');
    const other = app.client();
    await signIn(other, 'offer@example.com');
    assert.doesNotMatch(
      (await me.get('/account/two-step')).text,
      /id="end-others"/,
      'no offer before a change',
    );
    await enableTotp(app, me);
    const page = await me.get('/account/two-step');
    assert.match(page.text, /id="end-others"/);
    assert.match(page.text, /1 other device is still signed in/);
    assert.doesNotMatch((await me.get('/account/two-step')).text, /id="end-others"/, 'offered once');
    const res = await postForm(me, '/devices/revoke-others', { _csrf: csrfFrom(page.text) });
    assert.equal(res.status, 303);
    assert.equal(await signedIn(other), false);
    assert.equal(await signedIn(me), true);
  });

  it('7.4 an admin ends every session of every user, behind a step-up', async () => {
    const users = [
      await newUser(app, 'everyone-1@example.com'),
      await newUser(app, 'everyone-2@example.com'),
    ];
    const plain = await newPasswordOnlyAdmin(app, 'kill-no-step-up@example.com');
    assertError(await call(plain, 'POST', '/api/admin/sessions/end-all'), 401, 'step_up_required');
    const page = await plain.get('/admin');
    assert.equal(
      (await postForm(plain, '/admin/sessions/end-all', { _csrf: csrfFrom(page.text) })).status,
      401,
    );
    for (const user of users) assert.equal(await signedIn(user), true, 'nothing ended without a step-up');

    const form = await admin.get('/admin');
    assert.match(form.text, /action="\/admin\/sessions\/end-all"/);
    const res = await postForm(admin, '/admin/sessions/end-all', { _csrf: csrfFrom(form.text) });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/login?notice=signedout');
    for (const user of [...users, plain, admin]) assert.equal(await signedIn(user), false);
    const killed = app.events.filter((e) => e.type === 'session.logout_all' && e.reason === 'end_all');
    assert.ok(killed.length >= 3, 'one sign-out-everywhere event per user');
  });
});
