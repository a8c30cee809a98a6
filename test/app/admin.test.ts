import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '../support/http.js';
import { assertError, call } from './api-client.js';
import {
  type AppUnderTest,
  csrfFrom,
  enableTotp,
  newAdmin,
  newUser,
  postForm,
  signIn,
  startApp,
  stepUpWith,
} from './harness.js';

/** The admin page's row of a user: its id and active session count. */
function row(html: string, email: string): { id: string; sessions: number } {
  const start = html.indexOf(`>${email}<`);
  assert.ok(start > 0, `${email} is listed`);
  const tail = html.slice(start);
  const id = /action="\/admin\/users\/([0-9a-f-]+)\/revoke"/.exec(tail)![1]!;
  const sessions = Number(/<span class="count[^"]*">(\d+)<\/span>/.exec(tail)![1]);
  return { id, sessions };
}

describe('reference app: administration', () => {
  let app: AppUnderTest;
  let admin: Client;
  before(async () => {
    app = await startApp();
    admin = await newAdmin(app, 'admin@example.com');
  });
  after(() => app.close());

  it('lists users with their active session counts', async () => {
    const alice = await newUser(app, 'alice@example.com');
    await signIn(app.client(), 'alice@example.com');
    const page = await admin.get('/admin');
    assert.equal(page.status, 200);
    assert.equal(row(page.text, 'alice@example.com').sessions, 2);
    assert.equal(row(page.text, 'admin@example.com').sessions, 1);
    assert.equal((await alice.get('/dashboard')).status, 200);
  });

  it('S33 refuses non-admins with 403 and anonymous visitors with the sign-in page', async () => {
    const user = await newUser(app, 'plain@example.com');
    const page = await user.get('/admin');
    assert.equal(page.status, 403);
    assert.match(page.text, /administrators only/);
    const target = row((await admin.get('/admin')).text, 'plain@example.com').id;
    const dashboard = await user.get('/dashboard');
    const post = await postForm(user, `/admin/users/${target}/revoke`, { _csrf: csrfFrom(dashboard.text) });
    assert.equal(post.status, 403);
    const role = await postForm(user, `/admin/users/${target}/role`, {
      _csrf: csrfFrom(dashboard.text),
      role: 'admin',
    });
    assert.equal(role.status, 403);
    assert.equal((await user.get('/dashboard')).status, 200);
    assert.equal((await app.client().get('/admin')).status, 303);
  });

  it('S33 signs out every session of a user', async () => {
    const bob = await newUser(app, 'bob@example.com');
    const bobPhone = app.client();
    await signIn(bobPhone, 'bob@example.com');
    const page = await admin.get('/admin');
    const { id } = row(page.text, 'bob@example.com');
    const res = await postForm(admin, `/admin/users/${id}/revoke`, { _csrf: csrfFrom(page.text) });
    assert.equal(res.status, 303);
    const after = await admin.get('/admin');
    assert.match(after.text, /Signed out bob@example.com everywhere \(2 sessions\)/);
    assert.equal(row(after.text, 'bob@example.com').sessions, 0);
    for (const client of [bob, bobPhone]) assert.equal((await client.get('/dashboard')).status, 303);
  });

  it('S20 changes a role: the user is signed out and has the new role at the next sign-in', async () => {
    const carol = await newUser(app, 'carol@example.com');
    assert.equal((await carol.get('/admin')).status, 403);
    const page = await admin.get('/admin');
    const { id } = row(page.text, 'carol@example.com');
    const res = await postForm(admin, `/admin/users/${id}/role`, {
      _csrf: csrfFrom(page.text),
      role: 'admin',
    });
    assert.equal(res.status, 303);
    assert.match((await admin.get('/admin')).text, /carol@example.com is now an admin; they were signed out/);
    assert.equal((await carol.get('/dashboard')).status, 303, 'the next request is anonymous');
    await signIn(carol, 'carol@example.com');
    assert.equal((await carol.get('/admin')).status, 200);
  });

  it("answers a bad role, an unknown user and a change of one's own role clearly", async () => {
    const page = await admin.get('/admin');
    const self = row(page.text, 'admin@example.com').id;
    const other = row(page.text, 'alice@example.com').id;
    const token = csrfFrom(page.text);
    const bad = await postForm(admin, `/admin/users/${other}/role`, { _csrf: token, role: 'root' });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /Unknown role/);
    const unknown = await postForm(admin, '/admin/users/00000000-0000-0000-0000-000000000000/role', {
      _csrf: token,
      role: 'user',
    });
    assert.equal(unknown.status, 404);
    const unknownRevoke = await postForm(admin, '/admin/users/nobody/revoke', { _csrf: token });
    assert.equal(unknownRevoke.status, 404);
    const own = await postForm(admin, `/admin/users/${self}/role`, { _csrf: token, role: 'user' });
    assert.equal(own.status, 409);
    assert.match(own.text, /cannot change their own role/);
  });

  it('S40 admin actions need a recent step-up; past the window the page says how to get one', async () => {
    const victim = await newUser(app, 'victim@example.com');
    app.clock.advance(app.config.stepUpMaxAgeMs + 1000);
    const page = await admin.get('/admin');
    assert.match(page.text, /need a recent code from your authenticator app/);
    const { id } = row(page.text, 'victim@example.com');
    const res = await postForm(admin, `/admin/users/${id}/revoke`, { _csrf: csrfFrom(page.text) });
    assert.equal(res.status, 401);
    assert.match(res.text, /href="\/step-up\?returnTo=%2Fadmin"/);
    assert.equal((await victim.get('/dashboard')).status, 200, 'nothing happened');
    assert.equal((await stepUpWith(app, admin, undefined, '/admin')).headers.get('location'), '/admin');
    const again = await admin.get('/admin');
    const done = await postForm(admin, `/admin/users/${id}/revoke`, { _csrf: csrfFrom(again.text) });
    assert.equal(done.status, 303);
    assert.equal((await victim.get('/dashboard')).status, 303);
  });

  it("S38 S40 an admin turns off a user's two-step sign-in (lost authenticator): signed out, notified, the password alone works again", async () => {
    const lost = await newUser(app, 'lost@example.com');
    await enableTotp(app, lost);
    await stepUpWith(app, admin, undefined, '/admin');
    const page = await admin.get('/admin');
    const { id } = row(page.text, 'lost@example.com');
    assert.match(page.text, new RegExp(`action="/admin/users/${id}/two-step/disable"`));
    const own = /action="\/admin\/users\/([0-9a-f-]+)\/two-step\/disable"/g;
    assert.equal([...page.text.matchAll(own)].length, 1, 'only users with two-step get the button');

    const done = await postForm(admin, `/admin/users/${id}/two-step/disable`, { _csrf: csrfFrom(page.text) });
    assert.equal(done.status, 303);
    assert.equal((await lost.get('/dashboard')).status, 303, 'their sessions ended');
    await signIn(lost, 'lost@example.com');
    const dashboard = await lost.get('/dashboard');
    assert.equal(dashboard.status, 200, 'the password alone signs in again');
    assert.match(dashboard.text, /An administrator turned off two-step sign-in/);
    assert.ok(
      app.events.some((event) => event.type === 'user.notified' && event.reason === 'totp_disabled'),
      'the notification is on the audit stream',
    );
    const again = await admin.get('/admin');
    const twice = await postForm(admin, `/admin/users/${id}/two-step/disable`, {
      _csrf: csrfFrom(again.text),
    });
    assert.equal(twice.status, 303, 'nothing to turn off: back to the list with a message');
    const api = await call(admin, 'POST', `/api/admin/users/${id}/two-step/disable`);
    assertError(api, 409, 'no_two_step');
    assertError(await call(lost, 'POST', `/api/admin/users/${id}/two-step/disable`), 403, 'forbidden');
  });
});
