import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { PostgresStore } from '../../packages/coatcheck/src/stores/postgres.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { startTestApp } from '../support/app.js';
import { Client } from '../support/http.js';
import { findPostgres, type PostgresServer, startPostgres } from '../support/postgres-server.js';
import { connectRedis, hasRedis, type RedisServer, startRedis } from '../support/redis-server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const IDLE_MS = 1_500;
const guessLimit = { max: 20, windowMs: 60_000 };
/** A well-formed token this server never signed (bad MAC). */
const forged = (i: number) =>
  `${'A'.repeat(20)}${String(i).padStart(2, '0')}.${'B'.repeat(43)}.${'C'.repeat(43)}`;

/**
 * Issue 14's repro: users behind one address sign in, come back after the idle timeout with the
 * cookie they still hold, and post the sign-in form. Real time, so Redis really drops the keys.
 */
async function returningUsers(store: SessionStore) {
  const app = await startTestApp(store, { guessLimit, idleTimeoutMs: IDLE_MS, now: Date.now });
  try {
    const users = Array.from({ length: 40 }, () => new Client(app.url));
    for (const [i, user] of users.entries()) {
      assert.equal((await user.post('/login', { userId: `user${i}` })).status, 200);
    }
    const stale = users.map((user) => user.cookieHeader);
    await sleep(IDLE_MS + 300);
    const page = await Promise.all(stale.map((cookie) => new Client(app.url).get('/peek', { cookie })));
    const login = await Promise.all(
      stale.map((cookie, i) => new Client(app.url).post('/login', { userId: `user${i}` }, { cookie })),
    );
    return { app, page, login, stale };
  } catch (error) {
    await app.close();
    throw error;
  }
}

function assertNobodyLockedOut({ page, login, stale }: Awaited<ReturnType<typeof returningUsers>>) {
  const statuses = (responses: { status: number }[]) =>
    responses.reduce<Record<number, number>>((counts, r) => {
      counts[r.status] = (counts[r.status] ?? 0) + 1;
      return counts;
    }, {});
  assert.deepEqual(statuses(page), { 200: 40 }, 'the sign-in page');
  assert.deepEqual(statuses(login), { 200: 40 }, 'POST /login');
  for (const response of page) assert.match(response.setCookies.join('\n'), /^id=; Max-Age=0;/m);
  for (const [i, response] of login.entries()) {
    const issued = /^id=([^;]+)/.exec(response.setCookies.join('\n'))?.[1];
    assert.ok(issued && `id=${issued}` !== stale[i], 'signed in with a new session');
  }
}

describe('S44 returning users are not taken for guessers', () => {
  it('memory: 40 returning users behind one address all reach the sign-in page and sign in', async () => {
    const result = await returningUsers(new MemoryStore());
    await result.app.close();
    assertNobodyLockedOut(result);
  });

  describe('redis', { skip: !hasRedis && 'redis-server is not installed' }, () => {
    let redis: RedisServer;
    before(async () => {
      redis = await startRedis();
    });
    after(() => redis?.dispose());

    for (const kind of ['node-redis', 'ioredis'] as const) {
      it(`${kind}: 40 users whose sessions Redis dropped all answer 200 with a cleared cookie`, async () => {
        const { client, close } = await connectRedis(kind, redis);
        const result = await returningUsers(new RedisStore({ client, prefix: `lockout-${kind}:` }));
        await result.app.close();
        await close();
        assertNobodyLockedOut(result);
        assert.equal(result.app.events.filter((e) => e.type === 'security.session_bruteforce').length, 0);
      });
    }

    it('after Redis lost its data, every returning user still gets in', async () => {
      const { client, close } = await connectRedis('ioredis', redis);
      const app = await startTestApp(new RedisStore({ client, prefix: 'flushed:' }), { guessLimit });
      try {
        const users = Array.from({ length: 60 }, () => new Client(app.url));
        for (const [i, user] of users.entries()) await user.post('/login', { userId: `u${i}` });
        await redis.cli('FLUSHALL');
        const statuses = await Promise.all(users.map(async (user) => (await user.get('/peek')).status));
        assert.deepEqual(new Set(statuses), new Set([200]));
        assert.ok(
          users.every((user) => user.jar.size === 0),
          'every stale cookie cleared',
        );
      } finally {
        await app.close();
        await close();
      }
    });
  });

  describe('postgres', { skip: !findPostgres() && 'postgres is not installed' }, () => {
    let server: PostgresServer;
    before(async () => {
      server = await startPostgres();
    });
    after(() => server?.stop());

    it('40 users whose sessions expired all answer 200 with a cleared cookie', async () => {
      const pool = new pg.Pool({ connectionString: server.connectionString, max: 10 });
      const result = await returningUsers(new PostgresStore({ pool, pruneIntervalMs: 0 }));
      await result.app.close();
      await pool.end();
      assertNobodyLockedOut(result);
    });
  });
});

describe('S44 a throttled request', () => {
  it('gets 429 with its cookie cleared, and the next request reaches the sign-in page', async () => {
    const app = await startTestApp(new MemoryStore(), { guessLimit });
    try {
      for (let i = 0; i < 20; i++) {
        assert.equal((await new Client(app.url).get('/me', { cookie: `id=${forged(i)}` })).status, 401);
      }
      // A neighbour behind the same address whose browser holds a cookie this server did not sign.
      const neighbour = new Client(app.url);
      neighbour.jar.set('id', forged(99));
      const throttled = await neighbour.get('/peek');
      assert.equal(throttled.status, 429);
      assert.equal(throttled.headers.get('retry-after'), '60');
      assert.match(throttled.setCookies.join('\n'), /^id=; Max-Age=0;/m);
      assert.equal(neighbour.jar.size, 0);
      assert.equal((await neighbour.get('/peek')).status, 200, 'the sign-in page');
      assert.equal((await neighbour.post('/login', { userId: 'neighbour' })).status, 200);
      assert.equal((await neighbour.get('/me')).status, 200);
    } finally {
      await app.close();
    }
  });

  it('counts only cookies whose MAC fails: unknown sessions this server signed are not guesses', async () => {
    const app = await startTestApp(new MemoryStore(), { guessLimit });
    try {
      const stale: string[] = [];
      for (let i = 0; i < 30; i++) {
        const user = new Client(app.url);
        await user.post('/login', { userId: `u${i}` });
        stale.push(user.cookieHeader);
        await user.post('/logout');
      }
      const statuses = await Promise.all(
        stale.map(async (cookie) => (await new Client(app.url).get('/me', { cookie })).status),
      );
      assert.deepEqual(new Set(statuses), new Set([401]));
      assert.equal(app.events.filter((e) => e.type === 'security.session_bruteforce').length, 0);
    } finally {
      await app.close();
    }
  });
});
