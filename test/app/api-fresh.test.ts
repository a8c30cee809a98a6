import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAdmin } from '../../app/cli/create-admin.js';
import { apiUser, assertError, call } from './api-client.js';
import { type AppUnderTest, enableTotp, PASSWORD, sleep, startApp } from './harness.js';

describe('reference app: JSON API with fresh authentication and admin', () => {
  let app: AppUnderTest;
  before(async () => {
    app = await startApp({ FRESH_AUTH_MS: '3000' });
  });
  after(() => app.close());

  it('S39 changes the password only after a fresh authentication', async () => {
    const me = await apiUser(app, 'api-pw@example.com');
    const other = app.client();
    await call(other, 'POST', '/api/login', { email: 'api-pw@example.com', password: PASSWORD });
    await sleep(3200);
    assertError(
      await call(me, 'POST', '/api/password', {
        newPassword: 'the next password',
        currentPassword: PASSWORD,
      }),
      401,
      'reauth_required',
    );
    assertError(
      await call(me, 'POST', '/api/reauth', { password: 'wrong password' }),
      401,
      'invalid_credentials',
    );
    const reauth = await call(me, 'POST', '/api/reauth', { password: PASSWORD });
    assert.equal(reauth.status, 200);
    assertError(await call(me, 'POST', '/api/password', { newPassword: 'short' }), 400, 'invalid_password');
    const changed = await call(me, 'POST', '/api/password', {
      newPassword: 'the next password',
      currentPassword: PASSWORD,
    });
    assert.equal(changed.status, 200);
    assert.equal((changed.json() as { signedOut: number }).signedOut, 1);
    assertError(await other.get('/api/devices'), 401, 'unauthenticated');
    assert.equal((await me.get('/api/devices')).status, 200);
  });

  it('S33 admin operations: 403 for users, then list, revoke, change role, 409 for oneself', async () => {
    const user = await apiUser(app, 'api-user@example.com');
    assertError(await user.get('/api/admin/users'), 403, 'forbidden');
    assertError(await call(user, 'POST', '/api/admin/users/x/revoke-sessions'), 403, 'forbidden');
    assertError(await app.client().get('/api/admin/users'), 401, 'unauthenticated');

    await createAdmin(app.config, { email: 'api-admin@example.com', password: PASSWORD });
    const admin = app.client();
    await call(admin, 'POST', '/api/login', { email: 'api-admin@example.com', password: PASSWORD });
    const list0 = (await admin.get('/api/admin/users')).json() as { users: { id: string }[] };
    assert.ok(list0.users.length >= 2, 'reading needs no step-up');
    const early = await call(admin, 'POST', '/api/admin/users/nobody/revoke-sessions');
    assertError(early, 401, 'step_up_required');
    assert.equal((early.json() as { level: number }).level, 2);
    // Setting up the authenticator proves both factors: the session is stepped up.
    await enableTotp(app, admin);
    const list = (await admin.get('/api/admin/users')).json() as {
      users: { id: string; email: string; activeSessions: number }[];
    };
    const target = list.users.find((u) => u.email === 'api-user@example.com')!;
    const self = list.users.find((u) => u.email === 'api-admin@example.com')!;
    assert.equal(target.activeSessions, 1);
    const revoked = await call(admin, 'POST', `/api/admin/users/${target.id}/revoke-sessions`);
    assert.deepEqual(revoked.json(), { userId: target.id, sessionsEnded: 1 });
    assertError(await user.get('/api/devices'), 401, 'unauthenticated');
    assertError(await call(admin, 'POST', '/api/admin/users/nobody/revoke-sessions'), 404, 'not_found');
    assertError(
      await call(admin, 'POST', `/api/admin/users/${target.id}/role`, { role: 'root' }),
      400,
      'invalid_role',
    );
    assertError(
      await call(admin, 'POST', `/api/admin/users/${self.id}/role`, { role: 'user' }),
      409,
      'own_role',
    );
    assertError(
      await call(admin, 'POST', '/api/admin/users/nobody/role', { role: 'admin' }),
      404,
      'not_found',
    );
    const promoted = await call(admin, 'POST', `/api/admin/users/${target.id}/role`, { role: 'admin' });
    assert.equal((promoted.json() as { role: string }).role, 'admin');
    app.clock.advance(app.config.stepUpMaxAgeMs + 1000);
    assertError(
      await call(admin, 'POST', `/api/admin/users/${target.id}/role`, { role: 'user' }),
      401,
      'step_up_required',
    );
  });
});
