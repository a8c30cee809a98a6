import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { createClient } from 'redis';
import type { ThrottleCounter } from '../../app/throttle/counter.js';
import { PostgresCounter } from '../../app/throttle/postgres.js';
import { RedisCounter } from '../../app/throttle/redis.js';
import { SqliteCounter } from '../../app/throttle/sqlite.js';
import { findPostgres, startPostgres } from '../support/postgres-server.js';
import { hasRedis, startRedis } from '../support/redis-server.js';
import {
  type AppUnderTest,
  apiToken,
  PASSWORD,
  register,
  signIn,
  sleep,
  startApp,
  submit,
} from './harness.js';

const login = (app: AppUnderTest, email: string, password: string) =>
  submit(app.client(), '/login', '/login', { email, password });

describe('reference app: sign-in and registration throttling', () => {
  let app: AppUnderTest;
  before(async () => {
    app = await startApp({
      LOGIN_MAX_FAILURES: '3',
      LOGIN_MAX_FAILURES_PER_IP: '8',
      REGISTER_MAX_PER_IP: '5',
    });
  });
  after(() => app.close());

  it('answers 429 after repeated failures on one account, even with the right password', async () => {
    await register(app.client(), 'target@example.com');
    for (let i = 0; i < 3; i++)
      assert.equal((await login(app, 'target@example.com', 'wrong guess')).status, 401);
    const blocked = await login(app, 'target@example.com', PASSWORD);
    assert.equal(blocked.status, 429);
    assert.match(blocked.text, /Too many failed attempts. Try again in \d+ minutes/);
    const retryAfter = Number(blocked.headers.get('retry-after'));
    assert.ok(retryAfter > 0 && retryAfter <= 900, `Retry-After ${retryAfter}`);
    assert.match(blocked.text, /action="\/login"/, 'the form is shown again');
  });

  it('throttles an unknown email exactly like a known one', async () => {
    for (let i = 0; i < 3; i++)
      assert.equal((await login(app, 'ghost@example.com', 'wrong guess')).status, 401);
    assert.equal((await login(app, 'ghost@example.com', 'wrong guess')).status, 429);
  });

  it('answers 429 per IP once many accounts were tried from it', async () => {
    // 6 failures so far from 127.0.0.1; two more reach the per-IP limit of 8.
    await register(app.client(), 'bystander@example.com');
    for (const email of ['a@example.com', 'b@example.com']) {
      assert.equal((await login(app, email, 'wrong guess')).status, 401);
    }
    assert.equal((await login(app, 'bystander@example.com', PASSWORD)).status, 429);
    const client = app.client();
    const token = await apiToken(client);
    const api = await client.request('/api/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': token },
      body: JSON.stringify({ email: 'bystander@example.com', password: PASSWORD }),
    });
    assert.equal(api.status, 429);
    assert.equal((api.json() as { error: string }).error, 'too_many_attempts');
    assert.ok(Number(api.headers.get('retry-after')) > 0);
  });

  it('limits registrations per IP', async () => {
    // Two registrations so far, three here; the limit is five.
    for (let i = 0; i < 3; i++) assert.equal((await register(app.client(), `r${i}@example.com`)).status, 303);
    const blocked = await register(app.client(), 'r-last@example.com');
    assert.equal(blocked.status, 429);
    assert.match(blocked.text, /Too many registrations/);
  });
});

