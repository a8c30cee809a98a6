import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SessionConfigError } from '../../packages/coatcheck/src/core/errors.js';
import { type SessionOptions, session } from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SECRET, startTestApp, type TestApp } from '../support/app.js';
import { Client } from '../support/http.js';
import { embeddedStores } from '../support/stores.js';

const SECOND = 1000;
const cookieOf = (client: Client) => client.jar.get('id') ?? '';
const handleOf = (cookie: string) => cookie.split('.')[0];

for (const factory of embeddedStores()) {
  describe(`periodic rotation on ${factory.name}`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(factory.create(), {
        idleTimeoutMs: 600 * SECOND,
        absoluteTimeoutMs: 3_600 * SECOND,
        rotationIntervalMs: 120 * SECOND,
        rotationGraceMs: 30 * SECOND,
      });
    });
    after(async () => {
      await app.close();
      await app.store.close();
      factory.cleanup();
    });

    it('S21 a token older than the interval is replaced; parallel requests with the old one all pass within the grace period, then it is dead', async () => {
      const client = new Client(app.url);
      await client.post('/login', { userId: 'rotating' });
      const old = cookieOf(client);
      const createdAt = ((await client.get('/peek')).json() as { meta: { createdAt: number } }).meta
        .createdAt;
      const { csrfSecret } = (await app.store.get(handleOf(old)!))!;

      app.clock.advance(121 * SECOND);
      const first = await client.get('/me');
      assert.equal(first.status, 200);
      const fresh = cookieOf(client);
      assert.notEqual(fresh, old, 'the response carries a new token');
      assert.equal(first.setCookies.length, 1);
      const rotated = await app.store.get(handleOf(fresh)!);
      assert.equal(rotated?.csrfSecret, csrfSecret, 'forms open in other tabs keep working');
      assert.equal(rotated?.userId, 'rotating');

      const stale = new Client(app.url);
      stale.jar.set('id', old);
      const parallel = await Promise.all(Array.from({ length: 5 }, () => stale.get('/me')));
      assert.deepEqual(
        parallel.map((r) => r.status),
        [200, 200, 200, 200, 200],
      );
      for (const response of parallel) {
        assert.deepEqual(response.setCookies, [], 'no second token is minted');
        assert.equal((response.json() as { handle: string }).handle, handleOf(fresh));
      }
      const sessions = (await client.get('/sessions')).json() as { handle: string }[];
      assert.deepEqual(
        sessions.map((s) => s.handle),
        [handleOf(fresh)],
        'the device list shows one session',
      );

      app.clock.advance(31 * SECOND);
      const late = new Client(app.url);
      late.jar.set('id', old);
      assert.equal((await late.get('/me')).status, 401);
      const peek = (await client.get('/peek')).json() as { meta: { createdAt: number; handle: string } };
      assert.equal(peek.meta.handle, handleOf(fresh));
      assert.equal(peek.meta.createdAt, createdAt, 'the absolute deadline is unchanged');
    });

    it('S21 of requests racing the rotation itself, exactly one mints the new token and the rest join it', async () => {
      const client = new Client(app.url);
      await client.post('/login', { userId: 'racing' });
      const old = cookieOf(client);
      app.clock.advance(121 * SECOND);
      const responses = await Promise.all(
        Array.from({ length: 5 }, () => {
          const racer = new Client(app.url);
          racer.jar.set('id', old);
          return racer.get('/me');
        }),
      );
      assert.deepEqual(
        responses.map((r) => r.status),
        [200, 200, 200, 200, 200],
      );
      const minted = responses.flatMap((r) => r.setCookies);
      assert.equal(minted.length, 1, `new tokens: ${minted.length}`);
      const handles = new Set(responses.map((r) => (r.json() as { handle: string }).handle));
      assert.equal(handles.size, 1, 'every request served the same session');
    });

    it('S21 data written through the old token during the grace period lands in the new session', async () => {
      const client = new Client(app.url);
      await client.post('/login', { userId: 'writer' });
      const old = cookieOf(client);
      app.clock.advance(121 * SECOND);
      await client.get('/me');
      const stale = new Client(app.url);
      stale.jar.set('id', old);
      assert.equal((await stale.post('/set', { fromOldTab: true })).status, 200);
      const data = ((await client.get('/me')).json() as { data: Record<string, unknown> }).data;
      assert.equal(data.fromOldTab, true);
    });

    it('S21 S27 logout with the new token also ends the old one inside its grace period', async () => {
      const client = new Client(app.url);
      await client.post('/login', { userId: 'leaving' });
      const old = cookieOf(client);
      app.clock.advance(121 * SECOND);
      await client.get('/me');
      await client.post('/logout');
      const stale = new Client(app.url);
      stale.jar.set('id', old);
      assert.equal((await stale.get('/me')).status, 401);
      assert.equal((await stale.post('/set', { back: true })).status, 200);
      assert.equal((await stale.get('/me')).status, 401, 'a write through the old token resurrects nothing');
    });

    it('S21 S24 rotation never extends the absolute lifetime', async () => {
      const client = new Client(app.url);
      await client.post('/login', { userId: 'bounded' });
      for (let t = 0; t < 29; t++) {
        app.clock.advance(121 * SECOND);
        assert.equal((await client.get('/me')).status, 200, `after ${(t + 1) * 121} s`);
      }
      app.clock.advance(120 * SECOND);
      assert.equal((await client.get('/me')).status, 401, 'past the 3600 s absolute timeout');
    });
  });
}

it('S21 rotation options are checked at start-up, naming the option', () => {
  const store = new MemoryStore();
  const make = (options: Partial<SessionOptions>) => () =>
    session({ secret: SECRET, store, warn: () => {}, ...options });
  const named = (option: string) => (error: unknown) =>
    error instanceof SessionConfigError && error.message.includes(option);
  assert.throws(make({ rotationGraceMs: 1000 }), named('rotationGraceMs'));
  assert.throws(make({ rotationIntervalMs: -5 }), named('rotationIntervalMs'));
  assert.throws(make({ rotationIntervalMs: 10_000, rotationGraceMs: 10_000 }), named('rotationGraceMs'));
  assert.doesNotThrow(make({ rotationIntervalMs: 900_000 }));
  // A wrapped express-session store cannot make one rotation win over a racing one.
  const legacy = { get: () => undefined, set: () => undefined, destroy: () => undefined };
  assert.throws(make({ rotationIntervalMs: 900_000, store: legacy }), named('rotationIntervalMs'));
  void store.close();
});
