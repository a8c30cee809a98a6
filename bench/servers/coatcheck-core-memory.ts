/**
 * coatcheck's engine directly on node:http, on the bounded MemoryStore. With BENCH_MEMORY_SEED=n
 * the store first holds n seeded sessions of other users (the scale runs: an in-process store lives
 * in the server, so the server seeds it).
 */
import { seedThroughApi } from '../lib/seed.js';
import { serveCoatcheckCore } from './coatcheck-core.js';
import { openMemoryStore } from './stores.js';

const { store, close } = openMemoryStore();
const seeded = Number(process.env.BENCH_MEMORY_SEED ?? 0);
if (seeded > 0) await seedThroughApi(store, 0, seeded);
serveCoatcheckCore(store, close);
