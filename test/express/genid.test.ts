import assert from 'node:assert/strict';
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import express from 'express';
import expressSession from 'express-session';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';
import { session } from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { PostgresStore } from '../../packages/coatcheck/src/stores/postgres.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { SqliteStore } from '../../packages/coatcheck/src/stores/sqlite.js';
import { SECRET, startTestApp } from '../support/app.js';
import { Client, listen } from '../support/http.js';
import { findPostgres, startPostgres } from '../support/postgres-server.js';
import { connectRedis, hasRedis, startRedis } from '../support/redis-server.js';

/** IDs an application might make: UUID-like, prefixed, and ones full of cookie-unsafe characters. */
const IDS = [
  '0b6f9c1e-3f7a-4c8e-9d2b-5a1e7c3f9b20',
  'user:42/device 7',
  's:looks-like-express-session',
  'semi;colon,comma "quoted" back\\slash = equals %41',
  'ünïcödé 🍪 セッション',
  'a',
  'x'.repeat(256),
];

function sequence(ids: readonly string[]) {
  let next = 0;
  return () => ids[next++ % ids.length]!;
}

describe('genid: any string it returns is the session ID', () => {
  const stores: [string, () => Promise<{ store: SessionStore; stop(): Promise<void> }>, string | false][] = [
    ['MemoryStore', async () => ({ store: new MemoryStore(), stop: async () => {} }), false],
    [
      'SqliteStore',
      async () => ({ store: new SqliteStore({ path: ':memory:' }), stop: async () => {} }),
      false,
    ],
    [
      'RedisStore',
      async () => {
        const server = await startRedis();
        const { client, close } = await connectRedis('node-redis', server);
        return {
          store: new RedisStore({ client }),
          stop: async () => {
            await close();
            await server.dispose();
          },
        };
      },
      !hasRedis && 'redis-server is not installed',
    ],
    [
      'PostgresStore',
      async () => {
        const server = await startPostgres();
        const store = new PostgresStore({ connectionString: server.connectionString, pruneIntervalMs: 0 });
        return { store, stop: () => server.stop() };
      },
      !findPostgres() && 'postgres is not installed',
    ],
  ];
  for (const [name, start, skip] of stores) {
    it(`req.sessionID and req.session.id are exactly genid's string, the ${name} keys the record by it, the cookie brings it back`, {
      skip,
    }, async () => {
      const { store, stop } = await start();
      const app = await startTestApp(store, { genid: sequence(IDS) });
      try {
        for (const id of IDS) {
          const c = new Client(app.url);
          const created = await c.post('/set', { note: id.slice(0, 10) });
          assert.equal(created.setCookies.length, 1, id);
          const value = c.jar.get('id')!;
          assert.match(value, /^[!#-+\--:<-[\]-~]+$/, 'only RFC 6265 cookie-octets');
          assert.ok(value.startsWith(`${encodeURIComponent(id)}.`), value);
          const peek = (await c.get('/peek')).json() as {
            id: string;
            data: { note: string };
            meta: { handle: string };
          };
          assert.equal(peek.id, id);
          assert.equal(peek.meta.handle, id);
          assert.equal(peek.data.note, id.slice(0, 10));
          const record = await store.get(id);
          assert.equal(record?.handle, id);
        }
      } finally {
        await app.close();
        await store.close();
        await stop();
      }
    });
  }

  it('matches express-session: req.sessionID and req.session.id are what genid returned', async () => {
    const seen = async (middleware: unknown) => {
      const app = express();
      app.use(middleware as express.RequestHandler);
      app.get('/', (req, res) => {
        req.session.touched = true;
        res.json({ sessionID: req.sessionID, id: req.session.id });
      });
      const running = await listen(app as never);
      const answers: unknown[] = [];
      for (let i = 0; i < IDS.length; i++) answers.push((await new Client(running.url).get('/')).json());
      await running.close();
      return answers;
    };
    const ours = await seen(
      session({ secret: SECRET, store: new MemoryStore(), warn: () => {}, genid: sequence(IDS) }),
    );
    const theirs = await seen(
      expressSession({ secret: SECRET, resave: false, saveUninitialized: false, genid: sequence(IDS) }),
    );
    assert.deepEqual(ours, theirs);
    assert.deepEqual(
      ours.map((answer) => (answer as { id: string }).id),
      IDS,
    );
  });

  it('rotation calls genid again, and device lists and revocation work with such handles', async () => {
    const app = await startTestApp(new MemoryStore(), {
      genid: sequence(['pre login/1', 'signed in/2', 'other;3']),
    });
    const c = new Client(app.url);
    await c.post('/set', { a: 1 });
    await c.post('/login', { userId: 'alice' });
    assert.equal(((await c.get('/me')).json() as { handle: string }).handle, 'signed in/2');
    const other = new Client(app.url);
    await other.post('/login', { userId: 'alice' });
    const list = (await c.get('/sessions')).json() as { handle: string }[];
    assert.deepEqual(list.map((s) => s.handle).sort(), ['other;3', 'signed in/2']);
    assert.equal(
      (await c.request(`/sessions/${encodeURIComponent('other;3')}`, { method: 'DELETE' })).status,
      204,
    );
    assert.equal((await other.get('/me')).status, 401);
    assert.equal((await c.get('/me')).status, 200);
    await app.close();
  });

  it('the MAC covers the handle as stored: another encoding or another handle is refused', async () => {
    const app = await startTestApp(new MemoryStore(), { genid: () => 'user 42' });
    const c = new Client(app.url);
    await c.post('/login', { userId: 'alice' });
    const value = c.jar.get('id')!;
    const [, secret, mac] = /^(?:.+)\.([^.]+)\.([^.]+)$/.exec(value)! as unknown as [string, string, string];
    const key = Buffer.from(hkdfSync('sha256', SECRET, 'coatcheck', 'cookie-mac', 32));
    const sign = (handle: string) =>
      createHmac('sha256', key).update(`${handle}.${secret}`).digest('base64url');
    assert.equal(sign('user 42'), mac, 'the MAC is over the decoded handle');
    for (const variant of [
      `user+42.${secret}.${mac}`,
      `user%2042.${secret}.${mac}`.replace('%20', '%2520'),
      `%75ser%2042.${secret}.${mac}`,
      `user%2043.${secret}.${mac}`,
    ]) {
      assert.equal((await new Client(app.url).get('/me', { cookie: `id=${variant}` })).status, 401, variant);
    }
    assert.equal((await c.get('/me')).status, 200);
    await app.close();
  });
});

describe('genid results that cannot name a session fail in a defined way', () => {
  const hostile: [string, () => unknown][] = [
    ['an empty string', () => ''],
    ['a number', () => 42],
    ['undefined', () => undefined],
    [
      'a throw',
      () => {
        throw new Error('id service down');
      },
    ],
    ['a newline (would forge log lines)', () => 'a\nb'],
    ['a lone surrogate', () => 'x\ud800'],
    ['257 characters', () => 'x'.repeat(257)],
    ['86 three-byte characters (258 once encoded)', () => 'セ'.repeat(86)],
  ];
  for (const [name, genid] of hostile) {
    it(`${name}: reading req.sessionID is a SessionStateError; storing answers 5xx, sets no cookie, stores nothing`, async () => {
      const store = new MemoryStore();
      const warnings: string[] = [];
      const app = await startTestApp(store, { genid: genid as () => string, warn: (m) => warnings.push(m) });
      const read = await new Client(app.url).get('/peek');
      assert.equal(read.status, 500);
      assert.deepEqual(read.json(), { error: 'SESSION_STATE' });
      const write = await new Client(app.url).post('/set', { a: 1 });
      assert.ok(write.status >= 500, String(write.status));
      assert.deepEqual(write.setCookies, []);
      assert.equal(store.size, 0);
      const fine = await new Client(app.url).get('/me');
      assert.equal(fine.status, 401, 'the process keeps serving');
      await app.close();
    });
  }

  it('genid that is not a function is refused at start-up', () => {
    assert.throws(
      () => session({ secret: SECRET, store: new MemoryStore(), genid: 'uuid' as never }),
      (error: unknown) => (error as { option?: string }).option === 'genid',
    );
  });

  it('the default handle stays 128 random bits of base64url', async () => {
    const app = await startTestApp(new MemoryStore());
    const c = new Client(app.url);
    await c.post('/set', { a: 1 });
    const [handle] = c.jar.get('id')!.split('.');
    assert.equal(Buffer.from(handle!, 'base64url').length, 16);
    assert.notEqual(handle, randomBytes(16).toString('base64url'));
    await app.close();
  });
});
