/**
 * @fastify/session on Redis through a connect-style store: connect-redis with a node-redis v5 client
 * on BENCH_REDIS_URL, as @fastify/session's README shows.
 */
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import { serveFastifySession } from './fastify-session-app.js';

const url = process.env.BENCH_REDIS_URL;
if (!url) throw new Error('BENCH_REDIS_URL is not set');
const client = createClient({ url });
await client.connect();
await serveFastifySession(new RedisStore({ client }), async () => {
  if (client.isOpen) await client.quit();
});