describe('throttling counters are shared by app instances', () => {
  it('two instances on one DATA_DIR see the same failures', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coatcheck-shared-'));
    const env = { DATA_DIR: dir, LOGIN_MAX_FAILURES: '2' };
    const one = await startApp(env);
    const two = await startApp(env);
    try {
      await register(one.client(), 'shared@example.com');
      assert.equal((await login(one, 'shared@example.com', 'wrong guess')).status, 401);
      assert.equal((await login(two, 'shared@example.com', 'wrong guess')).status, 401);
      assert.equal((await login(one, 'shared@example.com', PASSWORD)).status, 429);
      assert.equal((await login(two, 'shared@example.com', PASSWORD)).status, 429);
    } finally {
      await one.close();
      await two.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a successful sign-in clears the account count', async () => {
    const app = await startApp({ LOGIN_MAX_FAILURES: '2' });
    try {
      await register(app.client(), 'reset@example.com');
      assert.equal((await login(app, 'reset@example.com', 'wrong guess')).status, 401);
      await signIn(app.client(), 'reset@example.com');
      assert.equal((await login(app, 'reset@example.com', 'wrong guess')).status, 401);
      assert.equal((await login(app, 'reset@example.com', 'wrong guess')).status, 401);
      assert.equal((await login(app, 'reset@example.com', PASSWORD)).status, 429);
    } finally {
      await app.close();
    }
  });
});

/** The same behaviour from every backend's counter. */
function counterContract(
  name: string,
  open: () => Promise<{ counter: ThrottleCounter; close(): Promise<void> }>,
) {
  it(`${name}: counts hits in a window, peeks, resets and starts a new window`, async () => {
    const { counter, close } = await open();
    try {
      const key = `k-${Math.random()}`;
      assert.deepEqual(await counter.peek(key), { count: 0, resetAt: 0 });
      const first = await counter.hit(key, 400);
      assert.equal(first.count, 1);
      assert.ok(first.resetAt > Date.now() && first.resetAt <= Date.now() + 400);
      const hits = await Promise.all([counter.hit(key, 400), counter.hit(key, 400), counter.hit(key, 400)]);
      assert.deepEqual(hits.map((h) => h.count).sort(), [2, 3, 4], 'concurrent hits are atomic');
      assert.equal((await counter.peek(key)).count, 4);
      await sleep(500);
      assert.equal((await counter.peek(key)).count, 0, 'the window ended');
      assert.equal((await counter.hit(key, 400)).count, 1, 'a new window starts');
      await counter.reset(key);
      assert.equal((await counter.peek(key)).count, 0);
    } finally {
      await close();
    }
  });

  it(`${name}: takes a hit back only within its own window, never below zero`, async () => {
    const { counter, close } = await open();
    try {
      const key = `r-${Math.random()}`;
      const first = await counter.hit(key, 400);
      const second = await counter.hit(key, 400);
      await counter.release(key, second);
      assert.equal((await counter.peek(key)).count, 1);
      await counter.release(key, first);
      await counter.release(key, first);
      assert.equal((await counter.peek(key)).count, 0, 'never below zero');
      await sleep(500);
      const next = await counter.hit(key, 400);
      assert.equal(next.count, 1, 'a new window');
      await counter.release(key, first);
      assert.equal((await counter.peek(key)).count, 1, 'a hit of an ended window is not taken from the next');
      await counter.release(key, next);
      assert.equal((await counter.peek(key)).count, 0);
    } finally {
      await close();
    }
  });
}

describe('throttling counters on each backend', () => {
  counterContract('SQLite', async () => {
    const db = new BetterSqlite3(':memory:');
    const counter = new SqliteCounter(db);
    return {
      counter,
      async close() {
        await counter.close();
        db.close();
      },
    };
  });

  if (hasRedis) {
    counterContract('Redis', async () => {
      const server = await startRedis();
      const client = createClient({ url: server.url });
      await client.connect();
      const counter = new RedisCounter(client);
      return {
        counter,
        async close() {
          await client.close();
          await server.dispose();
        },
      };
    });
  }

  if (findPostgres()) {
    counterContract('PostgreSQL', async () => {
      const server = await startPostgres();
      const pool = new pg.Pool({ connectionString: server.connectionString });
      pool.on('error', () => {});
      const counter = await PostgresCounter.open(pool);
      return {
        counter,
        async close() {
          await counter.close();
          await pool.end();
          await server.stop();
        },
      };
    });
  }
});
