import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { PostgresNotifications } from '../../app/notifications/postgres.js';
import type { NotificationRepository } from '../../app/notifications/repository.js';
import { deviceOf, maskIp } from '../../app/notify.js';
import { PostgresUsers } from '../../app/users/postgres.js';
import type { UserRepository } from '../../app/users/repository.js';
import type { Client } from '../support/http.js';
import { findPostgres, type PostgresServer, startPostgres } from '../support/postgres-server.js';
import { call } from './api-client.js';
import {
  type AppUnderTest,
  csrfFrom,
  enableTotp,
  newUser,
  PASSWORD,
  postForm,
  register,
  signIn,
  startApp,
} from './harness.js';

const CHROME_LINUX =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const FIREFOX_ANDROID = 'Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0';

interface Listed {
  notifications: { id: string; kind: string; text: string; readAt: number | null }[];
  unread: number;
}

const listOf = async (client: Client) => (await client.get('/api/notifications')).json() as Listed;

describe('reference app: security notifications (S38)', () => {
  let app: AppUnderTest;
  before(async () => {
    app = await startApp();
  });
  after(() => app.close());

  const secrets: string[] = [];
  const notified = (userId: string, kind: string) =>
    app.events.filter(
      (event) => event.type === 'user.notified' && event.userId === userId && event.reason === kind,
    );

  it('S38 a sign-in from a new browser or network notifies the user and emits an audit event; the same device again does not', async () => {
    const first = await newUser(app, 'devices@example.com', { 'user-agent': CHROME_LINUX });
    const userId = ((await first.get('/api/session')).json() as { user: { id: string } }).user.id;
    assert.equal((await listOf(first)).notifications.length, 0, 'the first device of an account is not news');

    await signIn(app.client({ 'user-agent': CHROME_LINUX }), 'devices@example.com');
    assert.equal((await listOf(first)).notifications.length, 0, 'the same browser, OS and network again');

    await signIn(app.client({ 'user-agent': FIREFOX_ANDROID }), 'devices@example.com');
    const listed = await listOf(first);
    assert.equal(listed.notifications.length, 1);
    assert.equal(listed.unread, 1);
    assert.equal(listed.notifications[0]!.kind, 'new_device');
    assert.match(listed.notifications[0]!.text, /New sign-in from Firefox on Android.*127\.0\.0\.0\/24/);
    assert.equal(notified(userId, 'new_device').length, 1);

    await signIn(app.client({ 'user-agent': FIREFOX_ANDROID }), 'devices@example.com');
    assert.equal((await listOf(first)).notifications.length, 1, 'that device is known now');
    assert.equal(notified(userId, 'new_device').length, 1);

    const dashboard = await first.get('/dashboard');
    assert.match(dashboard.text, /Security activity/);
    assert.match(dashboard.text, /<span class="count unread"[^>]*>1</);
    const read = await postForm(first, '/notifications/read', { _csrf: csrfFrom(dashboard.text) });
    assert.equal(read.status, 303);
    assert.equal((await listOf(first)).unread, 0);
    assert.doesNotMatch((await first.get('/dashboard')).text, /class="count unread"/);
  });

  it('S38 a password change notifies the user and emits an audit event', async () => {
    const client = await newUser(app, 'pw-note@example.com');
    const userId = ((await client.get('/api/session')).json() as { user: { id: string } }).user.id;
    const res = await call(client, 'POST', '/api/password', {
      newPassword: 'another long password',
      currentPassword: PASSWORD,
    });
    assert.equal(res.status, 200);
    const listed = await listOf(client);
    assert.deepEqual(
      listed.notifications.map((n) => n.kind),
      ['password_changed'],
    );
    assert.equal(notified(userId, 'password_changed').length, 1);
  });

  it('S38 turning TOTP on notifies the user; one notification can be marked as read', async () => {
    const client = await newUser(app, 'totp-note@example.com');
    const userId = ((await client.get('/api/session')).json() as { user: { id: string } }).user.id;
    secrets.push(await enableTotp(app, client));
    const listed = await listOf(client);
    assert.deepEqual(
      listed.notifications.map((n) => n.kind),
      ['totp_enabled'],
    );
    assert.equal(notified(userId, 'totp_enabled').length, 1);
    const page = await client.get('/dashboard');
    const id = listed.notifications[0]!.id;
    const other = await newUser(app, 'not-mine@example.com');
    await postForm(other, `/notifications/${id}/read`, {
      _csrf: csrfFrom((await other.get('/dashboard')).text),
    });
    assert.equal((await listOf(client)).unread, 1, "another user cannot mark this user's notifications");
    await postForm(client, `/notifications/${id}/read`, { _csrf: csrfFrom(page.text) });
    assert.equal((await listOf(client)).unread, 0);
  });

  it('S47 the notification events carry the kind and the user id, and no TOTP secret anywhere in the audit stream', async () => {
    const events = app.events.filter((event) => event.type === 'user.notified');
    assert.ok(events.length >= 3);
    for (const event of events) {
      assert.deepEqual(Object.keys(event).sort(), ['ip', 'reason', 'time', 'type', 'userAgent', 'userId']);
    }
    assert.ok(secrets.length > 0);
    const all = JSON.stringify(app.events);
    for (const secret of secrets) assert.ok(!all.includes(secret));
  });
});

