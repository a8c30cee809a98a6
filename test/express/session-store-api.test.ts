import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import express from 'express';
import { SessionCapabilityError } from '../../packages/coatcheck/src/core/errors.js';
import { session } from '../../packages/coatcheck/src/express/index.js';
import { SqliteStore } from '../../packages/coatcheck/src/stores/sqlite.js';
import { SECRET } from '../support/app.js';
import { Client, listen, type Running } from '../support/http.js';

type Callback = (error: Error | null, value?: unknown) => void;
type ExpressStoreApi = {
  get(sid: string, cb: Callback): void;
  set(sid: string, session: Record<string, unknown>, cb: Callback): void;
  destroy(sid: string, cb: Callback): void;
  all(cb: Callback): void;
};

const opened: Running[] = [];
after(async () => {
  for (const running of opened) await running.close();
});

const call = (run: (cb: Callback) => void) =>
  new Promise<{ error: Error | null; value: unknown }>((resolve) =>
    run((error, value) => resolve({ error, value })),
  );

it('req.sessionStore speaks express-session’s store API on a coatcheck store (SQLite)', async () => {
  const store = new SqliteStore({ path: ':memory:' });
  const app = express();
  app.use(session({ secret: SECRET, store, warn: () => {}, guessLimit: false }));
  app.get('/write', (req, res) => {
    req.session.cart = ['a'];
    res.end('ok');
  });
  app.get('/store', async (req, res) => {
    const api = req.sessionStore as unknown as ExpressStoreApi;
    const read = await call((cb) => api.get(req.sessionID, cb));
    const set = await call((cb) => api.set(req.sessionID, { cart: ['a', 'b'], cookie: {} }, cb));
    const again = await call((cb) => api.get(req.sessionID, cb));
    const all = await call((cb) => api.all(cb));
    const destroyed = await call((cb) => api.destroy(req.sessionID, cb));
    const gone = await call((cb) => api.get(req.sessionID, cb));
    res.json({
      read: (read.value as { cart: unknown }).cart,
      setError: set.error,
      again: (again.value as { cart: unknown }).cart,
      allError: all.error instanceof SessionCapabilityError,
      destroyedError: destroyed.error,
      gone: gone.value ?? null,
    });
  });
  const server = await listen(app as never);
  opened.push(server);
  const client = new Client(server.url);
  await client.get('/write');
  assert.deepEqual((await client.get('/store')).json(), {
    read: ['a'],
    setError: null,
    again: ['a', 'b'],
    allError: true,
    destroyedError: null,
    gone: null,
  });
  await store.close();
});
