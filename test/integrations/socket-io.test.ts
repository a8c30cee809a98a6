import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import type { Socket } from 'socket.io-client';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { SqliteStore } from '../../packages/coatcheck/src/stores/sqlite.js';
import { Client } from '../support/http.js';
import { hasRedis, startRedis } from '../support/redis-server.js';
import {
  ask,
  connected,
  disconnected,
  openSocket,
  type SocketApp,
  settled,
  startSocketApp,
  type Transports,
  USER_AGENT,
} from './socket-app.js';

const handleOf = (client: Client) => client.jar.get('id')?.split('.')[0] ?? '';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function signIn(app: SocketApp, username: 'alice' | 'bob'): Promise<Client> {
  const client = new Client(app.url, { 'user-agent': USER_AGENT });
  const res = await client.post('/login', { username, password: `${username}-password` });
  assert.equal(res.status, 200, 'sign-in over HTTP');
  return client;
}

/** Fails the test on any unhandled rejection or uncaught exception: a crash the runner would hide. */
function failOnProcessErrors() {
  const seen: unknown[] = [];
  const record = (error: unknown) => seen.push(error);
  before(() => {
    process.on('unhandledRejection', record);
    process.on('uncaughtException', record);
  });
  afterEach(async () => {
    await sleep(50);
    assert.deepEqual(
      seen.splice(0).map((error) => (error instanceof Error && error.stack) || String(error)),
      [],
      'no unhandled rejection or uncaught exception',
    );
  });
  after(() => {
    process.off('unhandledRejection', record);
    process.off('uncaughtException', record);
  });
}

const modes: [string, Transports][] = [
  ['WebSocket only', ['websocket']],
  ['polling, then upgrade to WebSocket', ['polling', 'websocket']],
];

