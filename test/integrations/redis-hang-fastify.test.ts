/**
 * Fastify (inject) on RedisStore over node-redis: while redis-server is stopped (SIGSTOP) requests
 * answer 503; after SIGCONT the same session works and store.recovered fires once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import type { SessionEvent } from '../../packages/coatcheck/src/core/events.js';
import { session } from '../../packages/coatcheck/src/fastify/index.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { SECRET } from '../support/app.js';
import { hasRedis, redisForSuite } from '../support/redis-server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Fastify on Redis while Redis hangs', { skip: !hasRedis && 'redis-server is not installed' }, () => {
  const redis = redisForSuite();

  it('answers 503 during the hang and serves the same session after it', async () => {
    const app = Fastify({ logger: false });
    const events: SessionEvent[] = [];
    await app.register(session, {
      secret: SECRET,
      store: new RedisStore({ client: redis.client, prefix: 'hang-fastify:' }),
      warn: () => {},
      guessLimit: false,
      storeTimeoutMs: 300,
    });
    (app as unknown as { sessionEngine: { on(l: (e: SessionEvent) => void): void } }).sessionEngine.on((e) =>
      events.push(e),
    );
    app.post('/login', async (request) => {
      await request.session.login('u-ann');
      return { ok: true };
    });
    app.get('/me', async (request) => ({
      user: request.session.meta?.userId ?? null,
      id: request.session.id,
    }));
    try {
      const login = await app.inject({ method: 'POST', url: '/login' });
      assert.equal(login.statusCode, 200);
      const cookie = login.cookies.map((k) => `${k.name}=${k.value}`).join('; ');
      const before = (await app.inject({ method: 'GET', url: '/me', headers: { cookie } })).json();
      assert.equal(before.user, 'u-ann');

      process.kill(redis.server.pid, 'SIGSTOP');
      let statuses: number[];
      try {
        const rs = await Promise.all(
          [1, 2, 3].map(() => app.inject({ method: 'GET', url: '/me', headers: { cookie } })),
        );
        statuses = rs.map((r) => r.statusCode);
      } finally {
        process.kill(redis.server.pid, 'SIGCONT');
      }
      assert.deepEqual(statuses, [503, 503, 503]);
      assert.ok(events.some((e) => e.type === 'store.error'));
      await sleep(200);
      const after = (await app.inject({ method: 'GET', url: '/me', headers: { cookie } })).json();
      assert.equal(after.user, 'u-ann');
      assert.equal(after.id, before.id);
      await sleep(1_300);
      assert.equal((await app.inject({ method: 'GET', url: '/me', headers: { cookie } })).statusCode, 200);
      assert.equal(events.filter((e) => e.type === 'store.recovered').length, 1);
    } finally {
      await app.close();
    }
  });
});
