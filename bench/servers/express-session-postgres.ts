/** express-session + connect-pg-simple (its own pg pool) on BENCH_PG_URL: the same database coatcheck's PostgresStore uses. */
import { createRequire } from 'node:module';
import session from 'express-session';
import { serveExpressSession } from './express-session-app.js';

const connectionString = process.env.BENCH_PG_URL;
if (!connectionString) throw new Error('BENCH_PG_URL is not set');
// connect-pg-simple ships no type declarations and is a CommonJS factory taking express-session.
type PgStoreClass = new (options: Record<string, unknown>) => object & { close(): void };
const connectPgSimple = createRequire(import.meta.url)('connect-pg-simple') as (
  expressSession: typeof session,
) => PgStoreClass;
const PgStore = connectPgSimple(session);
const store = new PgStore({
  conString: connectionString,
  createTableIfMissing: true,
  // The benchmark measures requests; the pruner's periodic DELETE would only add noise.
  pruneSessionInterval: false,
});
serveExpressSession(store, async () => store.close());
