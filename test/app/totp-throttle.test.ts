import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { totpCodeAt } from '../../app/totp.js';
import type { Client } from '../support/http.js';
import { findPostgres, type PostgresServer, startPostgres } from '../support/postgres-server.js';
import { hasRedis, type RedisServer, startRedis } from '../support/redis-server.js';
import {
  type AppUnderTest,
  csrfFrom,
  enableTotp,
  fieldFrom,
  newUser,
  nextCode,
  PASSWORD,
  postForm,
  startApp,
  submit,
} from './harness.js';

/** A 6-digit code no authenticator of `secret` shows now, nor one step either side. */
function wrongCode(app: AppUnderTest, secret: string, seed: number): string {
  const now = app.clock.now();
  const valid = new Set([-30_000, 0, 30_000].map((delta) => totpCodeAt(secret, now + delta)));
  for (let n = seed; ; n++) {
    const code = String(n % 1_000_000).padStart(6, '0');
    if (!valid.has(code)) return code;
  }
}

/** The password step on `client`; returns the code page. */
async function passwordStep(client: Client, email: string): Promise<string> {
  const res = await submit(client, '/login', '/login', { email, password: PASSWORD });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/login/code');
  return (await client.get('/login/code')).text;
}

const postCode = (client: Client, page: string, code: string) =>
  postForm(client, '/login/code', { _csrf: csrfFrom(page), challenge: fieldFrom(page, 'challenge'), code });

const isWrongCode = (res: { status: number; text: string }) =>
  res.status === 401 && /That code is not right/.test(res.text);

describe('reference app: wrong authenticator codes count on their own (S41, 5 per account)', () => {
  let app: AppUnderTest;
  before(async () => {
    app = await startApp({ LOGIN_MAX_FAILURES: '5', LOGIN_MAX_FAILURES_PER_IP: '1000' });
  });
  after(() => app.close());

  it('S41 a right password between wrong sign-in codes does not clear their count', async () => {
    const secret = await enableTotp(app, await newUser(app, 'code-victim@example.com'));
    const attacker = app.client();
    const statuses: number[] = [];
    let seed = 100_000;
    for (let round = 0; round < 3; round++) {
      let page = await passwordStep(attacker, 'code-victim@example.com');
      for (let i = 0; i < 4; i++) {
        const res = await postCode(attacker, page, wrongCode(app, secret, seed++));
        statuses.push(res.status);
        page = res.text;
      }
    }
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429, 429, 429, 429, 429, 429]);
    const page = await passwordStep(attacker, 'code-victim@example.com');
    assert.equal((await postCode(attacker, page, nextCode(app, secret))).status, 429, 'even the right code');
  });

  it('S41 a right code clears the count of wrong codes', async () => {
    const secret = await enableTotp(app, await newUser(app, 'code-owner@example.com'));
    const client = app.client();
    let page = await passwordStep(client, 'code-owner@example.com');
    for (let i = 0; i < 4; i++) {
      const res = await postCode(client, page, wrongCode(app, secret, 200_000 + i));
      assert.ok(isWrongCode(res));
      page = res.text;
    }
    assert.equal((await postCode(client, page, nextCode(app, secret))).status, 303);
    await submit(client, '/dashboard', '/logout', {});
    page = await passwordStep(client, 'code-owner@example.com');
    for (let i = 0; i < 5; i++) {
      const res = await postCode(client, page, wrongCode(app, secret, 210_000 + i));
      assert.ok(isWrongCode(res), `wrong code ${i + 1} of a new count is checked`);
      page = res.text;
    }
    assert.equal((await postCode(client, page, wrongCode(app, secret, 220_000))).status, 429);
  });

  it('S41 re-entering the password does not clear the count of wrong step-up codes', async () => {
    const victim = await newUser(app, 'step-victim@example.com');
    const secret = await enableTotp(app, victim);
    const statuses: number[] = [];
    let seed = 300_000;
    for (let round = 0; round < 3; round++) {
      const reauth = await submit(victim, '/reauth', '/reauth', {
        password: PASSWORD,
        returnTo: '/dashboard',
      });
      assert.equal(reauth.status, 303);
      for (let i = 0; i < 4; i++) {
        const form = await victim.get('/step-up');
        const res = await postForm(victim, '/step-up', {
          _csrf: csrfFrom(form.text),
          challenge: fieldFrom(form.text, 'challenge'),
          returnTo: '/dashboard',
          code: wrongCode(app, secret, seed++),
        });
        statuses.push(res.status);
      }
    }
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429, 429, 429, 429, 429, 429]);
  });
});

for (const backend of ['SQLite', 'Redis', 'PostgreSQL'] as const) {
  const skip = (backend === 'Redis' && !hasRedis) || (backend === 'PostgreSQL' && !findPostgres());
  describe(`reference app on ${backend}: codes sent in parallel (S41)`, { skip }, () => {
    let app: AppUnderTest;
    let redis: RedisServer | undefined;
    let postgres: PostgresServer | undefined;
    before(async () => {
      const env: Record<string, string> = { LOGIN_MAX_FAILURES: '5', LOGIN_MAX_FAILURES_PER_IP: '1000' };
      if (backend === 'Redis') {
        redis = await startRedis();
        env.REDIS_URL = redis.url;
      }
      if (backend === 'PostgreSQL') {
        postgres = await startPostgres();
        env.DATABASE_URL = postgres.connectionString;
      }
      app = await startApp(env);
    });
    after(async () => {
      await app?.close();
      await redis?.dispose();
      await postgres?.stop();
    });

    it('S41 one challenge is checked once, however many requests carry it at the same moment', async () => {
      const secret = await enableTotp(app, await newUser(app, 'burst@example.com'));
      const attacker = app.client();
      const page = await passwordStep(attacker, 'burst@example.com');
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => postCode(attacker, page, wrongCode(app, secret, 400_000 + i))),
      );
      const checked = results.filter(isWrongCode).length;
      const refused = results.filter((r) => r.status === 401 && /has expired/.test(r.text)).length;
      assert.deepEqual({ checked, refused }, { checked: 1, refused: 39 });
    });

    it('S41 parallel codes on separate sign-ins are checked no more often than the limit', async () => {
      const secret = await enableTotp(app, await newUser(app, 'spread@example.com'));
      const attempts = [];
      for (let i = 0; i < 10; i++) {
        const client = app.client();
        attempts.push({ client, page: await passwordStep(client, 'spread@example.com') });
      }
      const results = await Promise.all(
        attempts.map(({ client, page }, i) => postCode(client, page, wrongCode(app, secret, 500_000 + i))),
      );
      const checked = results.filter(isWrongCode).length;
      const throttled = results.filter((r) => r.status === 429).length;
      assert.deepEqual({ checked, throttled }, { checked: 5, throttled: 5 });
    });
  });
}
