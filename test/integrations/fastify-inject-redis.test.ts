/**
 * A Fastify app on the coatcheck/fastify plugin over a real Redis, driven with `fastify.inject`:
 * writes, renewals that keep a session past its idle timeout, scheduled rotation with parallel
 * requests as it falls due, and a logout that leaves no key and no working cookie.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { session } from '../../packages/coatcheck/src/fastify/index.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { SECRET } from '../support/app.js';
import { hasRedis, redisForSuite } from '../support/redis-server.js';

const IDLE_MS = 10_000;
const ROTATION_MS = 8_000;
const GRACE_MS = 3_000;

/** A cookie jar over inject, as a browser keeps it: cleared cookies are dropped. */
class InjectClient {
  readonly jar = new Map<string, string>();
  constructor(readonly app: FastifyInstance) {}
  async request(method: 'GET' | 'POST', url: string, payload?: object) {
    const cookie = [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await this.app.inject({
      method,
      url,
      ...(payload ? { payload } : {}),
      headers: cookie ? { cookie } : {},
    });
    for (const set of response.cookies) {
      const gone =
        set.value === '' || set.maxAge === 0 || (set.expires && set.expires.getTime() < Date.now());
      if (gone) this.jar.delete(set.name);
      else this.jar.set(set.name, set.value);
    }
    return response;
  }
}

for (const renewal of ['write', 'script'] as const) {
  describe(`Fastify inject on Redis (renewal: '${renewal}')`, {
    skip: !hasRedis && 'redis-server is not installed',
  }, () => {
    const redis = redisForSuite();
    const clock = { now: Date.now() };
    const prefix = `fy-${renewal}:`;
    let app: FastifyInstance;
    before(async () => {
      const now = () => clock.now;
      app = Fastify({ logger: false });
      await app.register(session, {
        secret: SECRET,
        store: new RedisStore({ client: redis.client, now, prefix, renewal }),
        now,
        warn: () => {},
        guessLimit: false,
        idleTimeoutMs: IDLE_MS,
        renewalIntervalMs: 1_000,
        rotationIntervalMs: ROTATION_MS,
        rotationGraceMs: GRACE_MS,
      });
      app.post('/login', async (request) => {
        await request.session.login(String((request.body as { user: string }).user));
        return { ok: true };
      });
      app.post('/cart', async (request) => {
        const cart = (request.session.get('cart') as string[] | undefined) ?? [];
        request.session.set('cart', [...cart, String((request.body as { item: string }).item)]);
        return { ok: true };
      });
      app.get('/me', async (request) => ({
        user: request.session.meta?.userId ?? null,
        cart: (request.session.get('cart') as string[] | undefined) ?? [],
      }));
      app.post('/logout', async (request) => {
        await request.session.logout();
        return { ok: true };
      });
      await app.ready();
    });
    after(async () => app?.close());

    const me = async (client: InjectClient) =>
      (await client.request('GET', '/me')).json() as { user: string | null; cart: string[] };
    const sessionKeys = async () => (await redis.client.keys(`${prefix}s:*`)).length;

    it('writes, renewals past the idle timeout, and a logout that leaves nothing behind', async () => {
      const client = new InjectClient(app);
      await client.request('POST', '/cart', { item: 'anon' });
      await client.request('POST', '/login', { user: 'ada' });
      await client.request('POST', '/cart', { item: 'tea' });
      // Six steps of 0.6 idle timeout each: only renewals keep it alive (3.6 idle timeouts in all).
      for (let step = 0; step < 6; step++) {
        clock.now += IDLE_MS * 0.6;
        const seen = await me(client);
        assert.equal(seen.user, 'ada', `step ${step}: still signed in`);
        assert.deepEqual(seen.cart, ['tea'], `step ${step}: the cart is kept`);
      }
      await client.request('POST', '/cart', { item: 'cake' });
      clock.now += 2_000;
      assert.deepEqual((await me(client)).cart, ['tea', 'cake']);
      const copy = new InjectClient(app);
      for (const [name, value] of client.jar) copy.jar.set(name, value);
      await client.request('POST', '/logout');
      assert.equal((await me(client)).user, null);
      assert.equal((await me(copy)).user, null, 'a copy of the cookie from before the logout is signed out');
      clock.now += GRACE_MS + 1;
      assert.equal((await me(copy)).user, null);
    });

    it('parallel requests as rotation falls due all stay signed in, and after the grace period too', async () => {
      const client = new InjectClient(app);
      await client.request('POST', '/login', { user: 'bob' });
      await client.request('POST', '/cart', { item: 'milk' });
      for (let round = 0; round < 3; round++) {
        clock.now += ROTATION_MS + 1;
        const cookie = new Map(client.jar);
        // One browser: every request carries the same cookie; the last answer's cookie is kept.
        const answers = await Promise.all(
          Array.from({ length: 8 }, async () => {
            const parallel = new InjectClient(app);
            for (const [name, value] of cookie) parallel.jar.set(name, value);
            const seen = await me(parallel);
            return { seen, jar: parallel.jar };
          }),
        );
        for (const { seen } of answers) assert.equal(seen.user, 'bob', `round ${round}: signed in`);
        const rotated = answers.find(({ jar }) =>
          [...jar].some(([name, value]) => cookie.get(name) !== value),
        );
        assert.ok(rotated, `round ${round}: a new cookie was sent`);
        for (const [name, value] of rotated.jar) client.jar.set(name, value);
        clock.now += GRACE_MS + 1;
        const after = await me(client);
        assert.equal(after.user, 'bob', `round ${round}: signed in after the grace period`);
        assert.deepEqual(after.cart, ['milk']);
        const replaced = new InjectClient(app);
        for (const [name, value] of cookie) replaced.jar.set(name, value);
        assert.equal(
          (await me(replaced)).user,
          null,
          `round ${round}: the replaced cookie is refused after the grace period`,
        );
      }
      await client.request('POST', '/logout');
      assert.equal((await me(client)).user, null);
    });

    it('a write during parallel renewals is kept', async () => {
      const client = new InjectClient(app);
      await client.request('POST', '/login', { user: 'cy' });
      clock.now += 1_500;
      await Promise.all([
        ...Array.from({ length: 6 }, () => me(client)),
        client.request('POST', '/cart', { item: 'jam' }),
        ...Array.from({ length: 6 }, () => me(client)),
      ]);
      clock.now += 1_500;
      assert.deepEqual((await me(client)).cart, ['jam']);
      const before = await sessionKeys();
      await client.request('POST', '/logout');
      assert.equal(await sessionKeys(), before - 1, "the logout removes the session's key");
    });
  });
}