for (const [mode, transports] of modes) {
  describe(`Socket.IO sessions over ${mode}`, () => {
    failOnProcessErrors();
    let app: SocketApp;
    const sockets: Socket[] = [];
    before(async () => {
      app = await startSocketApp(new MemoryStore());
    });
    afterEach(() => {
      for (const socket of sockets.splice(0)) socket.disconnect();
    });
    after(async () => {
      await app.close();
      await app.store.close();
    });

    async function open(client: Client | null): Promise<Socket> {
      const socket = openSocket(app.url, client?.cookieHeader ?? '', transports);
      sockets.push(socket);
      return settled(socket);
    }
    const refusal = (cookie: string) => {
      const socket = openSocket(app.url, cookie, transports);
      sockets.push(socket);
      return connected(socket);
    };

    it("sees the session and Passport's user on the handshake", async () => {
      const alice = await signIn(app, 'alice');
      const socket = await open(alice);
      assert.equal(socket.io.engine.transport.name, 'websocket');
      const me = await ask<{ user: unknown; handle: string; data: Record<string, unknown> }>(
        socket,
        'whoami',
      );
      assert.deepEqual(me.user, { id: 'u-alice', username: 'alice' });
      assert.equal(me.handle, handleOf(alice));
      assert.deepEqual(me.data, { passport: { user: 'u-alice' } });
    });

    it('refuses a missing, an invalid and a revoked cookie with connect_error, and keeps serving', async () => {
      const alice = await signIn(app, 'alice');
      const revoked = alice.cookieHeader;
      await alice.post('/logout');
      for (const cookie of ['', 'id=not-a-session-token', revoked]) {
        await assert.rejects(
          refusal(cookie),
          { message: 'not signed in' },
          `cookie ${JSON.stringify(cookie)}`,
        );
      }
      const bob = await signIn(app, 'bob');
      const me = await ask<{ user: unknown }>(await open(bob), 'whoami');
      assert.deepEqual(me.user, { id: 'u-bob', username: 'bob' });
    });

    it('connects when the handshake itself must write the session (a new device is recorded)', async () => {
      const alice = await signIn(app, 'alice');
      const chrome =
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36';
      const socket = openSocket(app.url, alice.cookieHeader, transports, chrome);
      sockets.push(socket);
      await connected(socket);
      const me = await ask<{ user: unknown }>(socket, 'whoami');
      assert.deepEqual(me.user, { id: 'u-alice', username: 'alice' });
      assert.ok(app.events.some((event) => event.type === 'session.binding_mismatch'));
      const record = await app.store.get(handleOf(alice));
      assert.equal(record?.device?.userAgent, chrome, 'the handshake wrote the new device');
    });

    it('save() and reload() inside a socket handler work while the session lives', async () => {
      const alice = await signIn(app, 'alice');
      const socket = await open(alice);
      assert.deepEqual(await ask(socket, 'save', { theme: 'dark' }), {
        ok: true,
        data: { passport: { user: 'u-alice' }, theme: 'dark' },
      });
      const me = (await alice.get('/me')).json() as { data: Record<string, unknown> };
      assert.equal(me.data.theme, 'dark', 'HTTP sees what the socket saved');
      assert.deepEqual(await ask(socket, 'reload'), {
        ok: true,
        data: { passport: { user: 'u-alice' }, theme: 'dark' },
      });
    });

    it('reload after an HTTP logout rejects every time and leaves the session empty', async () => {
      const alice = await signIn(app, 'alice');
      const socket = await open(alice);
      assert.equal((await ask<{ ok: boolean }>(socket, 'reload')).ok, true);
      // The session's own socket is closed by the logout; this one is opened under the same cookie
      // by a server that does not map session ends, as a plain express-session app would be.
      app.io.in(`session:${handleOf(alice)}`).socketsLeave(`session:${handleOf(alice)}`);
      await alice.post('/logout');
      for (let attempt = 0; attempt < 2; attempt++) {
        const answer = await ask<{ ok: boolean; error?: string; data: object }>(socket, 'reload');
        assert.equal(answer.ok, false, `reload ${attempt + 1} must fail`);
        assert.deepEqual(answer.data, {}, `reload ${attempt + 1} leaves req.session empty`);
      }
    });

    it('save after an HTTP logout never writes the old data into a new session', async () => {
      const alice = await signIn(app, 'alice');
      const socket = await open(alice);
      assert.equal((await ask<{ ok: boolean }>(socket, 'save', { counter: 1 })).ok, true);
      app.io.in(`session:${handleOf(alice)}`).socketsLeave(`session:${handleOf(alice)}`);
      const before = app.events.length;
      await alice.post('/logout');
      await ask(socket, 'save', { counter: 2 });
      await ask(socket, 'save', { counter: 3 });
      const created = app.events.slice(before).filter((event) => event.type === 'session.created');
      assert.deepEqual(created, [], 'no session created from the socket after the logout');
      assert.equal(await app.store.get(handleOf(alice)), null, 'the logged-out session stays gone');
      const saved = (await app.store.listByUser('u-alice')).filter((record) =>
        record.data.includes('counter'),
      );
      assert.deepEqual(saved, [], 'no session of the user holds what the socket saved');
    });
  });

  describe(`Socket.IO sockets end with their session (${mode})`, () => {
    failOnProcessErrors();
    let app: SocketApp;
    const sockets: Socket[] = [];
    before(async () => {
      app = await startSocketApp(new MemoryStore());
    });
    afterEach(() => {
      for (const socket of sockets.splice(0)) socket.disconnect();
    });
    after(async () => {
      await app.close();
      await app.store.close();
    });
    async function open(client: Client): Promise<Socket> {
      const socket = openSocket(app.url, client.cookieHeader, transports);
      sockets.push(socket);
      return settled(socket);
    }
    const refused = (client: Client) => assert.rejects(open(client), { message: 'not signed in' });

    it('after an HTTP logout of that session', async () => {
      const a = await signIn(app, 'alice');
      const socket = await open(a);
      const closed = disconnected(socket);
      await a.post('/logout');
      // The client does not reconnect by itself after this reason; the application decides.
      assert.equal(await closed, 'io server disconnect');
      await refused(a);
    });

    it('after device B revokes it, while B stays connected', async () => {
      const a = await signIn(app, 'alice');
      const b = await signIn(app, 'alice');
      const [socketA, socketB] = [await open(a), await open(b)];
      const closed = disconnected(socketA);
      const heard = new Promise((resolve) => socketB.once('sessions-changed', resolve));
      assert.equal((await b.request(`/sessions/${handleOf(a)}`, { method: 'DELETE' })).status, 204);
      await closed;
      assert.deepEqual(await heard, { reason: 'revoked' });
      assert.equal(socketB.connected, true);
      await refused(a);
    });

    it("after B signs out everywhere else: A's sockets close, B's stay", async () => {
      const a = await signIn(app, 'alice');
      const a2 = await signIn(app, 'alice');
      const b = await signIn(app, 'alice');
      const bob = await signIn(app, 'bob');
      const [socketA, socketA2, socketB, socketBob] = [
        await open(a),
        await open(a2),
        await open(b),
        await open(bob),
      ];
      const closed = [disconnected(socketA), disconnected(socketA2)];
      const { count } = (await b.post('/logout-all')).json() as { count: number };
      assert.ok(count >= 2, "both of A's sessions ended");
      await Promise.all(closed);
      await sleep(50);
      assert.equal(socketB.connected, true);
      assert.equal(socketBob.connected, true);
      await refused(a);
    });

    it('after it expires, once its cookie is next presented', async (t) => {
      let at = Date.now();
      const timed = await startSocketApp(new MemoryStore(), { now: () => at });
      t.after(async () => {
        await timed.close();
        await timed.store.close();
      });
      const a = await signIn(timed, 'alice');
      const socket = openSocket(timed.url, a.cookieHeader, transports);
      sockets.push(socket);
      await settled(socket);
      const closed = disconnected(socket);
      at += 24 * 60 * 60 * 1000;
      await a.get('/me');
      await closed;
      assert.ok(timed.events.some((event) => event.type.startsWith('session.expired.')));
    });

    it('after its token is rotated by a new sign-in, and a socket with the new cookie is accepted', async () => {
      const a = await signIn(app, 'alice');
      const socket = await open(a);
      const closed = disconnected(socket);
      await a.post('/login', { username: 'alice', password: 'alice-password' });
      await closed;
      const again = await open(a);
      const me = await ask<{ handle: string }>(again, 'whoami');
      assert.equal(me.handle, handleOf(a));
    });
  });
}

