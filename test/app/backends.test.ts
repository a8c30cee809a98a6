import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findPostgres, type PostgresServer, startPostgres } from '../support/postgres-server.js';
import { hasRedis, type RedisServer, startRedis } from '../support/redis-server.js';
import {
  type AppUnderTest,
  csrfFrom,
  newAdmin,
  PASSWORD,
  postForm,
  register,
  signIn,
  startApp,
  submit,
} from './harness.js';

/** The same journey on any backend: two instances share sessions, revocation and throttling. */
async function journey(env: Record<string, string>, expectDescription: RegExp): Promise<void> {
  const one = await startApp({ ...env, LOGIN_MAX_FAILURES: '2' });
  const two = await startApp({ ...env, LOGIN_MAX_FAILURES: '2' });
  try {
    assert.match(one.running.backends.description, expectDescription);
    await register(one.client(), 'multi@example.com');
    const client = one.client();
    await signIn(client, 'multi@example.com');
    // The same cookie works on the other instance: the session lives in the shared store.
    const elsewhere = two.client({ cookie: client.cookieHeader });
    const devices = await elsewhere.get('/devices');
    assert.equal(devices.status, 200);
    assert.match(devices.text, /This device/);

    const second = two.client();
    await signIn(second, 'multi@example.com');
    const page = await client.get('/devices');
    const res = await postForm(client, '/devices/revoke-others', { _csrf: csrfFrom(page.text) });
    assert.equal(res.status, 303);
    assert.equal((await second.get('/dashboard')).status, 303, 'revoked on instance one, gone on two');

    const admin = await newAdmin(one, `admin-${Date.now()}@example.com`);
    const adminPage = await admin.get('/admin');
    assert.match(adminPage.text, /multi@example.com/);

    for (const app of [one, two]) {
      const fail = await submit(app.client(), '/login', '/login', {
        email: 'multi@example.com',
        password: 'nope nope',
      });
      assert.equal(fail.status, 401);
    }
    const blocked = await submit(one.client(), '/login', '/login', {
      email: 'multi@example.com',
      password: PASSWORD,
    });
    assert.equal(blocked.status, 429, 'failures on both instances add up');
  } finally {
    await one.close();
    await two.close();
  }
}

describe('reference app on Redis', { skip: !hasRedis && 'redis-server is not installed' }, () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis?.dispose());

  it('keeps sessions and counters in Redis and users in SQLite', async () => {
    await redis.cli('FLUSHALL');
    // Users stay in SQLite: instances on one machine share DATA_DIR (or use DATABASE_URL for users).
    const dir = mkdtempSync(join(tmpdir(), 'coatcheck-redis-app-'));
    try {
      await journey({ REDIS_URL: redis.url, DATA_DIR: dir }, /sessions: Redis; users: SQLite/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('S49 answers 503 while Redis is down and recovers when it is back', async () => {
    await redis.cli('FLUSHALL');
    let app: AppUnderTest | null = await startApp({ REDIS_URL: redis.url });
    try {
      const client = app.client();
      await register(client, 'outage@example.com');
      await signIn(client, 'outage@example.com');
      await redis.stop();
      const page = await client.get('/dashboard');
      assert.equal(page.status, 503);
      assert.match(page.text, /Temporarily unavailable/);
      const api = await client.get('/api/session');
      assert.equal(api.status, 503);
      assert.equal((api.json() as { error: string }).error, 'unavailable');
      await redis.restart();
      // Without persistence the session is gone after the restart: anonymous, never a 500.
      let status = 0;
      for (let i = 0; i < 50 && status !== 303; i++) {
        status = (await client.get('/dashboard')).status;
        if (status !== 303) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(status, 303);
      await signIn(client, 'outage@example.com');
      assert.equal((await client.get('/dashboard')).status, 200);
    } finally {
      await app.close();
      app = null;
    }
  });
});

describe('reference app on PostgreSQL', { skip: !findPostgres() && 'postgres is not installed' }, () => {
  let postgres: PostgresServer;
  before(async () => {
    postgres = await startPostgres();
  });
  after(() => postgres?.stop());

  it('keeps sessions, users and counters in PostgreSQL', async () => {
    await journey({ DATABASE_URL: postgres.connectionString }, /sessions: PostgreSQL; users: PostgreSQL/);
  });
});
