import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { PostgresStore } from '../../packages/coatcheck/src/stores/postgres.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Client } from '../support/http.js';
import { findPostgres, type PostgresServer, startPostgres } from '../support/postgres-server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Response = Awaited<ReturnType<Client['get']>>;

function assertUnavailable(response: Response, what: string): void {
  assert.equal(response.status, 503, `${what}: 503, never an anonymous or signed-in answer`);
  assert.equal(response.text, 'Service Unavailable', `${what}: a generic body, no stack trace`);
  assert.equal(response.headers.get('cache-control'), 'no-store', `${what}: not cached`);
}

// The steps share one app and one server and run in order: before, during and after an outage.
describe('postgres outage', { skip: !findPostgres() && 'postgres is not installed' }, () => {
  let server: PostgresServer;
  let pool: pg.Pool;
  let store: PostgresStore;
  let app: TestApp;
  let alice: Client;
  const absorbed: Error[] = [];
  before(async () => {
    server = await startPostgres();
    pool = new pg.Pool({ connectionString: server.connectionString, max: 5, connectionTimeoutMillis: 500 });
    store = new PostgresStore({ pool, pruneIntervalMs: 0, onError: (error) => absorbed.push(error) });
    app = await startTestApp(store, { storeTimeoutMs: 1_000 });
    alice = new Client(app.url);
    assert.equal((await alice.post('/login', { userId: 'alice' })).status, 200);
    assert.equal((await alice.post('/set', { cart: [1, 2] })).status, 200);
    // Several pooled connections, so some sit idle in the pool when the server goes away.
    await Promise.all(Array.from({ length: 5 }, () => alice.get('/me')));
  });
  after(async () => {
    await app?.close();
    await store?.close();
    await pool?.end();
    await server?.stop();
  });

  it('S49 requests in flight when postgres stops answer 503, and broken idle connections do not crash', async () => {
    // Each read its session before the outage and writes to it after the server is gone.
    const inFlight = Array.from({ length: 6 }, (_, i) => alice.post('/slow?ms=2500', { [`k${i}`]: i }));
    // Halt once their reads are done: the requests are now asleep and every pooled connection idle.
    await sleep(100);
    const deadline = Date.now() + 2_000;
    while (pool.idleCount < pool.totalCount && Date.now() < deadline) await sleep(10);
    await server.halt();
    for (const response of await Promise.all(inFlight)) assertUnavailable(response, 'in-flight write');
    assert.ok(
      absorbed.length > 0,
      'the idle connections the server closed were reported to the store, not thrown',
    );
    assert.ok(
      app.events.some((event) => event.type === 'store.error'),
      'store.error reported',
    );
  });

  it('S49 a signed-in user gets 503 for reads, writes and logout while postgres is down', async () => {
    assertUnavailable(await alice.get('/me'), 'read');
    assertUnavailable(await alice.post('/set', { theme: 'dark' }), 'write');
    assertUnavailable(await alice.get('/sessions'), 'device list');
    assertUnavailable(await alice.post('/logout'), 'logout');
  });

  it('S49 a login while postgres is down answers 503, not the framework error page', async () => {
    assertUnavailable(await new Client(app.url).post('/login', { userId: 'mallory' }), 'login');
  });

  it('recovers by itself when postgres is back: sessions from before the outage still work', async () => {
    await server.restart();
    let me = await alice.get('/me');
    const deadline = Date.now() + 10_000;
    while (me.status === 503 && Date.now() < deadline) {
      await sleep(100);
      me = await alice.get('/me');
    }
    assert.equal(me.status, 200, 'the same app serves the session from before the outage');
    assert.deepEqual((me.json() as { data: unknown }).data, { cart: [1, 2] });
    // Reported once the store has answered without a failure for twice the timeout (at least 1 s).
    const reported = Date.now() + 12_000;
    while (!app.events.some((event) => event.type === 'store.recovered') && Date.now() < reported) {
      await sleep(100);
    }
    assert.ok(
      app.events.some((event) => event.type === 'store.recovered'),
      'store.recovered reported',
    );

    assert.equal((await alice.post('/set', { theme: 'dark' })).status, 200);
    const bob = new Client(app.url);
    assert.equal((await bob.post('/login', { userId: 'bob' })).status, 200);
    assert.equal((await bob.get('/me')).status, 200);
    assert.equal((await alice.post('/logout')).status, 200);
    assert.equal((await alice.get('/me')).status, 401);
  });
});
