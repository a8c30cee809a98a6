/**
 * The benchmark: `node --import tsx bench/run.ts [--quick | --smoke] [--out FILE] [--json FILE]`.
 * Starts Redis and PostgreSQL, every server in bench/servers/, runs the case matrix with wrk, the
 * Redis census, the renewal check, the targets (with a CPU profile of a server that misses one) and
 * the scale runs, then writes the report (bench/RESULTS.md by default; a temp file with --smoke).
 * `--render FILE.json` writes the report again from a saved run.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { findBinary } from '../test/support/servers.js';
import { CASES, MODES, type Mode, SERVERS, type StoreKind } from './config.js';
import { type Census, type CensusCase, redisCensus } from './lib/census.js';
import { type EngineCost, measureEngineCost } from './lib/engine-cost.js';
import { runMatrix } from './lib/matrix.js';
import type { BenchContext } from './lib/measure.js';
import { runPaired } from './lib/paired.js';
import { type BenchPostgres, findPostgres, startBenchPostgres } from './lib/postgres.js';
import { removeOnExit } from './lib/processes.js';
import { type Profile, profileServer } from './lib/profile.js';
import { type BenchRedis, startBenchRedis } from './lib/redis.js';
import { checkRenewal, type RenewalCheck } from './lib/renewal.js';
import { type BenchReport, renderReport } from './lib/report.js';
import { checkMemoryBound, runScale } from './lib/scale.js';
import { LOAD_CORE, missingRequirement, type RunningServer, startServer } from './lib/servers.js';
import { evaluateTargets, scaleTarget } from './lib/targets.js';

const argv = process.argv.slice(2);
const option = (name: string) => {
  const index = argv.indexOf(name);
  return index === -1 ? undefined : argv[index + 1];
};
const mode: Mode = argv.includes('--smoke') ? 'smoke' : argv.includes('--quick') ? 'quick' : 'full';
const settings = MODES[mode];
const started = performance.now();
const log = (line: string) =>
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1)}s] ${line}\n`);
const version = (command: string, args: string[]) => {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      .split('\n')[0]!
      .trim();
  } catch (error) {
    return ((error as { stdout?: string }).stdout ?? '').split('\n')[0]!.trim() || 'unknown';
  }
};
const packageVersion = (name: string) =>
  (JSON.parse(readFileSync(`node_modules/${name}/package.json`, 'utf8')) as { version: string }).version;

process.once('SIGINT', () => process.exit(130));

// `--render FILE.json`: writes the report again from a run's --json output, without running anything.
const rendering = option('--render');
if (rendering) {
  const saved = JSON.parse(readFileSync(rendering, 'utf8')) as BenchReport & {
    results: Record<string, Record<string, unknown>>;
    census: Record<string, Record<string, unknown>>;
  };
  const maps = (value: Record<string, Record<string, unknown>>) =>
    new Map(Object.entries(value).map(([key, inner]) => [key, new Map(Object.entries(inner))]));
  const report = { ...saved, results: maps(saved.results), census: maps(saved.census) } as BenchReport;
  writeFileSync(option('--out') ?? 'bench/RESULTS.md', renderReport(report));
  process.exit(0);
}
process.once('SIGTERM', () => process.exit(143));

const wrk = findBinary('wrk');
if (!wrk) {
  console.error('wrk is not installed (apt-get install wrk): the benchmark cannot run');
  process.exit(1);
}
const redisBinary = findBinary('redis-server');
const postgresBinary = findPostgres();
const workDir = mkdtempSync(join(tmpdir(), 'coatcheck-bench-'));
removeOnExit(workDir);
const loadStart = loadavg()
  .map((v) => v.toFixed(2))
  .join(' ');
const startedAt = new Date().toISOString();

let redis: BenchRedis | null = null;
let postgres: BenchPostgres | null = null;
const servers: RunningServer[] = [];

/** Runs one phase after the matrix; a failure becomes a note in the report instead of losing the run. */
async function attempt<T>(what: string, run: () => Promise<T>): Promise<T | null> {
  try {
    return await run();
  } catch (error) {
    const message = `${what} failed: ${error instanceof Error ? error.message : String(error)}`;
    log(message);
    notes.push(message);
    return null;
  }
}
const skipped: Record<string, string> = {};
const notes: string[] = [];

