/**
 * Sessions on bare node:http (the engine used directly) whose handlers never read the stored data,
 * replace it wholesale, or change it around rotations, logins and logouts: what the store keeps
 * afterwards must be exactly what the application left, whether the data was parsed or not.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createSessionEngine } from '../../packages/coatcheck/src/core/engine.js';
import type { SessionState } from '../../packages/coatcheck/src/core/lifecycle/state.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SqliteStore } from '../../packages/coatcheck/src/stores/sqlite.js';
import { SECRET } from '../support/app.js';
import { Client, listen, type Running } from '../support/http.js';

type Route = (state: SessionState) => Promise<void> | void;

for (const kind of ['memory', 'sqlite'] as const) {
  describe(`node:http on the engine, ${kind} store: data the handler never read`, () => {
    const store = kind === 'memory' ? new MemoryStore() : new SqliteStore({ path: ':memory:' });
    const engine = createSessionEngine({ store, secret: SECRET, warn: () => {} });
    let running: Running;

    const routes: Record<string, Route> = {
      '/seed': (state) => {
        state.data.cart = ['apple'];
        state.data.prefs = { theme: 'dark' };
      },
      '/idle': () => {},
      '/replace': (state) => {
        state.data = { replaced: true };
      },
      '/nested': (state) => {
        (state.data.prefs as { theme: string }).theme = 'light';
      },
      '/login-keep': (state) => engine.login(state, 'bob', { keep: true }),
      '/login-drop': (state) => engine.login(state, 'bob', { keep: false }),
      '/step-up': (state) => engine.stepUp(state, 2),
      '/rotate-keep': (state) => engine.rotate(state, { keepData: true }),
      '/regenerate-then-write': async (state) => {
        await engine.rotate(state);
        state.data.after = 'regenerate';
      },
      '/logout-then-write': async (state) => {
        await engine.logout(state);
        state.data.flash = 'bye';
      },
      '/logout': (state) => engine.logout(state),
      '/passport-login': (state) => {
        state.data = { ...state.data, passport: { user: 'alice' } };
      },
      '/passport-logout-by-replace': (state) => {
        state.data = {};
      },
      '/write-after-commit': () => {},
      '/user': () => {},
    };

    before(async () => {
      async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
        const state = await engine.load({ cookieHeader: req.headers.cookie, secure: false, ip: '127.0.0.1' });
        const path = req.url ?? '/';
        await routes[path]!(state);
        await engine.commit(state);
        if (path === '/write-after-commit') {
          // A second unit of work in the same request, after the first commit.
          state.data.late = 1;
          await engine.commit(state);
        }
        for (const line of engine.cookieHeaders(state)) res.appendHeader('set-cookie', line);
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({ handle: state.record?.handle ?? null, userId: state.record?.userId ?? null }),
        );
      }
      running = await listen((req: IncomingMessage, res: ServerResponse) => {
        handle(req, res).catch((error: unknown) => {
          res.statusCode = 500;
          res.end(String(error));
        });
      });
    });
    after(async () => {
      await running.close();
      await store.close();
    });

    async function stored(client: Client): Promise<{ data: unknown; userId: string | null } | null> {
      const { handle } = (await client.get('/user')).json() as { handle: string | null };
      if (!handle) return null;
      const record = await store.get(handle);
      return record ? { data: JSON.parse(record.data), userId: record.userId } : null;
    }

    async function seeded(): Promise<Client> {
      const client = new Client(running.url);
      await client.get('/seed');
      return client;
    }

    it('an untouched request keeps the data, and a wholesale replacement replaces it', async () => {
      const client = await seeded();
      await client.get('/idle');
      assert.deepEqual((await stored(client))?.data, { cart: ['apple'], prefs: { theme: 'dark' } });
      await client.get('/replace');
      assert.deepEqual((await stored(client))?.data, { replaced: true });
    });

    it('a nested change is written', async () => {
      const client = await seeded();
      await client.get('/nested');
      assert.deepEqual((await stored(client))?.data, { cart: ['apple'], prefs: { theme: 'light' } });
    });

    it('login, step-up and a keeping rotation carry unread data; a dropping login does not', async () => {
      const client = await seeded();
      await client.get('/login-keep');
      assert.deepEqual(await stored(client), {
        data: { cart: ['apple'], prefs: { theme: 'dark' } },
        userId: 'bob',
      });
      await client.get('/step-up');
      assert.deepEqual((await stored(client))?.data, { cart: ['apple'], prefs: { theme: 'dark' } });
      await client.get('/rotate-keep');
      assert.deepEqual(await stored(client), {
        data: { cart: ['apple'], prefs: { theme: 'dark' } },
        userId: 'bob',
      });

      const other = await seeded();
      await other.get('/login-drop');
      assert.deepEqual(await stored(other), { data: {}, userId: 'bob' });
    });

    it('data written after a regenerate or a logout starts a session holding only that', async () => {
      const client = await seeded();
      await client.get('/regenerate-then-write');
      assert.deepEqual(await stored(client), { data: { after: 'regenerate' }, userId: null });

      const other = await seeded();
      await other.get('/login-keep');
      await other.get('/logout-then-write');
      assert.deepEqual(await stored(other), { data: { flash: 'bye' }, userId: null });
    });

    it('a logout that never read the data stores nothing afterwards', async () => {
      const client = await seeded();
      await client.get('/login-keep');
      const res = await client.get('/logout');
      assert.deepEqual(res.json(), { handle: null, userId: null });
      assert.equal(client.jar.size, 0, 'the cookie is expired');
    });

    it('Passport-style data names a user (a login) and a wholesale empty replacement ends it', async () => {
      const client = await seeded();
      await client.get('/passport-login');
      assert.deepEqual(await stored(client), {
        data: { cart: ['apple'], prefs: { theme: 'dark' }, passport: { user: 'alice' } },
        userId: 'alice',
      });
      await client.get('/idle');
      assert.equal((await stored(client))?.userId, 'alice', 'an unread request keeps the sign-in');
      await client.get('/passport-logout-by-replace');
      const after = await stored(client);
      assert.ok(after === null || after.userId === null, 'no longer signed in as alice');
    });

    it('a write after a first commit in the same request is written by the second', async () => {
      const client = await seeded();
      await client.get('/write-after-commit');
      assert.deepEqual((await stored(client))?.data, { cart: ['apple'], prefs: { theme: 'dark' }, late: 1 });
    });
  });
}
