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
import { CASES, SERVERS, type StoreKind } from '../config.js';
import { SECRET } from '../servers/common.js';
import { type BenchContext, measure, type Sample } from './measure.js';
import { seedPostgres, seedRecord, seedRedis, seedSqlite, seedThroughApi } from './seed.js';
import { missingRequirement, type RunningServer, startServer } from './servers.js';
import { median } from './stats.js';

export interface UserOps {
  k: number;
  listMs: number;
  revokeMs: number;
}

export interface StoreScale {
  store: StoreKind;
  status: 'ran' | 'skipped';
  reason?: string;
  /** Per population: every timed run, and the one with the median p99. */
  reads: { population: number; seedSeconds: number; sample: Sample; samples: Sample[] }[];
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

interface Opened {
  store: SessionStore;
  env: Record<string, string>;
  seed(from: number, to: number): Promise<void>;
  /**
   * The memory store lives in the server's process: the server is started anew for each
   * population and seeds its own store (BENCH_MEMORY_SEED); `store` is a second one in this
   * process, seeded alike, for the list and revoke timings.
   */
  seedsInServer?: boolean;
  close(): Promise<void>;
}

async function open(kind: StoreKind, context: BenchContext): Promise<Opened> {
  if (kind === 'memory') {
    const store = new MemoryStore({ maxSessions: 2_000_000 });
    return {
      store,
      env: {},
      seed: (from, to) => seedThroughApi(store, from, to),
      seedsInServer: true,
      close: () => store.close(),
    };
  }
  if (kind === 'sqlite') {
    const path = join(context.workDir, 'scale.db');
    const store = new SqliteStore({ path, sweepIntervalMs: 0 });
    return {
      store,
      env: { BENCH_SQLITE_PATH: path },
      seed: (from, to) => seedSqlite(store, from, to),
      close: () => store.close(),
    };
  }
  if (kind === 'redis') {
    await context.redis!.flush();
    const client = createClient({ url: context.redis!.url });
    await client.connect();
    const { RedisStore } = (await import(
      new URL('../../packages/coatcheck/dist/esm/stores/redis.js', import.meta.url).href
    )) as {
      RedisStore: new (options: { client: unknown }) => SessionStore;
    };
    const store = new RedisStore({ client });
    return {
      store,
      env: { BENCH_REDIS_URL: context.redis!.url },
      seed: (from, to) => seedRedis(store, client as never, from, to),
      close: async () => {
        await store.close();
        await client.quit();
      },
    };
  }
  const url = await context.postgres!.createDatabase(context.postgresDatabase);
  const { PostgresStore } = (await import(
    new URL('../../packages/coatcheck/dist/esm/stores/postgres.js', import.meta.url).href
  )) as {
    PostgresStore: new (options: { connectionString: string; pruneIntervalMs: number }) => SessionStore;
  };
  const store = new PostgresStore({ connectionString: url, pruneIntervalMs: 0 });
  return {
    store,
    env: { BENCH_PG_URL: url },
    seed: (from, to) => seedPostgres(store, from, to),
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

export async function runScale(
  context: BenchContext,
  available: Record<StoreKind, string | null>,
  log: (line: string) => void,
): Promise<StoreScale[]> {
  const { settings } = context;
  const scaleContext: BenchContext = { ...context, postgresDatabase: 'bench_scale' };
  const results: StoreScale[] = [];
  for (const kind of ['memory', 'sqlite', 'redis', 'postgres'] as const) {
    const spec = SERVERS.find((server) => server.store === kind && server.id.startsWith('cc-'))!;
    const missing = missingRequirement(spec);
    const skip = available[kind] ?? (missing ? `${missing} is not in the source tree yet` : null);
    if (skip) {
      results.push({ store: kind, status: 'skipped', reason: skip, reads: [], userOps: [] });
      continue;
    }
    const opened = await open(kind, scaleContext);
    const result: StoreScale = { store: kind, status: 'ran', reads: [], userOps: [] };
    let seeded = 0;
    let server: RunningServer | null = null;
    try {
      for (const population of [settings.scaleSmall, settings.scaleLarge]) {
        const started = performance.now();
        if (opened.seedsInServer) {
          await server?.stop();
          server = await startServer(spec, { ...opened.env, BENCH_MEMORY_SEED: String(population) });
        }
        await opened.seed(seeded, population);
        seeded = population;
        const seedSeconds = (performance.now() - started) / 1000;
        log(`scale ${kind}: ${population} sessions stored in ${seedSeconds.toFixed(1)} s`);
        server ??= await startServer(spec, opened.env);
        const read = CASES.find((c) => c.id === 'read')!;
        await measure(server, read, scaleContext, `scale${population}-warmup`, 1);
        const samples: Sample[] = [];
        for (let i = 0; i < settings.scaleRepetitions; i++) {
          samples.push(await measure(server, read, scaleContext, `scale${population}-${i}`));
        }
        const byP99 = [...samples].sort((a, b) => a.p99Us - b.p99Us);
        const sample = byP99[Math.floor((byP99.length - 1) / 2)]!;
        result.reads.push({ population, seedSeconds, sample, samples });
        log(
          `scale ${kind} ${population}: read p99 ${byP99.map((s) => (s.p99Us / 1000).toFixed(2)).join(', ')} ms, errors ${samples.reduce((n, s) => n + s.errors, 0)}`,
        );
      }
      await server?.stop();
      server = null;
      for (const k of settings.userSessionCounts) {
        result.userOps.push(await timeUserOps(opened.store, k, 3));
      }
    } catch (error) {
      result.status = 'skipped';
      result.reason = `failed: ${error instanceof Error ? error.message : String(error)}`;
      log(`scale ${kind} ${result.reason}`);
    } finally {
      await server?.stop();
      await opened.close();
    }
    results.push(result);
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
