/**
 * `npm run chaos`: every fault scenario, a soak and the fuzz; writes chaos/RESULTS.md and exits
 * non-zero when an invariant fails. `npm run chaos -- fuzz` runs only the fuzz (1,000,000 requests) and writes chaos/RESULTS-fuzz.md.
 * `--only=<scenario>,…` picks scenarios; CHAOS_FUZZ_MINUTES bounds the fuzz (default 12, 120 alone). Outside CI a missing binary is announced and its
 * scenarios skipped; with CI=true it is a failure.
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { findPostgres } from '../test/support/postgres-server.js';
import { hasRedis } from '../test/support/redis-server.js';
import { requireBinary } from '../test/support/servers.js';
import { redisBackend } from './backends.js';
import { type FuzzResult, runFuzz } from './fuzz.js';
import { type Report, renderReport, type SoakSample } from './report.js';
import { type LoadSettings, runScenario } from './runner.js';
import { SCENARIOS, type Scenario } from './scenarios.js';

// Every Redis server and app process the suite starts registers an exit hook that stops it.
process.setMaxListeners(64);
const args = process.argv.slice(2);
const fuzzOnly = args.includes('fuzz');
const only = args
  .find((arg) => arg.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');

const SETTINGS: LoadSettings = {
  rate: 800,
  durationMs: 40_000,
  writers: 200,
  signIns: 100,
  warmupMs: 10_000,
  outageMs: 8_000,
};
const SOAK: LoadSettings = { ...SETTINGS, durationMs: 180_000, warmupMs: 0, outageMs: 0 };
const SOAK_SAMPLE_MS = 15_000;
const FUZZ_REQUESTS = 1_000_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const haproxy = requireBinary('haproxy', ['/usr/sbin/haproxy']);
const available = { redis: hasRedis, postgres: findPostgres() !== null };
const started = new Date();
const report: Report = {
  mode: fuzzOnly ? 'fuzz' : 'full',
  startedAt: started,
  loadBefore: loadavg(),
  settings: SETTINGS,
  soakSettings: null,
  results: [],
  skipped: [],
  soak: null,
  fuzz: null,
  fuzzTarget: FUZZ_REQUESTS,
};

function log(message: string): void {
  console.log(`[chaos ${Math.round((Date.now() - started.getTime()) / 1000)} s] ${message}`);
}

if (!fuzzOnly) {
  for (const scenario of SCENARIOS.filter((s) => !only || only.includes(s.name))) {
    if (!haproxy || !available[scenario.needs]) {
      const missing = haproxy ? scenario.needs : 'haproxy';
      console.warn(`\n*** SKIPPING ${scenario.name}: ${missing} is not installed ***\n`);
      report.skipped.push(`${scenario.name}: ${missing} is not installed`);
      continue;
    }
    log(`${scenario.name}: ${scenario.what}`);
    const result = await runScenario(scenario, SETTINGS, haproxy);
    report.results.push(result);
    log(`${scenario.name}: ${result.failures.length ? `FAIL ${result.failures.join('; ')}` : 'pass'}`);
  }
  if (haproxy && available.redis && (!only || only.includes('soak'))) {
    log(`soak: ${SOAK.durationMs / 1000} s`);
    const samples: SoakSample[] = [];
    const soakScenario: Scenario = {
      name: 'soak',
      what: 'no fault',
      keepsData: true,
      needs: 'redis',
      setup: async () => ({ backend: await redisBackend('node-redis', false), fault: async () => null }),
    };
    const result = await runScenario(soakScenario, SOAK, haproxy, async (fleet, count, elapsed) => {
      while (elapsed() < SOAK.durationMs - SOAK_SAMPLE_MS / 2) {
        const [heaps, counts] = await Promise.all([fleet.heaps(), count()]);
        samples.push({
          atS: Math.round(elapsed() / 1000),
          heapsMiB: heaps.map((bytes) => bytes / 2 ** 20),
          ...counts,
        });
        await sleep(SOAK_SAMPLE_MS);
      }
    });
    report.soak = { result, samples };
    report.soakSettings = SOAK;
    log(`soak: ${result.failures.length ? `FAIL ${result.failures.join('; ')}` : 'pass'}`);
  }
}

// The fuzz alone writes its own file, so it never replaces the scenarios' table.
const results = new URL(fuzzOnly ? './RESULTS-fuzz.md' : './RESULTS.md', import.meta.url);
// Written before the fuzz too, so a fuzz that cannot start leaves the scenarios' results behind.
writeFileSync(results, renderReport(report));
log(`fuzz: ${FUZZ_REQUESTS} requests`);
try {
  report.fuzz = await runFuzz({
    requests: FUZZ_REQUESTS,
    concurrency: 8,
    seed: Date.now() % 1_000_000,
    maxMs: Number(process.env.CHAOS_FUZZ_MINUTES ?? (fuzzOnly ? 120 : 12)) * 60_000,
  });
  log(`fuzz: ${report.fuzz.requests} requests, ${report.fuzz.failures.length} failures`);
} catch (error) {
  console.error('fuzz could not run:', error);
}
writeFileSync(results, renderReport(report));
const failed = [...report.results, ...(report.soak ? [report.soak.result] : [])].flatMap((result) =>
  result.failures.map((failure) => `${result.name}: ${failure}`),
);
const fuzz = report.fuzz as FuzzResult | null;
if (!fuzz || fuzz.status500 || fuzz.crashed || fuzz.failures.length)
  failed.push(`fuzz: see ${results.pathname}`);
if (process.env.CI === 'true' && report.skipped.length) failed.push('binaries missing in CI');
log(failed.length ? `FAILED:\n${failed.join('\n')}` : 'every invariant held');
process.exitCode = failed.length ? 1 : 0;
