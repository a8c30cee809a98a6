/**
 * Child process of test/engine/promoted-reads.test.ts (run with --expose-gc). Authenticated
 * reads through the engine on a MemoryStore while one store call stays in flight for the whole run,
 * with a young-generation collection every 320 reads and no full one; prints how many bytes the old
 * generation grew by. What a read allocates dies young, so the growth stays small; bookkeeping that
 * links each read's objects to an older one (a store-call table replaced every few dozen calls, each
 * linked to the next) promotes every read into the old generation and grows it by megabytes.
 * READS: reads to run (default 64,000). STORED: sessions stored first, each through `create` with
 * young collections between them (default 0): V8 then allocates a literal's objects in the old
 * generation if most of its objects lived on, which a copy the store keeps and a copy a read hands
 * out must not share.
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { createSessionEngine } from '../../packages/coatcheck/src/core/engine.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { makeRecord } from '../../packages/coatcheck/src/testing/conformance.js';
import { SECRET } from './app.js';

const gc = (globalThis as { gc?: (options?: { type: 'minor' | 'major' }) => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const reads = Number(process.env.READS ?? 64_000);
const SESSIONS = 64;
const CONCURRENCY = 32;

const store = new MemoryStore({ maxSessions: 1_000_000 });
const get = store.get.bind(store);
let held: (() => void) | null = null;
let holding = false;
const engine = createSessionEngine({ secret: SECRET, store, warn: () => {} });
const info = (cookieHeader?: string) => ({ cookieHeader, secure: false, ip: '127.0.0.1', userAgent: 'ua' });

for (let i = 0; i < Number(process.env.STORED ?? 0); i++) {
  await store.create(makeRecord({ userId: `stored-${i}` }));
  if (i % 500 === 499) gc({ type: 'minor' });
}

const cookies: string[] = [];
for (let i = 0; i < SESSIONS; i++) {
  const state = await engine.load(info());
  await engine.login(state, `user-${i}`);
  await engine.commit(state);
  cookies.push(engine.cookieHeaders(state)[0]!.split(';')[0]!);
}

// The next read's store call answers only when the run is over: one call outlives every collection.
store.get = (handle) => {
  if (!holding) return get(handle);
  holding = false;
  return new Promise((resolve) => {
    held = () => resolve(get(handle));
  });
};

async function run(count: number, collectEvery: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      if (n % collectEvery === collectEvery - 1) gc!({ type: 'minor' });
      const state = await engine.load(info(cookies[n % SESSIONS]));
      if (!state.record) throw new Error('a session was not found');
      await engine.commit(state);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

const oldSpace = () =>
  getHeapSpaceStatistics().find((space) => space.space_name === 'old_space')!.space_used_size;

await run(2_000, 320);
holding = true;
const slow = engine.load(info(cookies[0]));
await run(640, 32);
gc();
gc();
const before = oldSpace();
await run(reads, 320);
const grownBytes = oldSpace() - before;
held!();
await slow;
process.stdout.write(`${JSON.stringify({ grownBytes, reads })}\n`);
