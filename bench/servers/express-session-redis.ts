/** express-session + connect-redis (node-redis v5 client) on BENCH_REDIS_URL. */
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import { serveExpressSession } from './express-session-app.js';

const url = process.env.BENCH_REDIS_URL;
if (!url) throw new Error('BENCH_REDIS_URL is not set');
const client = createClient({ url });
await client.connect();
serveExpressSession(new RedisStore({ client }), async () => {
  if (client.isOpen) await client.quit();
});
