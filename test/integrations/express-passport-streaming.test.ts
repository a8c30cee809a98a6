/**
 * An Express 5 app with Passport 0.7 + passport-local as their documentation shows, on coatcheck
 * with a renewal due on every request, over MemoryStore and a real Redis: login, data writes,
 * `req.session.regenerate`, logout; and a streaming handler that writes several chunks and changes
 * the session between them before `res.end`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';
import { session } from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { dataOf, SECRET } from '../support/app.js';
import { Client, listen, type Running } from '../support/http.js';
import { hasRedis, redisForSuite } from '../support/redis-server.js';

interface User {
  id: string;
  password: string;
}

const USERS = new Map<string, User>([
  ['ada', { id: 'u-ada', password: 'lovelace' }],
  ['bob', { id: 'u-bob', password: 'builder' }],
]);

const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function startApp(store: SessionStore, clock: { now: number }): Promise<Running> {
  const auth = new passport.Passport();
  auth.use(
    new LocalStrategy((username, password, done) => {
      const user = USERS.get(username);
      done(null, user && user.password === password ? user : false);
    }),
  );
  auth.serializeUser((user, done) => done(null, (user as User).id));
  auth.deserializeUser((id: string, done) =>
    done(null, [...USERS.values()].find((user) => user.id === id) ?? false),
  );
  const app = express();
  app.use(express.json());
  app.use(
    session({
      secret: SECRET,
      store,
      now: () => clock.now,
      warn: () => {},
      guessLimit: false,
      renewalIntervalMs: 1,
    }),
  );
  app.use(auth.session());
  const who = (req: express.Request) => (req.user as User | undefined)?.id ?? null;
  app.post('/login', auth.authenticate('local'), (req, res) => res.json({ user: who(req) }));
  app.post('/logout', (req, res, next) =>
    req.logout((error) => (error ? next(error) : res.json({ ok: true }))),
  );
  app.post('/regenerate', (req, res, next) => {
    const before = req.sessionID;
    req.session.regenerate((error) => {
      if (error) return next(error);
      req.session.afterRegenerate = true;
      res.json({ before, after: req.sessionID });
    });
  });
  app.post('/cart', (req, res) => {
    const cart = (req.session.cart as string[] | undefined) ?? [];
    req.session.cart = [...cart, String((req.body as { item: string }).item)];
    res.json({ ok: true });
  });
  app.get('/whoami', (req, res) => res.json({ user: who(req), data: dataOf(req.session) }));
  // A streamed report: the session is changed between chunks, in later turns, then the end.
  app.get('/stream', async (req, res) => {
    res.type('text/plain');
    const steps = Number(req.query.steps ?? 4);
    const pause = Number(req.query.pause ?? 5);
    const seen: number[] = [];
    req.session.streamStarted = true;
    for (let step = 0; step < steps; step++) {
      res.write(`chunk ${step}\n`);
      seen.push(step);
      req.session.streamSteps = [...seen];
      if (pause > 0) await later(pause);
    }
    req.session.streamDone = true;
    res.end('end\n');
  });
  app.use((error: { status?: number }, _req: unknown, res: express.Response, _next: unknown) => {
    res.status(error.status ?? 500).json({ error: String(error) });
  });
  return listen(app as never);
}

function suite(name: string, makeStore: (now: () => number) => SessionStore) {
  describe(`Express 5 + Passport and a streaming handler on ${name}`, () => {
    let app: Running;
    const clock = { now: Date.now() };
    before(async () => {
      app = await startApp(
        makeStore(() => clock.now),
        clock,
      );
    });
    after(async () => app?.close());

    const login = async (client: Client, username: string, password: string) =>
      client.post('/login', { username, password });

    it('login, writes with renewals between them, regenerate and logout', async () => {
      const client = new Client(app.url);
      await client.post('/cart', { item: 'before-login' });
      const wrong = await login(client, 'ada', 'nope');
      assert.equal(wrong.status, 401);
      const ok = await login(client, 'ada', 'lovelace');
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.json(), { user: 'u-ada' });
      for (let i = 0; i < 5; i++) {
        clock.now += 1_000;
        await client.post('/cart', { item: `i${i}` });
        clock.now += 1_000;
        const me = (await client.get('/whoami')).json() as { user: string; data: { cart: string[] } };
        assert.equal(me.user, 'u-ada');
        assert.deepEqual(me.data.cart.slice(-1), [`i${i}`]);
      }
      const regenerated = (await client.post('/regenerate')).json() as { before: string; after: string };
      assert.notEqual(regenerated.after, regenerated.before, 'regenerate gives a new session');
      clock.now += 1_000;
      const afterRegenerate = (await client.get('/whoami')).json() as {
        user: string | null;
        data: Record<string, unknown>;
      };
      assert.equal(
        afterRegenerate.user,
        null,
        'regenerate drops the Passport login, as express-session does',
      );
      assert.equal(afterRegenerate.data.afterRegenerate, true, 'data set after regenerate is stored');
      assert.equal(afterRegenerate.data.cart, undefined);

      await login(client, 'ada', 'lovelace');
      const stolen = new Client(app.url);
      for (const [key, value] of client.jar) stolen.jar.set(key, value);
      clock.now += 1_000;
      assert.equal((await client.post('/logout')).status, 200);
      clock.now += 1_000;
      assert.equal(((await client.get('/whoami')).json() as { user: unknown }).user, null);
      assert.equal(
        ((await stolen.get('/whoami')).json() as { user: unknown }).user,
        null,
        'the cookie from before the logout is not signed in',
      );
    });

    it('two users renewing in parallel never see each other', async () => {
      const ada = new Client(app.url);
      const bob = new Client(app.url);
      await login(ada, 'ada', 'lovelace');
      await login(bob, 'bob', 'builder');
      await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          clock.now += 10;
          const [a, b] = await Promise.all([ada.post('/cart', { item: `a${i}` }), bob.get('/whoami')]);
          assert.equal(a.status, 200);
          assert.equal((b.json() as { user: string }).user, 'u-bob');
        }),
      );
      const adaData = (await ada.get('/whoami')).json() as { user: string; data: { cart?: string[] } };
      const bobData = (await bob.get('/whoami')).json() as { user: string; data: { cart?: string[] } };
      assert.equal(adaData.user, 'u-ada');
      assert.equal(bobData.user, 'u-bob');
      assert.equal(bobData.data.cart, undefined, "ada's cart never lands in bob's session");
      assert.ok((adaData.data.cart ?? []).length >= 1);
    });

    for (const pause of [0, 5, 50]) {
      it(`a streamed response keeps every change made between its chunks (pause ${pause} ms)`, async () => {
        const client = new Client(app.url);
        await login(client, 'ada', 'lovelace');
        clock.now += 1_000;
        const streamed = await client.get(`/stream?steps=4&pause=${pause}`);
        assert.equal(streamed.status, 200);
        assert.equal(streamed.text, 'chunk 0\nchunk 1\nchunk 2\nchunk 3\nend\n');
        clock.now += 1_000;
        const me = (await client.get('/whoami')).json() as { user: string; data: Record<string, unknown> };
        assert.equal(me.user, 'u-ada');
        assert.equal(me.data.streamStarted, true);
        assert.deepEqual(me.data.streamSteps, [0, 1, 2, 3], 'the last change before end is stored');
        assert.equal(me.data.streamDone, true, 'the change right before end is stored');
      });
    }

    it('a streamed response on a new, anonymous session stores its data and sets the cookie', async () => {
      const client = new Client(app.url);
      const streamed = await client.get('/stream?steps=3&pause=5');
      assert.equal(streamed.text, 'chunk 0\nchunk 1\nchunk 2\nend\n');
      assert.ok(client.jar.size > 0, 'a cookie was set on a streamed response');
      const me = (await client.get('/whoami')).json() as { data: Record<string, unknown> };
      assert.deepEqual(me.data.streamSteps, [0, 1, 2]);
      assert.equal(me.data.streamDone, true);
    });
  });
}

suite('MemoryStore', () => new MemoryStore());

describe('on a real Redis', { skip: !hasRedis && 'redis-server is not installed' }, () => {
  const redis = redisForSuite();
  suite('RedisStore', (now) => new RedisStore({ client: redis.client, now }));
});
