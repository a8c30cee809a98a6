/** coatcheck's engine directly on node:http, on SqliteStore (WAL), file from BENCH_SQLITE_PATH. */
import { SqliteStore } from 'coatcheck/stores/sqlite';
import { serveCoatcheckCore } from './coatcheck-core.js';

const path = process.env.BENCH_SQLITE_PATH;
if (!path) throw new Error('BENCH_SQLITE_PATH is not set');
const store = new SqliteStore({ path });
serveCoatcheckCore(store, () => store.close());
