/**
 * A reference, not a session layer: bare node:http plus, on every request, one GET of a session as
 * RedisStore wrote it (its default layout, one string), through node-redis. Its CPU µs/req above
 * bare node:http is the Redis client's share of any session read on Redis (encode, socket, decode),
 * the floor under the engine's own cost there.
 */
import { createServer } from 'node:http';
import { createSessionEngine } from 'coatcheck';
import { createClient } from 'redis';
import { announce, bodies, SECRET } from './common.js';
import { openRedisStore } from './stores.js';

const { store, close } = await openRedisStore();
// Long timeouts: the session must outlive the whole run, which never renews it.
const engine = createSessionEngine({
  secret: SECRET,
  store,
  warn: () => {},
  idleTimeoutMs: 86_400_000,
  absoluteTimeoutMs: 86_400_000,
});
const state = await engine.load({ secure: false, ip: '127.0.0.1', userAgent: 'coatcheck-bench' });
await engine.login(state, 'floor-user');
await engine.commit(state);
const key = (store as unknown as { sessionKey(handle: string): string }).sessionKey(state.record!.handle);

const client = createClient({ url: process.env.BENCH_REDIS_URL! });
await client.connect();
if (((await client.get(key)) ?? '').length < 100) throw new Error('the session is missing');

const server = createServer((req, res) => {
  client.get(key).then(
    (reply) => {
      if (reply === null) {
        res.writeHead(503).end();
        return;
      }
      const path = (req.url ?? '/').split('?')[0];
      const body = path === '/me' ? bodies.me('bench') : bodies.ok;
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(body);
    },
    () => res.writeHead(503).end(),
  );
});
announce(server, async () => {
  await client.quit();
  await close();
});
