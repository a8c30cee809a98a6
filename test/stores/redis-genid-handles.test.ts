import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { Clock } from '../support/app.js';
import { type GatedApp, ROTATION_OPTIONS, startGatedApp } from '../support/gated-app.js';
import { Client } from '../support/http.js';
import { type ClientKind, type Connection, hasRedis, redisFleetForSuite } from '../support/redis-server.js';

const SECOND = 1000;
const handleOf = (cookie: string) => decodeURIComponent(cookie.split('.')[0]!);

const ROTATION = ROTATION_OPTIONS;

const KINDS: ClientKind[] = ['node-redis', 'ioredis'];

for (const topology of ['standalone', 'Cluster'] as const) {
  describe(`genid handles already in use, and default handles under parallel logins (${topology})`, {
    skip: !hasRedis && 'redis-server is not installed',
  }, () => {
    const redis = redisFleetForSuite(topology, KINDS);

    /**
     * Two instances, one per driver, whose `genid` returns whatever the test last put in `next`:
     * an application deriving IDs from something that can repeat (a per-process counter, a request
     * header, a clock) hands out a handle another session already has.
     */
    async function startPair(options: Record<string, unknown> = {}) {
      const clock = new Clock();
      const prefix = `g${Math.random().toString(36).slice(2)}:`;
      const ids = { next: 'unset' };
      const apps: GatedApp[] = [];
      for (const connection of redis.connections) {
        const store = new RedisStore({
          client: (connection as Connection<never>).client,
          prefix,
          now: clock.now,
        });
        apps.push(await startGatedApp(store, clock, { ...options, genid: () => ids.next }));
      }
      return { clock, ids, apps: apps as [GatedApp, GatedApp] };
    }

    async function userOf(browser: Client): Promise<{ status: number; userId: unknown }> {
      const res = await browser.get('/me');
      return {
        status: res.status,
        userId: res.status === 200 ? (res.json() as { userId: unknown }).userId : null,
      };
    }

    it("a scheduled rotation whose genid handle is another user's live session never serves that session", async () => {
      const { clock, ids, apps } = await startPair(ROTATION);
      const seen: { status: number; userId: unknown }[] = [];
      try {
        const alice = new Client(apps[0].url);
        ids.next = 'alice-1';
        assert.equal((await alice.post('/login', { userId: 'alice' })).status, 200);
        clock.advance(121 * SECOND);
        const bob = new Client(apps[1].url);
        ids.next = 'bob-1';
        assert.equal((await bob.post('/login', { userId: 'bob' })).status, 200);
        assert.equal(handleOf(bob.jar.get('id')!), 'bob-1');
        // Alice's rotation is due; genid now repeats Bob's handle.
        ids.next = 'bob-1';
        seen.push(await userOf(alice));
        ids.next = 'alice-2';
        clock.advance(2 * SECOND);
        seen.push(await userOf(alice));
        seen.push(await userOf(bob));
      } finally {
        for (const app of apps) await app.close();
      }
      assert.deepEqual(
        seen.map((answer, i) => (i < 2 ? answer.userId !== 'bob' : answer.userId)),
        [true, true, 'bob'],
        `answers: ${JSON.stringify(seen)}`,
      );
    });

    it('a scheduled rotation whose genid handle is taken keeps the user signed in', async () => {
      const { clock, ids, apps } = await startPair(ROTATION);
      const seen: { status: number; userId: unknown }[] = [];
      try {
        const alice = new Client(apps[0].url);
        ids.next = 'alice-1';
        await alice.post('/login', { userId: 'alice' });
        clock.advance(121 * SECOND);
        const bob = new Client(apps[1].url);
        ids.next = 'bob-1';
        await bob.post('/login', { userId: 'bob' });
        // genid repeats once, then gives a free handle: express-session calls genid again on a clash.
        let calls = 0;
        Object.defineProperty(ids, 'next', {
          get: () => (calls++ === 0 ? 'bob-1' : `alice-${calls + 1}`),
          configurable: true,
        });
        seen.push(await userOf(alice));
        clock.advance(2 * SECOND);
        seen.push(await userOf(alice));
      } finally {
        for (const app of apps) await app.close();
      }
      assert.deepEqual(seen, [
        { status: 200, userId: 'alice' },
        { status: 200, userId: 'alice' },
      ]);
    });

    it("a login whose genid handle is another user's session never signs into that session, and leaves it alone", async () => {
      const { ids, apps } = await startPair();
      const seen: Record<string, unknown> = {};
      try {
        const alice = new Client(apps[0].url);
        ids.next = 'shared-1';
        await alice.post('/login', { userId: 'alice' });
        await alice.post('/set', { secret: 'alice-only' });
        // Bob: a fresh browser, then one with an anonymous session, both given Alice's handle.
        for (const [name, anonymous] of [
          ['fresh', false],
          ['anonymous', true],
        ] as const) {
          const bob = new Client(apps[1].url);
          if (anonymous) {
            ids.next = `anon-${name}`;
            await bob.post('/set', { cart: 1 });
          }
          ids.next = 'shared-1';
          const login = await bob.post('/login', { userId: 'bob' });
          const me = await bob.get('/me');
          seen[name] = {
            login: login.status,
            holdsAliceHandle: bob.jar.has('id') && handleOf(bob.jar.get('id')!) === 'shared-1',
            me: me.status === 200 ? (me.json() as { userId: string; data: unknown }) : me.status,
          };
        }
        const aliceMe = await alice.get('/me');
        seen.alice = aliceMe.json();
      } finally {
        for (const app of apps) await app.close();
      }
      for (const name of ['fresh', 'anonymous']) {
        const answer = seen[name] as { holdsAliceHandle: boolean; me: unknown };
        assert.equal(answer.holdsAliceHandle, false, `${name}: ${JSON.stringify(answer)}`);
        if (typeof answer.me === 'object') {
          assert.equal((answer.me as { userId: string }).userId, 'bob', `${name}: ${JSON.stringify(answer)}`);
          assert.equal(JSON.stringify(answer.me).includes('alice-only'), false);
        }
      }
      assert.deepEqual(seen.alice, { userId: 'alice', handle: 'shared-1', data: { secret: 'alice-only' } });
    });

    it('an anonymous session whose genid handle is taken gets its own record, never the other one', async () => {
      const { ids, apps } = await startPair();
      const answers: unknown[] = [];
      try {
        const first = new Client(apps[0].url);
        ids.next = 'cart-1';
        await first.post('/set', { owner: 'first' });
        let calls = 0;
        Object.defineProperty(ids, 'next', {
          get: () => (calls++ === 0 ? 'cart-1' : `cart-${calls + 1}`),
          configurable: true,
        });
        const second = new Client(apps[1].url);
        await second.post('/set', { owner: 'second' });
        answers.push(handleOf(second.jar.get('id') ?? 'none.x'));
        const firstPeek = (await first.get('/me')).status;
        answers.push(firstPeek);
      } finally {
        for (const app of apps) await app.close();
      }
      // /me needs a signed-in user: both are anonymous (401); the handles differ.
      assert.notEqual(answers[0], 'cart-1');
      assert.equal(answers[1], 401);
    });

    it('with the default handles, 200 users signing in at once on two instances each get their own session', async () => {
      const clock = new Clock();
      const prefix = `p${Math.random().toString(36).slice(2)}:`;
      const apps: GatedApp[] = [];
      const stores: RedisStore[] = [];
      for (const connection of redis.connections) {
        const store = new RedisStore({
          client: (connection as Connection<never>).client,
          prefix,
          now: clock.now,
        });
        stores.push(store);
        apps.push(await startGatedApp(store, clock));
      }
      const wrong: string[] = [];
      try {
        const users = Array.from({ length: 200 }, (_, i) => `user-${i}`);
        const browsers = users.map((_, i) => new Client(apps[i % apps.length]!.url));
        // Half of them already hold an anonymous session (a cart) when they sign in.
        await Promise.all(browsers.map((b, i) => (i % 2 ? b.post('/set', { cart: i }) : Promise.resolve())));
        const logins = await Promise.all(browsers.map((b, i) => b.post('/login', { userId: users[i] })));
        const handles = new Set<string>();
        await Promise.all(
          browsers.map(async (b, i) => {
            if (logins[i]!.status !== 200) wrong.push(`${users[i]}: login ${logins[i]!.status}`);
            const me = await b.get('/me');
            const body = me.status === 200 ? (me.json() as { userId: string; handle: string }) : null;
            if (body?.userId !== users[i]) wrong.push(`${users[i]}: /me ${me.status} ${body?.userId}`);
            if (body) handles.add(body.handle);
            const listed = await stores[0]!.listByUser(users[i]!);
            if (listed.length !== 1) wrong.push(`${users[i]}: ${listed.length} sessions listed`);
          }),
        );
        if (handles.size !== users.length) wrong.push(`${handles.size} distinct handles`);
      } finally {
        for (const app of apps) await app.close();
      }
      assert.deepEqual(wrong, []);
    });
  });
}