describe('a new visitor on the polling handshake', () => {
  failOnProcessErrors();
  let app: SocketApp;
  before(async () => {
    app = await startSocketApp(new MemoryStore(), { visitorId: true });
  });
  after(async () => {
    await app.close();
    await app.store.close();
  });

  it('gets its session cookie on the handshake response when the handshake stores something', async () => {
    const visitor = new Client(app.url);
    const res = await visitor.get('/socket.io/?EIO=4&transport=polling');
    assert.equal(res.status, 200);
    assert.match(res.text, /^0\{"sid":/);
    assert.equal(res.setCookies.length, 1);
    assert.match(res.setCookies[0]!, /^id=[^;]+;.*HttpOnly/i);
    const me = (await visitor.get('/me')).json() as { data: { visitorId?: string } };
    assert.match(me.data.visitorId ?? '', /^[0-9a-f-]{36}$/);
  });

  it('sends no cookie when the visitor already has one', async () => {
    const visitor = new Client(app.url);
    await visitor.get('/socket.io/?EIO=4&transport=polling');
    const again = await visitor.get('/socket.io/?EIO=4&transport=polling');
    assert.equal(again.status, 200);
    assert.deepEqual(again.setCookies, []);
  });
});

// Last: before the adapter survived engine.io's WebSocket stand-in response, this crashed the process.
for (const [mode, transports] of modes) {
  describe(`Socket.IO handshake during a store outage (${mode})`, () => {
    failOnProcessErrors();
    const dir = mkdtempSync(join(tmpdir(), 'coatcheck-socket-'));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('refuses the handshake and keeps the server running', async (t) => {
      const store = new SqliteStore({ path: join(dir, 'sessions.db') });
      const app = await startSocketApp(store);
      const sockets: Socket[] = [];
      t.after(async () => {
        for (const socket of sockets) socket.disconnect();
        await app.close();
      });
      const alice = await signIn(app, 'alice');
      await store.close();
      const attempt = openSocket(app.url, alice.cookieHeader, transports);
      sockets.push(attempt);
      await assert.rejects(connected(attempt));
      assert.ok(app.events.some((event) => event.type === 'store.error'));
      assert.equal((await alice.get('/me')).status, 503, 'HTTP answers 503 as well');
      const polling = await alice.get('/socket.io/?EIO=4&transport=polling');
      assert.equal(polling.status, 503, 'a polling handshake is answered 503');
      const anonymous = openSocket(app.url, '', transports);
      sockets.push(anonymous);
      await assert.rejects(connected(anonymous), { message: 'not signed in' }, 'still answering');
    });

    it('refuses the handshake while Redis is down and accepts it again once Redis is back', {
      skip: !hasRedis && 'redis-server is not installed',
    }, async (t) => {
      const redis = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
      // As docs/operations-redis.md advises: reconnect by itself, never queue commands offline.
      const client = createClient({
        url: redis.url,
        disableOfflineQueue: true,
        socket: { connectTimeout: 1_000, reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 500) },
      });
      client.on('error', () => {});
      await client.connect();
      const app = await startSocketApp(new RedisStore({ client }), { storeTimeoutMs: 300 });
      const sockets: Socket[] = [];
      t.after(async () => {
        for (const socket of sockets) socket.disconnect();
        await app.close();
        await client.close();
        await redis.dispose();
      });
      const alice = await signIn(app, 'alice');
      await redis.stop('SIGKILL');
      const during = openSocket(app.url, alice.cookieHeader, transports);
      sockets.push(during);
      await assert.rejects(connected(during));
      await redis.restart();
      const deadline = Date.now() + 15_000;
      while ((await alice.get('/me')).status === 503 && Date.now() < deadline) await sleep(100);
      const after = openSocket(app.url, alice.cookieHeader, transports);
      sockets.push(after);
      const me = await ask<{ user: unknown }>(await settled(after), 'whoami');
      assert.deepEqual(me.user, { id: 'u-alice', username: 'alice' }, 'the same server serves again');
    });
  });
}
