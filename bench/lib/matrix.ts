/**
 * The main matrix: every case on every server, repeated and interleaved (rep 1: case 1 on A, B, C …,
 * case 2 on A, B, C …; then rep 2 …), so drift over the run lands on every row alike.
 */
import { CASES, type CaseId } from '../config.js';
import type { BenchContext, Sample } from './measure.js';
import { measure } from './measure.js';
import type { RunningServer } from './servers.js';
import { median } from './stats.js';

export interface CaseSummary {
  rps: number;
  p50Us: number;
  p99Us: number;
  cpuUsPerRequest: number;
  foreignCpuPercent: number;
  storeOpsPerRequest: number | null;
  /** Largest store operations per request over the repetitions (the zero-command checks use it). */
  maxStoreOpsPerRequest: number | null;
  rssMiB: number;
  /** Summed over every repetition. */
  errors: number;
  requests: number;
  notes: string[];
  samples: Sample[];
}

export type MatrixResults = Map<string, Map<CaseId, CaseSummary>>;

/** The sample of a run that failed: no figures, one error, the reason as its note. */
export function failed(error: unknown): Sample {
  return {
    rps: Number.NaN,
    p50Us: Number.NaN,
    p99Us: Number.NaN,
    cpuUsPerRequest: Number.NaN,
    foreignCpuPercent: Number.NaN,
    storeOpsPerRequest: null,
    rssMiB: Number.NaN,
    errors: 1,
    requests: 0,
    note: `run failed: ${error instanceof Error ? error.message : String(error)}`.slice(0, 300),
  };
}

export function summarize(samples: Sample[]): CaseSummary {
  const ops = samples.map((s) => s.storeOpsPerRequest).filter((v): v is number => v !== null);
  return {
    rps: median(samples.map((s) => s.rps)),
    p50Us: median(samples.map((s) => s.p50Us)),
    p99Us: median(samples.map((s) => s.p99Us)),
    cpuUsPerRequest: median(samples.map((s) => s.cpuUsPerRequest)),
    foreignCpuPercent: median(samples.map((s) => s.foreignCpuPercent)),
    storeOpsPerRequest: ops.length ? median(ops) : null,
    maxStoreOpsPerRequest: ops.length ? Math.max(...ops) : null,
    rssMiB: median(samples.map((s) => s.rssMiB)),
    errors: samples.reduce((sum, s) => sum + s.errors, 0),
    requests: samples.reduce((sum, s) => sum + s.requests, 0),
    notes: [...new Set(samples.flatMap((s) => (s.note ? [s.note] : [])))],
    samples,
  };
}

export async function runMatrix(
  servers: RunningServer[],
  context: BenchContext,
  log: (line: string) => void,
): Promise<MatrixResults> {
  const { settings } = context;
  if (settings.warmupSec > 0) {
    const mix = CASES.find((c) => c.id === 'mix')!;
    for (const server of servers) {
      await measure(server, mix, context, 'warmup', settings.warmupSec).catch((error: unknown) =>
        log(`warm-up of ${server.spec.id} failed: ${String(error)}`),
      );
    }
  }
  const samples = new Map<string, Map<CaseId, Sample[]>>();
  for (let rep = 1; rep <= settings.repetitions; rep++) {
    for (const spec of CASES) {
      for (const server of servers) {
        const sample = await measure(server, spec, context, `r${rep}`).catch(failed);
        const byCase = samples.get(server.spec.id) ?? new Map<CaseId, Sample[]>();
        byCase.set(spec.id, [...(byCase.get(spec.id) ?? []), sample]);
        samples.set(server.spec.id, byCase);
        const ops =
          sample.storeOpsPerRequest === null ? '' : ` ${sample.storeOpsPerRequest.toFixed(2)} ops/req`;
        log(
          `rep ${rep}/${settings.repetitions} ${spec.id.padEnd(6)} ${server.spec.id.padEnd(14)} ` +
            `${Math.round(sample.rps)} req/s p99 ${(sample.p99Us / 1000).toFixed(2)} ms${ops} errors ${sample.errors}` +
            (sample.note ? ` (${sample.note})` : ''),
        );
      }
    }
  }
  const results: MatrixResults = new Map();
  for (const [id, byCase] of samples) {
    results.set(id, new Map([...byCase].map(([caseId, list]) => [caseId, summarize(list)])));
  }
  return results;
}
