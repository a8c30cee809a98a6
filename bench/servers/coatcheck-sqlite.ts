/** coatcheck Express adapter on SqliteStore (WAL), file from BENCH_SQLITE_PATH. */
import { SqliteStore } from 'coatcheck/stores/sqlite';
import { serveCoatcheckExpress } from './coatcheck-express.js';

const path = process.env.BENCH_SQLITE_PATH;
if (!path) throw new Error('BENCH_SQLITE_PATH is not set');
const store = new SqliteStore({ path });
serveCoatcheckExpress(store, () => store.close());
