/**
 * The session layer's own cost: a row's CPU µs/req minus that of its framework's bare row, taken
 * repetition by repetition (both ran in the same interleaved repetition), summarised by the median.
 */
import { BARE, type CaseId, type Framework, SERVERS, type StoreKind } from '../config.js';
import type { MatrixResults } from './matrix.js';
import type { BenchReport } from './report.js';
import { formatFixed, median } from './stats.js';

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** Finite values it summarises. */
  count: number;
}

/** Median, minimum and maximum of the finite values; null when there are none. */
export function spread(values: readonly number[]): Spread | null {
  const finite = values.filter((value) => Number.isFinite(value));
  if (finite.length === 0) return null;
  return { median: median(finite), min: Math.min(...finite), max: Math.max(...finite), count: finite.length };
}

/** `12 (8–15)`: a spread's median and range, in whole units. */
export function formatSpread(value: Spread | null, digits = 0): string {
  if (!value) return '—';
  const fixed = (n: number) => formatFixed(n, digits);
  return `${fixed(value.median)} (${fixed(value.min)}–${fixed(value.max)})`;
}

/**
 * Own CPU µs/req of `serverId` on `caseId`; null for a bare row, or when either row did not run.
 * Repetition k of the row is paired with repetition k of its bare row.
 */
export function ownCost(results: MatrixResults, serverId: string, caseId: CaseId): Spread | null {
  const spec = SERVERS.find((s) => s.id === serverId);
  if (!spec || BARE[spec.framework] === serverId) return null;
  const row = results.get(serverId)?.get(caseId)?.samples;
  const bare = results.get(BARE[spec.framework])?.get(caseId)?.samples;
  if (!row || !bare) return null;
  return spread(row.map((s, k) => s.cpuUsPerRequest - (bare[k]?.cpuUsPerRequest ?? Number.NaN)));
}

const ADAPTER: Record<Framework, string> = {
  node: 'engine on node:http',
  express: 'Express 5',
  fastify: 'Fastify 5',
  hono: 'Hono 4',
};
const STORE: Record<StoreKind, string> = {
  none: '—',
  memory: 'memory',
  sqlite: 'SQLite',
  redis: 'Redis',
  postgres: 'PostgreSQL',
};
const SUMMARY_CASES: [CaseId, string][] = [
  ['read', 'read'],
  ['renew', 'renewal'],
  ['login', 'login'],
  ['logout', 'logout'],
];

/** The summary at the top of the results: coatcheck's own cost per adapter and store, its peer's beside it. */
export function ownCostSummary(report: BenchReport): string[] {
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const cells = ['adapter', 'store', 'peer', ...SUMMARY_CASES.flatMap(([, name]) => [name, `${name}: peer`])];
  const lines = [
    `Own cost = the server's CPU µs/req minus that of the same framework without sessions (bare node:http, Express 5, Fastify 5, Hono 4 on @hono/node-server), both from the same repetition; median over ${report.settings.repetitions} repetitions. The peer is express-session on Express and @fastify/session on Fastify, on the same store; Hono and node:http have none here. "renewal" is \`GET /renew/me\`, where coatcheck renews on every request and the peers do what they do on every read.`,
    '',
    row(cells),
    row(cells.map(() => '---')),
  ];
  const cost = (id: string | undefined, caseId: CaseId) =>
    id ? formatFixed(ownCost(report.results, id, caseId)?.median ?? null, 0) : '—';
  for (const spec of SERVERS.filter((s) => s.coatcheck)) {
    const peer = SERVERS.find((s) => s.id === spec.peer);
    lines.push(
      row([
        ADAPTER[spec.framework],
        spec.variant ? `${STORE[spec.store]}, ${spec.variant}` : STORE[spec.store],
        peer?.label ?? '—',
        ...SUMMARY_CASES.flatMap(([caseId]) => [cost(spec.id, caseId), cost(peer?.id, caseId)]),
      ]),
    );
  }
  return lines;
}
