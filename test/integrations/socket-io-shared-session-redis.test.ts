/**
 * Socket.IO 4 sharing the Express session (`io.engine.use`) on a real Redis: a socket that saves
 * to the session while HTTP requests of the same browser renew it and write other keys; every
 * socket save and every HTTP write is kept, and a logout over HTTP reaches the socket's session.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import { session, type TypedSession } from '../../packages/coatcheck/src/express/index.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { SECRET } from '../support/app.js';
import { Client } from '../support/http.js';
import { hasRedis, redisForSuite } from '../support/redis-server.js';

type SessionRequest = IncomingMessage & { session: TypedSession };

for (const transport of ['websocket', 'polling'] as const) {
  describe(`Socket.IO sharing the Express session on Redis over ${transport}`, {
    skip: !hasRedis && 'redis-server is not installed',
  }, () => {
    const redis = redisForSuite();
    let url = '';
    let io: Server;
    let close: () => Promise<void>;
    before(async () => {
      const middleware = session({
        secret: SECRET,
        store: new RedisStore({ client: redis.client, prefix: `io-${transport}:` }),
        warn: () => {},
        guessLimit: false,
        renewalIntervalMs: 1,
      });
      const app = express();
      app.use(express.json());
      app.use(middleware);
      app.post('/login', async (req, res) => {
        await req.session.login(String((req.body as { user: string }).user));
        res.json({ ok: true });
      });
      app.post('/logout', async (req, res) => {
        await req.session.logout();
        res.json({ ok: true });
      });
      app.post('/http-item', (req, res) => {
        const items = (req.session.httpItems as string[] | undefined) ?? [];
        req.session.httpItems = [...items, String((req.body as { item: string }).item)];
        res.json({ ok: true });
      });
      app.get('/me', (req, res) => {
        res.json({
          user: req.session.meta?.userId ?? null,
          httpItems: req.session.httpItems ?? [],
          socketItems: req.session.socketItems ?? [],
        });
      });
      const server = createServer(app);
      io = new Server(server);
      io.engine.use(middleware);
      io.on('connection', (socket) => {
        const req = socket.request as SessionRequest;
        socket.on('add', async (item: string, ack: (answer: unknown) => void) => {
          try {
            await req.session.reload();
            const items = (req.session.socketItems as string[] | undefined) ?? [];
            req.session.socketItems = [...items, item];
            await req.session.save();
            ack({ ok: true, user: req.session.meta?.userId ?? null });
          } catch (error) {
            ack({ ok: false, error: String((error as { code?: string }).code ?? error) });
          }
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      close = async () => {
        await io.close();
        server.closeAllConnections();
      };
    });
    after(async () => close?.());

    const open = async (client: Client): Promise<Socket> => {
      const socket = connect(url, {
        transports: [transport],
        extraHeaders: { cookie: client.cookieHeader },
        forceNew: true,
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      return socket;
    };
    const add = (socket: Socket, item: string) =>
      socket.emitWithAck('add', item) as Promise<{ ok: boolean; user?: string | null; error?: string }>;

    it('socket saves interleaved with HTTP renewals and writes are all kept', async () => {
      const client = new Client(url);
      await client.post('/login', { user: 'ada' });
      const socket = await open(client);
      try {
        const socketWrites = (async () => {
          for (let i = 0; i < 15; i++) {
            const answer = await add(socket, `s${i}`);
            assert.deepEqual(answer, { ok: true, user: 'ada' });
          }
        })();
        const httpTraffic = (async () => {
          for (let i = 0; i < 15; i++) {
            const [write, read] = await Promise.all([
              client.post('/http-item', { item: `h${i}` }),
              client.get('/me'),
            ]);
            assert.equal(write.status, 200);
            assert.equal((read.json() as { user: string }).user, 'ada');
          }
        })();
        await Promise.all([socketWrites, httpTraffic]);
        const me = (await client.get('/me')).json() as { httpItems: string[]; socketItems: string[] };
        assert.deepEqual(
          me.socketItems,
          Array.from({ length: 15 }, (_, i) => `s${i}`),
          'every socket save kept',
        );
        assert.deepEqual(
          me.httpItems,
          Array.from({ length: 15 }, (_, i) => `h${i}`),
          'every HTTP write kept',
        );
      } finally {
        socket.disconnect();
      }
    });

    it('after a logout over HTTP, a socket save does not bring the session back', async () => {
      const client = new Client(url);
      await client.post('/login', { user: 'bob' });
      const cookieBefore = client.cookieHeader;
      const socket = await open(client);
      try {
        assert.equal((await add(socket, 'first')).ok, true);
        await client.post('/logout');
        const answer = await add(socket, 'after-logout');
        assert.notEqual(answer.user, 'bob', 'the socket is not signed in as bob after the logout');
        const replay = await new Client(url).get('/me', { cookie: cookieBefore });
        const seen = replay.json() as { user: string | null; socketItems: string[] };
        assert.equal(seen.user, null, 'the old cookie is signed out');
        assert.deepEqual(seen.socketItems, [], 'and carries none of the socket data');
      } finally {
        socket.disconnect();
      }
    });
  });
}