describe('device labels', () => {
  it('masks IPv4 to /24 and IPv6 to /48', () => {
    assert.equal(maskIp('203.0.113.77'), '203.0.113.0/24');
    assert.equal(maskIp('::ffff:198.51.100.9'), '198.51.100.0/24');
    assert.equal(maskIp('2001:db8:abcd:12::1'), '2001:db8:abcd::/48');
    assert.equal(maskIp('::1'), '0:0:0::/48');
    assert.equal(maskIp(''), 'an unknown network');
  });

  it('ignores the browser version but not the family, the OS or the network', () => {
    const chrome125 = CHROME_LINUX.replace('126.0.0.0', '125.0.0.0');
    assert.equal(
      deviceOf(CHROME_LINUX, '10.0.0.1').fingerprint,
      deviceOf(chrome125, '10.0.0.200').fingerprint,
    );
    assert.notEqual(
      deviceOf(CHROME_LINUX, '10.0.0.1').fingerprint,
      deviceOf(CHROME_LINUX, '10.0.1.1').fingerprint,
    );
    assert.notEqual(
      deviceOf(CHROME_LINUX, '10.0.0.1').fingerprint,
      deviceOf(FIREFOX_ANDROID, '10.0.0.1').fingerprint,
    );
  });
});

describe('users and notifications on PostgreSQL', {
  skip: !findPostgres() && 'postgres is not installed',
}, () => {
  let postgres: PostgresServer;
  let pool: pg.Pool;
  let users: UserRepository;
  let notifications: NotificationRepository;
  before(async () => {
    postgres = await startPostgres();
    pool = new pg.Pool({ connectionString: postgres.connectionString, max: 4 });
    // A table from the previous version, without the TOTP columns: opening migrates it in place.
    await pool.query(`CREATE TABLE app_users (
      id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, role TEXT NOT NULL DEFAULT 'user',
      password_hash TEXT NOT NULL, created_at BIGINT NOT NULL)`);
    await pool.query("INSERT INTO app_users VALUES ('old-user', 'old@example.com', 'user', 'hash', 1)");
    users = await PostgresUsers.open(pool);
    notifications = await PostgresNotifications.open(pool);
  });
  after(async () => {
    await pool?.end();
    await postgres?.stop();
  });

  it('migrates an existing users table and keeps its rows', async () => {
    const old = await users.findById('old-user');
    assert.equal(old?.email, 'old@example.com');
    assert.equal(old?.totpSecret, null);
    await PostgresUsers.open(pool);
  });

  it('S41 accepts each TOTP time-step once, also under parallel submissions', async () => {
    const user = (await users.create({ email: 'pg-totp@example.com', passwordHash: 'h', role: 'user' }))!;
    assert.equal(await users.acceptTotpStep(user.id, 10), false, 'no secret, no step');
    await users.enableTotp(user.id, 'JBSWY3DPEHPK3PXP', 10);
    assert.equal((await users.findById(user.id))?.totpSecret, 'JBSWY3DPEHPK3PXP');
    assert.equal(await users.acceptTotpStep(user.id, 10), false, 'the enrolment step is spent');
    const results = await Promise.all(Array.from({ length: 8 }, () => users.acceptTotpStep(user.id, 11)));
    assert.equal(results.filter(Boolean).length, 1);
    assert.equal(await users.acceptTotpStep(user.id, 11), false);
    assert.equal(await users.acceptTotpStep(user.id, 12), true);
    await users.disableTotp(user.id);
    assert.equal((await users.findById(user.id))?.totpSecret, null);
  });

  it('stores, lists, counts and marks notifications per user; remembers devices atomically', async () => {
    await notifications.add({ userId: 'u1', kind: 'password_changed', text: 'one', createdAt: 1 });
    const second = await notifications.add({ userId: 'u1', kind: 'totp_enabled', text: 'two', createdAt: 2 });
    await notifications.add({ userId: 'u2', kind: 'new_device', text: 'other', createdAt: 3 });
    assert.deepEqual(
      (await notifications.list('u1', 10)).map((n) => n.text),
      ['two', 'one'],
    );
    assert.equal(await notifications.countUnread('u1'), 2);
    assert.equal(await notifications.markRead('u2', 5, second.id), 0, "not another user's");
    assert.equal(await notifications.markRead('u1', 5, second.id), 1);
    assert.equal(await notifications.markRead('u1', 6), 1);
    assert.equal(await notifications.countUnread('u1'), 0);
    assert.equal(await notifications.countUnread('u2'), 1);

    assert.equal(await notifications.rememberDevice('u1', 'a', 1), 'first');
    assert.equal(await notifications.rememberDevice('u1', 'a', 2), 'known');
    const racing = await Promise.all(
      Array.from({ length: 6 }, () => notifications.rememberDevice('u1', 'b', 3)),
    );
    assert.deepEqual(
      racing.filter((s) => s === 'new'),
      ['new'],
    );
  });

  it('S38 the app on PostgreSQL notifies of a new device', async () => {
    const onPg = await startApp({ DATABASE_URL: postgres.connectionString });
    try {
      await register(onPg.client(), 'pg-note@example.com');
      const first = onPg.client({ 'user-agent': CHROME_LINUX });
      await signIn(first, 'pg-note@example.com', PASSWORD);
      await signIn(onPg.client({ 'user-agent': FIREFOX_ANDROID }), 'pg-note@example.com');
      assert.deepEqual(
        (await listOf(first)).notifications.map((n) => n.kind),
        ['new_device'],
      );
    } finally {
      await onPg.close();
    }
  });
});
