import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import pg from 'pg';
import { createClient } from 'redis';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';
import { session } from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { PostgresStore } from '../../packages/coatcheck/src/stores/postgres.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { SqliteStore } from '../../packages/coatcheck/src/stores/sqlite.js';
import { dataOf, SECRET } from '../support/app.js';
import { Client, listen, type Running } from '../support/http.js';
import { findPostgres, type PostgresServer, startPostgres } from '../support/postgres-server.js';
import { hasRedis, type RedisServer, startRedis } from '../support/redis-server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The routes a real app has, with the delays that open the races. */
async function startApp(store: SessionStore): Promise<Running> {
  const app = express();
  app.use(express.json());
  app.use(session({ secret: SECRET, store, warn: () => {}, guessLimit: false }));
  app.post('/login', async (req, res) => {
    await req.session.login('alice');
    req.session.user = 'alice';
    req.session.hits = 0;
    res.json({ ok: true });
  });
  app.post('/logout', async (req, res) => {
    await req.session.logout();
    res.json({ ok: true });
  });
  app.get('/me', (req, res) => {
    res.status(req.session.meta?.userId ? 200 : 401).json({ data: dataOf(req.session) });
  });
  // The handler keeps working on the session it loaded, then saves it explicitly.
  app.post('/slow-save', async (req, res) => {
    const loadedUser = req.session.user ?? null;
    req.session.hits = Number(req.session.hits) + 1;
    await sleep(300);
    await req.session.save();
    res.json({ loadedUser, data: dataOf(req.session) });
  });
  // Writes at the end of the request, as most handlers do.
  app.post('/slow-write', async (req, res) => {
    await sleep(300);
    req.session.note = 'late';
    res.json({ ok: true });
  });
  app.post('/slow-reload', async (req, res) => {
    await sleep(300);
    const outcomes: string[] = [];
    for (let i = 0; i < 2; i++) {
      try {
        await req.session.reload();
        outcomes.push('resolved');
      } catch {
        outcomes.push('rejected');
      }
    }
    const data = dataOf(req.session);
    req.session.after = 'reload';
    await req.session.save();
    res.json({ outcomes, data });
  });
  app.post('/regenerate', async (req, res) => {
    await new Promise<void>((resolve, reject) => req.session.regenerate((e) => (e ? reject(e) : resolve())));
    res.json({ ok: true });
  });
  app.use((error: Error, _req: unknown, res: express.Response, _next: unknown) => {
    res.status(500).json({ error: error.message });
  });
  return listen(app as never);
}

const tokenCookies = (setCookies: string[]) => setCookies.filter((line) => /^id=[^;]/.test(line));
const clearing = (setCookies: string[]) => setCookies.filter((line) => /Max-Age=0/i.test(line));

interface StoreCase {
  name: string;
  open(): Promise<SessionStore>;
  skip?: string | false;
}

let redis: RedisServer | undefined;
let postgres: PostgresServer | undefined;
const closers: Array<() => Promise<unknown>> = [];
const hasPostgres = findPostgres() !== null;

before(async () => {
  if (hasRedis) redis = await startRedis();
  if (hasPostgres) postgres = await startPostgres();
});
after(async () => {
  for (const close of closers.reverse()) await close();
  await redis?.dispose();
  await postgres?.stop();
});

const stores: StoreCase[] = [
  { name: 'memory', open: async () => new MemoryStore() },
  { name: 'sqlite', open: async () => new SqliteStore({ path: ':memory:' }) },
  {
    name: 'redis',
    skip: !hasRedis && 'redis-server is not installed',
    async open() {
      const client = createClient({ url: redis!.url });
      await client.connect();
      closers.push(() => client.close());
      return new RedisStore({ client, prefix: `ended:${Math.random()}:` });
    },
  },
  {
    name: 'postgres',
    skip: !hasPostgres && 'postgres is not installed',
    async open() {
      const pool = new pg.Pool({ connectionString: await postgres!.createDatabase(`e${Date.now()}`) });
      closers.push(() => pool.end());
      return new PostgresStore({ pool, pruneIntervalMs: 0 });
    },
  },
];

for (const { name, open, skip } of stores) {
  describe(`a session that has ended stays ended (${name})`, { skip: skip ?? false }, () => {
    let app: Running;
    before(async () => {
      app = await startApp(await open());
    });
    after(() => app.close());

    it('S29 save() after a logout that raced it writes nothing into a new session', async () => {
      // Under load the logout may overtake the slow request's load; only runs where the slow request
      // loaded alice's session test the race, so try until one does.
      let raced = 0;
      for (let attempt = 0; attempt < 5 && raced === 0; attempt++) {
        const client = new Client(app.url);
        await client.post('/login');
        const old = client.jar.get('id');
        const slow = client.post('/slow-save');
        await sleep(50);
        const out = await new Client(app.url, { cookie: `id=${old}` }).post('/logout');
        assert.equal(out.status, 200);
        const response = await slow;
        assert.equal(response.status, 200);
        const body = response.json() as { loadedUser: string | null; data: unknown };
        if (body.loadedUser !== 'alice') continue;
        raced++;
        assert.deepEqual(tokenCookies(response.setCookies), [], 'no new token for the logged-out data');
        assert.deepEqual(body.data, {}, 'req.session was emptied');
        // The old token stays dead, and nothing of alice's lives on under any cookie.
        const replay = await new Client(app.url, { cookie: `id=${old}` }).get('/me');
        assert.equal(replay.status, 401);
        assert.deepEqual((replay.json() as { data: unknown }).data, {});
      }
      assert.equal(raced, 1, 'the slow request never loaded the session before the logout');
    });

    it('reload() of a session ended elsewhere fails every time, empties req.session, and a later save stores nothing', async () => {
      const client = new Client(app.url);
      await client.post('/login');
      const cookie = client.jar.get('id');
      const slow = client.post('/slow-reload');
      await sleep(50);
      await new Client(app.url, { cookie: `id=${cookie}` }).post('/logout');
      const raced = await slow;
      assert.deepEqual(raced.json(), { outcomes: ['rejected', 'rejected'], data: {} });
      assert.deepEqual(tokenCookies(raced.setCookies), []);
    });

    it('a request that raced a login rotation never clears the browser’s new cookie', async () => {
      const client = new Client(app.url);
      await client.post('/login');
      const slow = client.post('/slow-write');
      await sleep(50);
      await client.post('/login'); // a second tab signs in again: C0 -> C1, the jar now holds C1
      const fresh = client.jar.get('id');
      const raced = await slow;
      assert.equal(raced.status, 200);
      assert.deepEqual(clearing(raced.setCookies), [], 'the raced response expired the cookie');
      assert.deepEqual(tokenCookies(raced.setCookies), []);
      assert.equal(client.jar.get('id'), fresh);
      assert.equal((await client.get('/me')).status, 200);
    });

    it('two tabs calling regenerate() at the same moment never get a 500', async () => {
      for (let round = 0; round < 10; round++) {
        const client = new Client(app.url);
        await client.post('/login');
        const cookie = `id=${client.jar.get('id')}`;
        const tabs = await Promise.all([
          new Client(app.url, { cookie }).post('/regenerate'),
          new Client(app.url, { cookie }).post('/regenerate'),
        ]);
        assert.deepEqual(
          tabs.map((tab) => tab.status),
          [200, 200],
          tabs.map((tab) => tab.text).join(' / '),
        );
        assert.equal((await new Client(app.url, { cookie }).get('/me')).status, 401, 'the old token died');
      }
    });
  });
}
