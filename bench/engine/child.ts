/**
 * Child process of bench/lib/engine-cost.ts, pinned to the server core: authenticated reads through
 * coatcheck's engine alone (`load`, `commit`, `cookieHeaders`), no HTTP, on one store. Prints
 * `ENGINE {"perRead":[…]}`: CPU µs per read of each round (process user + system time), or with
 * MEASURE=heap the JavaScript heap bytes allocated per read in each round: the heap is collected
 * before a round and must not be collected during it, so run with `--expose-gc` and a young
 * generation larger than a round allocates (`--min-semi-space-size=64 --max-semi-space-size=64`).
 * Env: STORE (memory | sqlite | redis), BENCH_REDIS_URL, BENCH_SQLITE_PATH, READS, ROUNDS, MEASURE.
 */
import { createSessionEngine, type SessionEngine } from 'coatcheck';
import { SqliteStore } from 'coatcheck/stores/sqlite';
import { GUESS_LIMIT, SECRET } from '../servers/common.js';
import { openMemoryStore, openRedisStore } from '../servers/stores.js';

const kind = process.env.STORE ?? 'memory';
const reads = Number(process.env.READS ?? 100_000);
const rounds = Number(process.env.ROUNDS ?? 5);
const SESSIONS = 64;
const CONCURRENCY = 32;
const USER_AGENT = 'coatcheck-bench';

async function openStore() {
  if (kind === 'memory') return openMemoryStore();
  if (kind === 'sqlite') {
    const store = new SqliteStore({ path: process.env.BENCH_SQLITE_PATH! });
    return { store, close: () => store.close() };
  }
  return openRedisStore();
}

const { store, close } = await openStore();
const engine: SessionEngine = createSessionEngine({
  secret: SECRET,
  store,
  warn: () => {},
  guessLimit: GUESS_LIMIT,
});
const info = (cookieHeader?: string) => ({
  cookieHeader,
  secure: false,
  ip: '127.0.0.1',
  userAgent: USER_AGENT,
});
const cookies: string[] = [];
for (let i = 0; i < SESSIONS; i++) {
  const state = await engine.load(info());
  await engine.login(state, `engine-user-${process.pid}-${i}`);
  await engine.commit(state);
  cookies.push(engine.cookieHeaders(state)[0]!.split(';')[0]!);
}
// The sign-ins end their event-loop turn before the reads start, as they would on a server: a store
// may treat the reads of a turn in which it wrote apart (SqliteStore reads them on its main connection).
await new Promise((resolve) => setImmediate(resolve));

/** `count` reads, CONCURRENCY at a time (as requests arrive under load), cycling through the cookies. */
async function run(count: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const cookie = cookies[next++ % SESSIONS];
      const state = await engine.load(info(cookie));
      if (!state.record) throw new Error('a benchmark session was not found');
      await engine.commit(state);
      engine.cookieHeaders(state);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** CPU µs per read over `count` reads. */
async function cpuPerRead(count: number): Promise<number> {
  const before = process.cpuUsage();
  await run(count);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / count;
}

/** Heap bytes allocated per read over `count` reads, from an emptied heap. */
async function heapPerRead(count: number): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('MEASURE=heap needs --expose-gc');
  gc();
  const before = process.memoryUsage().heapUsed;
  await run(count);
  return (process.memoryUsage().heapUsed - before) / count;
}

const heap = process.env.MEASURE === 'heap';
await run(Math.min(reads, 20_000));
const perRead: number[] = [];
for (let round = 0; round < rounds; round++) {
  perRead.push(heap ? await heapPerRead(Math.min(reads, 1_000)) : await cpuPerRead(reads));
}
process.stdout.write(`ENGINE ${JSON.stringify({ perRead })}\n`);
await close();