try {
  if (redisBinary) redis = await startBenchRedis(redisBinary, LOAD_CORE);
  if (postgresBinary) postgres = await startBenchPostgres(postgresBinary, LOAD_CORE);
  const pgUrl = postgres ? await postgres.createDatabase('bench') : '';
  const unavailable: Record<StoreKind, string | null> = {
    none: null,
    memory: null,
    sqlite: null,
    redis: redis ? null : 'redis-server is not installed',
    postgres: postgres ? null : 'postgres is not installed',
  };
  const env: Record<string, string> = {
    BENCH_REDIS_URL: redis?.url ?? '',
    BENCH_PG_URL: pgUrl,
    BENCH_SQLITE_PATH: join(workDir, 'main.db'),
  };
  for (const spec of SERVERS) {
    const missing = missingRequirement(spec);
    const reason = missing ? `${missing} is not in the source tree yet` : unavailable[spec.store];
    if (reason) {
      skipped[spec.id] = reason;
      log(`skipping ${spec.id}: ${reason}`);
      continue;
    }
    try {
      servers.push(await startServer(spec, env));
    } catch (error) {
      skipped[spec.id] = error instanceof Error ? error.message : String(error);
      log(`skipping ${spec.id}: ${skipped[spec.id]}`);
    }
  }
  log(`mode ${mode}: ${servers.length} servers, ${CASES.length} cases, ${settings.repetitions} repetitions`);
  const context: BenchContext = { settings, workDir, wrk, redis, postgres, postgresDatabase: 'bench' };
  const results = await runMatrix(
    servers.filter((server) => !server.spec.pairedOnly),
    context,
    log,
  );
  const paired = (await attempt('paired runs', () => runPaired(servers, context, log))) ?? [];

  const census = new Map<string, Map<CensusCase, Census>>();
  for (const server of servers.filter((s) => s.spec.store === 'redis' && !s.spec.pairedOnly && redis)) {
    const byCase = new Map<CensusCase, Census>();
    for (const caseId of [...CASES.map((spec) => spec.id), 'relogin' as const]) {
      const counted = await attempt(`census ${server.spec.id} ${caseId}`, () =>
        redisCensus(redis!.url, server, caseId, mode === 'smoke' ? 10 : 50),
      );
      if (counted) byCase.set(caseId, counted);
    }
    census.set(server.spec.id, byCase);
  }
  const renewal: RenewalCheck[] = [];
  for (const server of servers.filter((s) => s.spec.coatcheck)) {
    const check = await attempt(`renewal check ${server.spec.id}`, () => checkRenewal(server, context));
    if (!check) continue;
    renewal.push(check);
    log(
      `renewal ${server.spec.id}: max ${check.maxWritesPerSession} writes/session, allowed ${check.allowedPerSession}`,
    );
  }
  const targets = evaluateTargets(results, renewal, census, paired);
  await Promise.all(servers.splice(0).map((server) => server.stop()));

  const engineStores: EngineCost['store'][] = ['memory', 'sqlite', ...(redis ? (['redis'] as const) : [])];
  const engine =
    (await attempt('engine cost', () =>
      measureEngineCost(
        engineStores,
        { ...env, BENCH_SQLITE_PATH: join(workDir, 'engine.db') },
        settings.engineReads,
        settings.engineRounds,
      ),
    )) ?? [];
  for (const cost of engine) log(`engine ${cost.store}: ${cost.median.toFixed(1)} µs CPU per read`);

  const profiles: Profile[] = [];
  const toProfile = new Set(targets.filter((t) => t.met === false && t.profile).map((t) => t.profile!));
  if (settings.profile) {
    for (const id of toProfile) {
      const spec = SERVERS.find((s) => s.id === id)!;
      log(`profiling ${id} (a target was missed)`);
      const profile = await attempt(`profile of ${id}`, () => profileServer(spec, env, context));
      if (profile) profiles.push(profile);
    }
  }

  const scale = (await attempt('scale runs', () => runScale(context, unavailable, log))) ?? [];
  targets.push(scaleTarget(scale, settings.scaleSmall, settings.scaleLarge));
  const memory = await attempt('memory bound check', () =>
    checkMemoryBound(settings.memoryInserts, settings.memoryBound),
  );
  if (memory)
    log(`memory store: ${memory.finalSize} held of ${memory.inserts} inserted (bound ${memory.bound})`);

  for (const [name, server] of [
    ['redis-server', redis],
    ['PostgreSQL', postgres],
  ] as const) {
    if (server?.restarts) {
      notes.push(
        `${name} was stopped from outside the benchmark ${server.restarts}× and started again; runs that overlapped a restart show failed runs or errors.`,
      );
    }
  }
  const report: BenchReport = {
    mode,
    settings,
    machine: {
      CPU: `${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores`,
      memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
      kernel: `Linux ${release()}`,
      'load average (start → end)': `${loadStart} → ${loadavg()
        .map((v) => v.toFixed(2))
        .join(' ')}`,
    },
    versions: {
      node: process.version,
      coatcheck: (JSON.parse(readFileSync('packages/coatcheck/package.json', 'utf8')) as { version: string })
        .version,
      ...Object.fromEntries(
        [
          'express',
          'express-session',
          'connect-redis',
          'redis',
          'fastify',
          '@fastify/session',
          'hono',
          '@hono/node-server',
          'better-sqlite3',
          'pg',
        ].map((name) => [name, packageVersion(name)]),
      ),
      'redis-server': redisBinary
        ? version(redisBinary, ['--version']).replace(/^Redis server /, '')
        : 'absent',
      postgres: postgresBinary ? version(postgresBinary, ['--version']) : 'absent',
      wrk: version(wrk, ['-v']).split(' ').slice(0, 2).join(' '),
    },
    startedAt,
    seconds: (performance.now() - started) / 1000,
    skipped,
    results,
    paired,
    census,
    renewal,
    targets,
    profiles,
    engine,
    scale,
    memory,
    notes,
  };
  const out =
    option('--out') ??
    (mode === 'smoke' ? join(tmpdir(), `coatcheck-bench-smoke-${process.pid}.md`) : 'bench/RESULTS.md');
  writeFileSync(out, renderReport(report));
  const json = option('--json');
  if (json)
    writeFileSync(
      json,
      JSON.stringify(
        report,
        (_key, value: unknown) => (value instanceof Map ? Object.fromEntries(value) : value),
        2,
      ),
    );
  for (const target of targets)
    log(
      `${target.id} ${target.met === null ? 'not evaluated' : target.met ? 'met' : 'MISSED'}: ${target.measured}`,
    );
  log(`report written to ${out} (${Math.round(report.seconds)} s)`);
} finally {
  await Promise.all(servers.map((server) => server.stop()));
  await redis?.stop();
  await postgres?.stop();
  rmSync(workDir, { recursive: true, force: true });
}
