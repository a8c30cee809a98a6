/**
 * Scale: read latency with a small and a large population of stored sessions on every store;
 * listing and revoking one user's k sessions among the large population; the memory store's bound
 * under many more inserts than it may hold.
 */
import { join } from 'node:path';
import { createSessionEngine } from 'coatcheck';
import { MemoryStore } from 'coatcheck/stores/memory';
import { SqliteStore } from 'coatcheck/stores/sqlite';
import { createClient } from 'redis';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';
import { findBinary } from '../../test/support/servers.js';
import { CASES, SERVERS, type ServerSpec, type StoreKind } from '../config.js';
import { SECRET } from '../servers/common.js';
import { type BenchContext, measure, type Sample } from './measure.js';
import { startBenchRedis } from './redis.js';
import { seedPostgres, seedRecord, seedRedis, seedSqlite, seedThroughApi } from './seed.js';
import { LOAD_CORE, missingRequirement, type RunningServer, startServer } from './servers.js';
import { median } from './stats.js';

export interface UserOps {
  k: number;
  listMs: number;
  revokeMs: number;
}

export interface PopulationReads {
  population: number;
  seedSeconds: number;
  /** The run with the median p99. */
  sample: Sample;
  /** Every timed run, in the order run. */
  samples: Sample[];
  /** The server's young-generation collections (V8 scavenges) during the last runs: median pause. */
  scavengeMs: number | null;
}

export interface StoreScale {
  store: StoreKind;
  status: 'ran' | 'skipped';
  reason?: string;
  /** The small population, then the large one. */
  reads: PopulationReads[];
  /** Per round: the large population's p99 over the small one's, from the two runs of that round. */
  p99Ratios: number[];
  userOps: UserOps[];
}

export interface MemoryBound {
  inserts: number;
  bound: number;
  finalSize: number;
  evicted: number;
  seconds: number;
  heapMiB: number;
  met: boolean;
}

/** One population of stored sessions in a store of its own, served by a server of its own. */
interface Population {
  env: Record<string, string>;
  /** What `measure` counts store commands on. */
  context: BenchContext;
  /** The store as this process sees it, for seeding and for the list and revoke timings. */
  store(): Promise<SessionStore>;
  /** Stores `count` sessions of other users (the memory store: has its server seed them). */
  seed(count: number): Promise<void>;
  close(): Promise<void>;
}

async function openPopulation(
  kind: Exclude<StoreKind, 'none'>,
  name: 'small' | 'large',
  context: BenchContext,
): Promise<Population> {
  if (kind === 'memory') {
    let store: MemoryStore | null = null;
    const env: Record<string, string> = {};
    return {
      env,
      context,
      async store() {
        store ??= new MemoryStore({ maxSessions: 2_000_000 });
        if (store.size === 0) await seedThroughApi(store, 0, context.settings.scaleLarge);
        return store;
      },
      // The store lives in the server's process: the server seeds it at start.
      seed: async (count) => {
        env.BENCH_MEMORY_SEED = String(count);
      },
      close: async () => store?.close(),
    };
  }
  if (kind === 'sqlite') {
    const path = join(context.workDir, `scale-${name}.db`);
    const store = new SqliteStore({ path, sweepIntervalMs: 0 });
    return {
      env: { BENCH_SQLITE_PATH: path },
      context,
      store: async () => store,
      seed: (count) => seedSqlite(store, 0, count),
      close: () => store.close(),
    };
  }
  if (kind === 'redis') {
    // A redis-server of its own per population, so that each holds only its own sessions.
    const redis = await startBenchRedis(findBinary('redis-server')!, LOAD_CORE);
    const client = createClient({ url: redis.url });
    await client.connect();
    const { RedisStore } = (await import(
      new URL('../../packages/coatcheck/dist/esm/stores/redis.js', import.meta.url).href
    )) as {
      RedisStore: new (options: { client: unknown }) => SessionStore;
    };
    const store = new RedisStore({ client });
    return {
      env: { BENCH_REDIS_URL: redis.url },
      context: { ...context, redis },
      store: async () => store,
      seed: (count) => seedRedis(store, client as never, 0, count),
      close: async () => {
        await store.close();
        await client.quit();
        await redis.stop();
      },
    };
  }
  const database = `bench_scale_${name}`;
  const url = await context.postgres!.createDatabase(database);
  const { PostgresStore } = (await import(
    new URL('../../packages/coatcheck/dist/esm/stores/postgres.js', import.meta.url).href
  )) as {
    PostgresStore: new (options: { connectionString: string; pruneIntervalMs: number }) => SessionStore;
  };
  const store = new PostgresStore({ connectionString: url, pruneIntervalMs: 0 });
  return {
    env: { BENCH_PG_URL: url },
    context: { ...context, postgresDatabase: database },
    store: async () => store,
    seed: (count) => seedPostgres(store, 0, count),
    close: () => store.close(),
  };
}

async function timeUserOps(store: SessionStore, k: number, repetitions: number): Promise<UserOps> {
  const engine = createSessionEngine({ store, secret: SECRET, warn: () => {} });
  const list: number[] = [];
  const revoke: number[] = [];
  for (let rep = 0; rep < repetitions; rep++) {
    const userId = `target-${k}-${rep}`;
    const records = Array.from({ length: k }, (_, i) =>
      seedRecord(`user${k}r${rep}x${String(i).padStart(12, '0')}`, userId),
    );
    await Promise.all(records.map((record) => store.create(record)));
    let start = performance.now();
    const listed = await engine.listUserSessions(userId);
    list.push(performance.now() - start);
    if (listed.length !== k) throw new Error(`listed ${listed.length} of ${k} sessions`);
    start = performance.now();
    const revoked = await engine.revokeUserSessions(userId);
    revoke.push(performance.now() - start);
    if (revoked !== k) throw new Error(`revoked ${revoked} of ${k} sessions`);
  }
  return { k, listMs: median(list), revokeMs: median(revoke) };
}

