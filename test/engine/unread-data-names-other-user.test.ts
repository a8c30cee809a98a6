/**
 * A login that keeps data naming another user (`login(state, 'bob', { keep: true })` over data
 * whose `passport.user` is alice) stores a record for bob whose data still names alice. Who the
 * session belongs to afterwards must not depend on whether a later request happens to read its
 * data: before data was parsed lazily, the login request's commit already signed alice back in
 * and every later request agreed; now the login request and requests that never read the data
 * keep bob, and the first request that reads it signs alice in.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createSessionEngine } from '../../packages/coatcheck/src/core/engine.js';
import type { SessionState } from '../../packages/coatcheck/src/core/lifecycle/state.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SECRET } from '../support/app.js';
import { Client, listen, type Running } from '../support/http.js';

describe('node:http: a kept login over data that names another user', () => {
  const store = new MemoryStore();
  const engine = createSessionEngine({ store, secret: SECRET, warn: () => {} });
  let running: Running;

  const routes: Record<string, (state: SessionState) => Promise<void> | void> = {
    // Passport's req.login writes this: the data names alice, so the commit signs alice in.
    '/passport-alice': (state) => {
      state.data.passport = { user: 'alice' };
    },
    '/login-bob-keep': (state) => engine.login(state, 'bob', { keep: true }),
    '/who': () => {},
    '/read': (state) => {
      void state.data.passport;
    },
  };

  before(async () => {
    async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
      const state = await engine.load({ cookieHeader: req.headers.cookie, secure: false, ip: '127.0.0.1' });
      await routes[req.url ?? '/']!(state);
      await engine.commit(state);
      for (const line of engine.cookieHeaders(state)) res.appendHeader('set-cookie', line);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ userId: state.record?.userId ?? null }));
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

  it('every request after the login agrees on the user, whether it reads the data or not', async () => {
    const client = new Client(running.url);
    assert.deepEqual((await client.get('/passport-alice')).json(), { userId: 'alice' });
    const login = (await client.get('/login-bob-keep')).json() as { userId: string };
    const unread = (await client.get('/who')).json() as { userId: string };
    const read = (await client.get('/read')).json() as { userId: string };
    const unreadAgain = (await client.get('/who')).json() as { userId: string };
    assert.deepEqual(
      { login: login.userId, unread: unread.userId, read: read.userId, unreadAgain: unreadAgain.userId },
      { login: read.userId, unread: read.userId, read: read.userId, unreadAgain: read.userId },
    );
  });
});
