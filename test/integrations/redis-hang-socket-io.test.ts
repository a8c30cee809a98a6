/**
 * Socket.IO sharing the Express session on RedisStore (node-redis) while redis-server is stopped
 * (SIGSTOP): a connected socket's reload fails with a store error, a new connection is refused
 * rather than let in anonymous, and after SIGCONT the same session works over the socket again.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import express from 'express';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import type { SessionEvent } from '../../packages/coatcheck/src/core/events.js';
import { session, type TypedSession } from '../../packages/coatcheck/src/express/index.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { SECRET } from '../support/app.js';
import { Client } from '../support/http.js';
import { hasRedis, redisForSuite } from '../support/redis-server.js';

type SessionRequest = IncomingMessage & { session: TypedSession };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Socket.IO sharing the Express session while Redis hangs', {
  skip: !hasRedis && 'redis-server is not installed',
}, () => {
  const redis = redisForSuite();

  it('fails closed during the hang and works with the same session after it', async () => {
    const events: SessionEvent[] = [];
    const middleware = session({
      secret: SECRET,
      store: new RedisStore({ client: redis.client, prefix: 'hang-io:' }),
      warn: () => {},
      guessLimit: false,
      storeTimeoutMs: 300,
    });
    middleware.on((event) => events.push(event));
    const app = express();
    app.use(express.json());
    app.use(middleware);
    app.post('/login', async (req, res) => {
      await req.session.login(String((req.body as { user: string }).user));
      res.json({ ok: true });
    });
    const server = createServer(app);
    const io = new Server(server);
    io.engine.use(middleware);
    const anonymous: string[] = [];
    io.on('connection', (socket) => {
      const req = socket.request as SessionRequest;
      if (!req.session.meta?.userId) anonymous.push(socket.id);
      socket.on('add', async (item: string, ack: (answer: unknown) => void) => {
        try {
          await req.session.reload();
          const items = (req.session.items as string[] | undefined) ?? [];
          req.session.items = [...items, item];
          await req.session.save();
          ack({ ok: true, user: req.session.meta?.userId ?? null, items: req.session.items });
        } catch (error) {
          ack({ ok: false, error: String((error as { code?: string }).code ?? error) });
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const sockets: Socket[] = [];
    const open = (client: Client) => {
      const socket = connect(url, {
        transports: ['websocket'],
        extraHeaders: { cookie: client.cookieHeader },
        forceNew: true,
        reconnection: false,
      });
      sockets.push(socket);
      return new Promise<Socket>((resolve, reject) => {
        socket.once('connect', () => resolve(socket));
        socket.once('connect_error', reject);
      });
    };
    const add = (socket: Socket, item: string) =>
      socket.timeout(5_000).emitWithAck('add', item) as Promise<{
        ok: boolean;
        user?: string;
        error?: string;
      }>;
    try {
      const client = new Client(url);
      assert.equal((await client.post('/login', { user: 'ada' })).status, 200);
      const socket = await open(client);
      assert.deepEqual(await add(socket, 'a'), { ok: true, user: 'ada', items: ['a'] });

      process.kill(redis.server.pid, 'SIGSTOP');
      let during: { ok: boolean; error?: string };
      let refused: unknown = null;
      try {
        during = await add(socket, 'b');
        refused = await open(client).then(
          () => null,
          (error: unknown) => error,
        );
      } finally {
        process.kill(redis.server.pid, 'SIGCONT');
      }
      assert.equal(during.ok, false);
      assert.match(String(during.error), /STORE/i);
      assert.ok(refused, 'a new socket is not let in while the store hangs');
      assert.deepEqual(anonymous, [], 'no socket was let in anonymous');
      assert.ok(events.some((e) => e.type === 'store.error'));

      await sleep(200);
      const answer = await add(socket, 'c');
      assert.equal(answer.ok, true);
      assert.equal(answer.user, 'ada');
      const again = await open(client);
      assert.equal((await add(again, 'd')).user, 'ada');
      await sleep(1_300);
      await add(again, 'e');
      assert.equal(events.filter((e) => e.type === 'store.recovered').length, 1);
    } finally {
      for (const s of sockets) s.close();
      await io.close();
      server.closeAllConnections();
    }
  });
});