/** Median pause of the scavenges `--trace-gc` printed in the server's recent output, in ms. */
function scavengePause(output: string): number | null {
  const pauses = [...output.matchAll(/Scavenge [^,]*, ([\d.]+) \/ [\d.]+ ms/g)].map((m) => Number(m[1]));
  return pauses.length ? median(pauses) : null;
}

/**
 * Read latency with a small and a large population, each in a store and a server of its own: both
 * servers are warmed up, then timed in alternating rounds (small then large, then large then small),
 * so that drift on the machine and the servers' own warm-up fall on both alike.
 */
async function timeReads(
  kind: Exclude<StoreKind, 'none'>,
  spec: ServerSpec,
  context: BenchContext,
  result: StoreScale,
  log: (line: string) => void,
): Promise<Population> {
  const { settings } = context;
  const populations: Population[] = [];
  const servers: RunningServer[] = [];
  let timed = false;
  try {
    for (const [name, count] of [
      ['small', settings.scaleSmall],
      ['large', settings.scaleLarge],
    ] as const) {
      const population = await openPopulation(kind, name, context);
      populations.push(population);
      const started = performance.now();
      await population.seed(count);
      servers.push(await startServer(spec, population.env, ['--trace-gc']));
      const seedSeconds = (performance.now() - started) / 1000;
      log(`scale ${kind}: ${count} sessions stored in ${seedSeconds.toFixed(1)} s`);
      result.reads.push({ population: count, seedSeconds, sample: null!, samples: [], scavengeMs: null });
    }
    const read = CASES.find((c) => c.id === 'read')!;
    for (const [i, server] of servers.entries()) {
      await measure(server, read, populations[i]!.context, `scale-warmup${i}`, settings.scaleWarmupSec);
    }
    for (let round = 0; round < settings.scaleRounds; round++) {
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      for (const i of order) {
        const sample = await measure(servers[i]!, read, populations[i]!.context, `scale${i}-${round}`);
        result.reads[i]!.samples.push(sample);
      }
      const [small, large] = result.reads as [PopulationReads, PopulationReads];
      result.p99Ratios.push(large.samples[round]!.p99Us / small.samples[round]!.p99Us);
    }
    for (const [i, reads] of result.reads.entries()) {
      const byP99 = [...reads.samples].sort((a, b) => a.p99Us - b.p99Us);
      reads.sample = byP99[Math.floor((byP99.length - 1) / 2)]!;
      reads.scavengeMs = scavengePause(servers[i]!.pinned.output());
      log(
        `scale ${kind} ${reads.population}: read p99 ${reads.samples.map((s) => (s.p99Us / 1000).toFixed(2)).join(', ')} ms, scavenge ${reads.scavengeMs} ms, errors ${reads.samples.reduce((n, s) => n + s.errors, 0)}`,
      );
    }
    timed = true;
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    // The large population stays open for the list and revoke timings.
    await Promise.all(populations.slice(0, timed ? -1 : undefined).map((population) => population.close()));
  }
  return populations.at(-1)!;
}

export async function runScale(
  context: BenchContext,
  available: Record<StoreKind, string | null>,
  log: (line: string) => void,
): Promise<StoreScale[]> {
  const { settings } = context;
  const results: StoreScale[] = [];
  for (const kind of ['memory', 'sqlite', 'redis', 'postgres'] as const) {
    const spec = SERVERS.find((server) => server.store === kind && server.id.startsWith('cc-'))!;
    const missing = missingRequirement(spec);
    const skip = available[kind] ?? (missing ? `${missing} is not in the source tree yet` : null);
    const result: StoreScale = { store: kind, status: 'ran', reads: [], p99Ratios: [], userOps: [] };
    results.push(result);
    if (skip) {
      Object.assign(result, { status: 'skipped', reason: skip });
      continue;
    }
    let large: Population | null = null;
    try {
      large = await timeReads(kind, spec, context, result, log);
      const store = await large.store();
      for (const k of settings.userSessionCounts) result.userOps.push(await timeUserOps(store, k, 3));
    } catch (error) {
      result.status = 'skipped';
      result.reason = `failed: ${error instanceof Error ? error.message : String(error)}`;
      log(`scale ${kind} ${result.reason}`);
    } finally {
      await large?.close();
    }
  }
  return results;
}

/** Inserts many more sessions than the memory store may hold, and checks it held its bound. */
export async function checkMemoryBound(inserts: number, bound: number): Promise<MemoryBound> {
  let evicted = 0;
  const store = new MemoryStore({ maxSessions: bound, onEvict: () => evicted++ });
  const started = performance.now();
  let finalSize = 0;
  for (let start = 0; start < inserts; start += 10_000) {
    const batch: Promise<boolean>[] = [];
    for (let i = start; i < Math.min(inserts, start + 10_000); i++) {
      batch.push(store.create(seedRecord(`mem${String(i).padStart(16, '0')}`, `u${i % 1000}`)));
    }
    await Promise.all(batch);
    finalSize = Math.max(finalSize, store.size);
  }
  const seconds = (performance.now() - started) / 1000;
  const heapMiB = process.memoryUsage().heapUsed / 2 ** 20;
  await store.close();
  return {
    inserts,
    bound,
    finalSize,
    evicted,
    seconds,
    heapMiB,
    met: finalSize <= bound && evicted === inserts - bound,
  };
}
