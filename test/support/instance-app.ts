/**
 * One instance of a small coatcheck app, run as its own process by app-cluster.ts. The store comes
 * from the environment: REDIS_URL (RedisStore on node-redis; REDIS_CACHE_TTL_MS turns on its
 * client-side cache), DATABASE_URL (PostgresStore) or SQLITE_PATH (SqliteStore on that file, which
 * every instance opens: one file shared by several processes).
 * Prints `{"port":N}` on stdout once listening; SIGTERM closes it cleanly. Every response names the
 * instance in `X-Instance`.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';
import { requireAuth, session } from '../../packages/coatcheck/src/express/index.js';

const instance = process.env.INSTANCE ?? `pid-${process.pid}`;
const secret = process.env.SESSION_SECRET;
if (!secret) throw new Error('SESSION_SECRET is required');

/** The Redis client-side cache's counters, when one is on. */
let cacheStats: () => { hitCount: number; missCount: number } | null = () => null;

async function openStore(): Promise<{ store: SessionStore; close: () => Promise<void> }> {
  if (process.env.REDIS_URL) {
    const [{ createClient }, { RedisStore }] = await Promise.all([
      import('redis'),
      import('../../packages/coatcheck/src/stores/redis.js'),
    ]);
    // REDIS_CACHE_TTL_MS: node-redis's client-side cache (RESP3 client tracking), entries kept at
    // most that long.
    const cacheTtl = Number(process.env.REDIS_CACHE_TTL_MS ?? 0);
    const client = createClient({
      url: process.env.REDIS_URL,
      disableOfflineQueue: true,
      ...(cacheTtl > 0 ? { RESP: 3 as const, clientSideCache: { ttl: cacheTtl, maxEntries: 100_000 } } : {}),
    });
    client.on('error', () => {});
    await client.connect();
    cacheStats = () => client.clientSideCache?.stats() ?? null;
    return { store: new RedisStore({ client }), close: () => client.close() };
  }
  if (process.env.DATABASE_URL) {
    const { PostgresStore } = await import('../../packages/coatcheck/src/stores/postgres.js');
    const store = new PostgresStore({ connectionString: process.env.DATABASE_URL });
    return { store, close: () => store.close() };
  }
  if (process.env.SQLITE_PATH) {
    const { SqliteStore } = await import('../../packages/coatcheck/src/stores/sqlite.js');
    const store = new SqliteStore({ path: process.env.SQLITE_PATH });
    return { store, close: () => store.close() };
  }
  throw new Error('set REDIS_URL, DATABASE_URL or SQLITE_PATH');
}

const { store, close } = await openStore();
const app = express();
app.use((_req, res, next) => {
  res.setHeader('X-Instance', instance);
  next();
});
app.use(express.json());
app.use(session({ secret, store, warn: () => {} }));

app.post('/login', async (req, res) => {
  await req.session.login(String((req.body as { userId: unknown }).userId));
  res.json({ ok: true });
});
app.get('/me', requireAuth(), (req, res) => {
  res.json({ userId: req.session.meta?.userId, handle: req.sessionID });
});
app.get('/sessions', requireAuth(), async (req, res) => {
  res.json(await req.session.listSessions());
});
/** Keeps the process busy for `?ms=` milliseconds of synchronous work, as a slow handler does. */
app.post('/busy', (req, res) => {
  const until = Date.now() + Math.min(Number(req.query.ms) || 0, 1_000);
  while (Date.now() < until);
  res.json({ ok: true });
});
app.get('/cache-stats', (_req, res) => {
  res.json(cacheStats());
});
app.post('/logout', async (req, res) => {
  await req.session.logout();
  res.json({ ok: true });
});
app.post('/logout-all', requireAuth(), async (req, res) => {
  res.json({ count: await req.session.logoutEverywhere({ includeCurrent: true }) });
});

const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => {
    void close().finally(() => process.exit(0));
  });
});
