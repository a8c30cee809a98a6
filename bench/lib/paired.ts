/**
 * Paired runs: each pair of PAIRS on the authenticated read, back to back, repetition after
 * repetition, so both halves of a ratio see the same moment of a shared, noisy machine. Who goes
 * first alternates, so a steady drift within a pair cancels out over the repetitions.
 */
import { CASES, PAIRS, SERVERS } from '../config.js';
import { failed } from './matrix.js';
import type { BenchContext } from './measure.js';
import { measure } from './measure.js';
import { formatSpread, type Spread, spread } from './owncost.js';
import type { BenchReport } from './report.js';
import type { RunningServer } from './servers.js';
import { formatFixed, formatRatio, median } from './stats.js';

export interface PairedRun {
  subject: string;
  baseline: string;
  /** Per repetition: subject req/s over baseline req/s. */
  ratios: number[];
  subjectCpu: number[];
  baselineCpu: number[];
  /** Other load on CPU 0 during each run, in %. */
  foreignCpuPercent: number[];
  errors: number;
}

/** The CPU µs/req difference (subject − baseline) per repetition: the own cost when the baseline is bare. */
export function cpuDifference(run: PairedRun): Spread | null {
  return spread(run.subjectCpu.map((cpu, k) => cpu - (run.baselineCpu[k] ?? Number.NaN)));
}

export async function runPaired(
  servers: RunningServer[],
  context: BenchContext,
  log: (line: string) => void,
): Promise<PairedRun[]> {
  const read = CASES.find((c) => c.id === 'read')!;
  const byId = new Map(servers.map((server) => [server.spec.id, server]));
  const runs: PairedRun[] = PAIRS.filter((p) => byId.has(p.subject) && byId.has(p.baseline)).map((p) => ({
    ...p,
    ratios: [],
    subjectCpu: [],
    baselineCpu: [],
    foreignCpuPercent: [],
    errors: 0,
  }));
  const total = context.settings.pairedRepetitions;
  for (let rep = 1; rep <= total; rep++) {
    for (const run of runs) {
      const order = rep % 2 === 1 ? [run.subject, run.baseline] : [run.baseline, run.subject];
      const samples = new Map<string, Awaited<ReturnType<typeof measure>>>();
      for (const id of order) {
        samples.set(id, await measure(byId.get(id)!, read, context, `p${rep}`).catch(failed));
      }
      const a = samples.get(run.subject)!;
      const b = samples.get(run.baseline)!;
      run.ratios.push(a.rps / b.rps);
      run.subjectCpu.push(a.cpuUsPerRequest);
      run.baselineCpu.push(b.cpuUsPerRequest);
      run.foreignCpuPercent.push(a.foreignCpuPercent, b.foreignCpuPercent);
      run.errors += a.errors + b.errors;
      log(
        `paired ${rep}/${total} ${run.subject} / ${run.baseline}: ${formatRatio(a.rps / b.rps)} ` +
          `(${Math.round(a.rps)} vs ${Math.round(b.rps)} req/s), CPU ${Math.round(a.cpuUsPerRequest)} vs ${Math.round(b.cpuUsPerRequest)} µs/req`,
      );
    }
  }
  return runs;
}

const labelOf = (id: string) => SERVERS.find((s) => s.id === id)?.label ?? id;

/** The paired-runs table of the report. */
export function pairedTable(report: BenchReport): string[] {
  const runs = report.paired ?? [];
  if (runs.length === 0) return ['No pair ran.'];
  const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  const cells = [
    'subject',
    'baseline',
    'repetitions',
    'req/s subject ÷ baseline: median (min–max)',
    'CPU µs/req subject − baseline: median (min–max)',
    'CPU µs/req subject / baseline (medians)',
    'other load on CPU 0 (median)',
    'errors',
  ];
  const { settings } = report;
  const lines = [
    `Each pair runs back to back on \`GET /me\` (${settings.durationSec} s each, who goes first alternating), ${settings.pairedRepetitions}× after the matrix; ratios and differences are taken within each repetition, then summarised. Against bare node:http the CPU difference is the own cost of the engine on node:http; between two rows on one framework it is the difference of their own costs.`,
    '',
    row(cells),
    row(cells.map(() => '---')),
  ];
  for (const run of runs) {
    const ratios = spread(run.ratios);
    lines.push(
      row([
        labelOf(run.subject),
        labelOf(run.baseline),
        ratios?.count ?? 0,
        ratios
          ? `${formatRatio(ratios.median)} (${formatRatio(ratios.min)}–${formatRatio(ratios.max)})`
          : '—',
        formatSpread(cpuDifference(run)),
        `${formatFixed(median(run.subjectCpu), 0)} / ${formatFixed(median(run.baselineCpu), 0)}`,
        `${formatFixed(median(run.foreignCpuPercent), 0)}%`,
        run.errors,
      ]),
    );
  }
  return lines;
}
