/**
 * Child process of test/failure/retained-heap.test.ts (run with --expose-gc). Sends one request per
 * user with `PADDING_BYTES` of extra header data and prints how much the heap grew after GC, in bytes.
 * MODE: `renewal` (sessions on Redis due for renewal, padding in other cookies), `guess` (a cookie
 * this server did not sign from a distinct forwarded address, padding in X-Forwarded-For),
 * `device` (sign-ins on the MemoryStore, padding in User-Agent and X-Forwarded-For), `token`
 * (signed-in sessions on the MemoryStore whose verified tokens are cached, padding in other cookies).
 */
import express from 'express';
import { createClient } from 'redis';
import { session } from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { Clock, SECRET } from './app.js';
import { Client, listen } from './http.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const users = Number(process.env.USERS ?? 1_500);
const bytes = Number(process.env.PADDING_BYTES ?? 0);
const mode = process.env.MODE ?? 'renewal';
const settledHeap = async () => {
  for (let i = 0; i < 4; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  return process.memoryUsage().heapUsed;
};

const redis = mode === 'renewal' ? createClient({ url: process.env.REDIS_URL! }) : null;
await redis?.connect();
const store = redis
  ? new RedisStore({ client: redis, prefix: `heap-${process.pid}:` })
  : new MemoryStore({ maxSessions: users * 2 });
const clock = new Clock();
const app = express();
app.set('trust proxy', true);
app.use(
  session({
    secret: SECRET,
    store,
    now: clock.now,
    warn: () => {},
    idleTimeoutMs: 600_000,
    guessLimit: { max: 1_000_000 },
    binding: { policy: 'off' },
  }),
);
app.get('/login', async (req, res) => {
  await req.session.login(String(req.query.user));
  res.end('ok');
});
app.get('/peek', (_req, res) => void res.end('ok'));
const server = await listen(app as never);

const cookies: string[] = [];
const signedIn = mode === 'renewal' || mode === 'token';
if (signedIn) {
  for (let i = 0; i < users; i++) {
    const user = new Client(server.url);
    await user.get(`/login?user=u${i}`);
    cookies.push(user.cookieHeader);
  }
  if (mode === 'renewal') clock.advance(300_001);
}
const forwarded = (i: number) => `2001:db8::${i.toString(16)}, ${'10.0.0.1, '.repeat(bytes / 10)}10.0.0.2`;
const before = await settledHeap();
for (let i = 0; i < users; i++) {
  const response = signedIn
    ? await new Client(server.url).get('/peek', { cookie: `pad=${'p'.repeat(bytes)}; ${cookies[i]}` })
    : mode === 'guess'
      ? await new Client(server.url).get('/peek', {
          cookie: `id=${'A'.repeat(22)}.${'B'.repeat(43)}.${'C'.repeat(43)}`,
          'x-forwarded-for': forwarded(i),
        })
      : await new Client(server.url).get(`/login?user=u${i}`, {
          'user-agent': `Mozilla/5.0 ${'u'.repeat(bytes)}`,
          'x-forwarded-for': forwarded(i),
        });
  if (response.status !== 200) throw new Error(`status ${response.status}`);
}
const after = await settledHeap();
process.stdout.write(`${JSON.stringify({ grownBytes: after - before })}\n`);
await server.close();
await store.close();
await redis?.close();
