/** bench/RESULTS.md, generated from one run's data; never edited by hand. */
import { BARE, CASES, type CaseId, type Mode, type ModeSettings, SERVERS } from '../config.js';
import type { Census, CensusCase } from './census.js';
import type { EngineCost } from './engine-cost.js';
import type { CaseSummary, MatrixResults } from './matrix.js';
import { ownCost, ownCostSummary } from './owncost.js';
import { type PairedRun, pairedTable } from './paired.js';
import type { Profile } from './profile.js';
import { reading } from './reading.js';
import type { RenewalCheck } from './renewal.js';
import type { MemoryBound, StoreScale } from './scale.js';
import { formatCount, formatFixed, formatLatency, formatMs, formatRatio } from './stats.js';
import type { TargetResult } from './targets.js';

export interface BenchReport {
  mode: Mode;
  settings: ModeSettings;
  machine: Record<string, string>;
  versions: Record<string, string>;
  startedAt: string;
  seconds: number;
  skipped: Record<string, string>;
  results: MatrixResults;
  /** Absent from reports saved before paired runs existed. */
  paired?: PairedRun[];
  census: Map<string, Map<CensusCase, Census>>;
  renewal: RenewalCheck[];
  targets: TargetResult[];
  profiles: Profile[];
  /** Absent from reports saved before the engine was measured alone. */
  engine?: EngineCost[];
  scale: StoreScale[];
  memory: MemoryBound | null;
  notes: string[];
}

const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
const header = (cells: string[]) => [row(cells), row(cells.map(() => '---'))];
const mark = (met: boolean | null) => (met === null ? 'not evaluated' : met ? '**met**' : '**missed**');

function caseTable(report: BenchReport, caseId: CaseId): string[] {
  const lines = header([
    'server',
    'req/s',
    'p50',
    'p99',
    'CPU µs/req',
    'own CPU µs/req',
    'other load on CPU 0',
    'store cmds/req',
    'RSS MiB',
    'errors',
    '× its bare framework',
    '× express-session + connect-redis',
  ]);
  const of = (id: string): CaseSummary | undefined => report.results.get(id)?.get(caseId);
  const peer = of('es-redis')?.rps ?? Number.NaN;
  for (const spec of SERVERS.filter((s) => !s.pairedOnly)) {
    const summary = of(spec.id);
    if (!summary) {
      lines.push(
        row([spec.label, `skipped: ${report.skipped[spec.id] ?? 'not run'}`, ...Array<string>(10).fill('')]),
      );
      continue;
    }
    const notes = summary.notes.length ? ` (${summary.notes.join('; ')})` : '';
    lines.push(
      row([
        spec.label,
        formatCount(summary.rps),
        formatLatency(summary.p50Us),
        formatLatency(summary.p99Us),
        formatFixed(summary.cpuUsPerRequest, 0),
        BARE[spec.framework] === spec.id
          ? 'baseline'
          : formatFixed(ownCost(report.results, spec.id, caseId)?.median ?? null, 0),
        `${formatFixed(summary.foreignCpuPercent, 0)}%`,
        formatFixed(summary.storeOpsPerRequest, 2),
        formatFixed(summary.rssMiB, 0),
        `${summary.errors}${notes}`,
        formatRatio(summary.rps / (of(BARE[spec.framework])?.rps ?? Number.NaN)),
        formatRatio(summary.rps / peer),
      ]),
    );
  }
  return lines;
}

function censusTable(report: BenchReport): string[] {
  if (report.census.size === 0) return ['No Redis-backed row ran.'];
  const columns: CensusCase[] = [...CASES.map((c) => c.id), 'relogin'];
  const lines = header(['server', ...columns.map((id) => (id === 'relogin' ? 'login again' : id))]);
  for (const [server, byCase] of report.census) {
    const label = SERVERS.find((s) => s.id === server)?.label ?? server;
    lines.push(
      row([
        label,
        ...columns.map((id) => {
          const census = byCase.get(id);
          return census ? `${census.roundTrips.toFixed(2)} (${census.scriptCommands.toFixed(1)})` : '—';
        }),
      ]),
    );
  }
  return lines;
}

function scaleTables(report: BenchReport): string[] {
  const { settings } = report;
  const lines = [
    `Read latency (GET /me) with stored sessions of other users. Each population has a store and a server of its own; both servers get ${settings.scaleWarmupSec} s of load, then ${settings.scaleRounds} round${settings.scaleRounds === 1 ? '' : 's'} of one ${settings.durationSec} s run each, alternating which goes first. Shown: the run with the median p99, the p99 of every run, and the median pause of the server's young-generation collections (V8 scavenges) during the last runs.`,
    '',
    ...header([
      'store',
      'stored sessions',
      'seeding and start',
      'req/s',
      'p50',
      'p99',
      'p99 of each run',
      'scavenge pause',
      'errors',
    ]),
  ];
  for (const scale of report.scale) {
    if (scale.status === 'skipped' && scale.reads.length === 0) {
      lines.push(row([scale.store, `skipped: ${scale.reason}`, '', '', '', '', '', '', '']));
      continue;
    }
    for (const read of scale.reads) {
      const s = read.sample;
      if (!s) continue;
      lines.push(
        row([
          scale.store,
          formatCount(read.population),
          `${read.seedSeconds.toFixed(1)} s`,
          formatCount(s.rps),
          formatLatency(s.p50Us),
          formatLatency(s.p99Us),
          read.samples.map((run) => formatLatency(run.p99Us)).join(', '),
          read.scavengeMs === null ? '—' : `${read.scavengeMs.toFixed(2)} ms`,
          read.samples.reduce((n, run) => n + run.errors, 0),
        ]),
      );
    }
  }
  lines.push(
    '',
    `List and revoke-all for one user with k sessions among ${formatCount(settings.scaleLarge)} others (engine API, median of 3):`,
    '',
    ...header(['store', ...settings.userSessionCounts.flatMap((k) => [`list k=${k}`, `revoke k=${k}`])]),
  );
  for (const scale of report.scale) {
    if (scale.userOps.length === 0) {
      lines.push(row([scale.store, `not measured${scale.reason ? `: ${scale.reason}` : ''}`]));
      continue;
    }
    lines.push(
      row([scale.store, ...scale.userOps.flatMap((op) => [formatMs(op.listMs), formatMs(op.revokeMs)])]),
    );
  }
  const memory = report.memory;
  if (memory) {
    lines.push(
      '',
      `MemoryStore with maxSessions = ${formatCount(memory.bound)}, ${formatCount(memory.inserts)} inserts: ` +
        `largest size seen ${formatCount(memory.finalSize)}, ${formatCount(memory.evicted)} evicted, ` +
        `${memory.seconds.toFixed(1)} s, harness heap ${memory.heapMiB.toFixed(0)} MiB afterwards: ` +
        `${memory.met ? '**within its bound**' : '**bound exceeded**'}.`,
    );
  }
  return lines;
}

export function renderReport(report: BenchReport): string {
  const { settings } = report;
  const out: string[] = [
    '# coatcheck benchmarks',
    '',
    `Generated by \`npm run bench\` (bench/run.ts, mode \`${report.mode}\`) on ${report.startedAt}; the whole run took ${Math.round(report.seconds)} s. Do not edit by hand: run the benchmark again.`,
    '',
    '## Machine',
    '',
    ...Object.entries(report.machine).map(([key, value]) => `- ${key}: ${value}`),
    `- versions: ${Object.entries(report.versions)
      .map(([name, version]) => `${name} ${version}`)
      .join(', ')}`,
    '',
    '## Method',
    '',
    `Every server is its own Node process pinned to CPU 0 (\`taskset -c 0\`); wrk (1 thread, ${settings.connections} connections), redis-server and PostgreSQL are pinned to CPU 1. Each case runs ${settings.durationSec} s (${CASES.filter(
      (c) => c.short,
    )
      .map((c) => c.id)
      .join(
        ', ',
      )}: ${settings.shortDurationSec} s) and is repeated ${settings.repetitions}× interleaved (case by case, every server in turn, then the next repetition); tables show medians, errors are summed over repetitions. Before each timed run, ${settings.sessions} sessions are created through the server's own \`POST /login\`; logout uses the sessions the login run just created. Servers run with NODE_ENV=production; their own files load through tsx (\`node --import tsx\`) and coatcheck from its build (\`dist/\`, what an application installs), as express-session and the other peers load from \`node_modules\`.`,
    '',
    '- CPU µs/req: utime + stime of the server process from /proc/<pid>/stat over the run, divided by the requests wrk completed (10 ms clock ticks).',
    '- store cmds/req: Redis `INFO commandstats` delta (INFO excluded; commands that Lua scripts run are counted too) or Postgres top-level statements from pg_stat_statements, divided by requests. In-process stores show —.',
    "- other load on CPU 0: busy time of CPU 0 (/proc/stat) not spent by the server, in % of the run: other work on the machine that took the server's core. Where it is high, requests/s and latency understate the server; CPU µs/req leaves that time out.",
    "- RSS: the server's resident memory after the run. Errors: socket errors plus responses outside 2xx/3xx.",
    '- Postgres runs with fsync and synchronous_commit off (a throwaway cluster): the figures measure the library, not the disk.',
    '- `/renew/me` is served by a coatcheck engine with `renewalIntervalMs: 1`, so renewal is due on every request; the peers have no renewal interval and do what they do on every read.',
    "- coatcheck's guess limiter (S44) stays on with its limit raised to 10⁹: every request comes from one address, which the default (20 invalid cookies a minute) answers with 429 after the 20th forged cookie. Its bookkeeping is still paid on every invalid cookie.",
    ...report.notes.map((note) => `- ${note}`),
    '',
    '## Results',
    '',
    '### Own cost of the session layer (CPU µs/req)',
    '',
    ...ownCostSummary(report),
    '',
    '### Paired runs (authenticated read)',
    '',
    ...pairedTable(report),
    '',
  ];
  for (const spec of CASES) out.push(`### ${spec.label}`, '', ...caseTable(report, spec.id), '');
  out.push(
    '### Redis round trips per request',
    '',
    'Requests sent one at a time while MONITOR records every command: commands sent by the server per request, and in parentheses the commands Lua scripts ran for it. "login" signs in a new user each time (no cookie, no user index yet); "login again" signs in a user who already has a session.',
    '',
    ...censusTable(report),
    '',
    '### Renewal writes',
    '',
    `${settings.renewCheckSessions} sessions, each requested by several of ${settings.connections} connections at once for ${settings.renewCheckSec} s on \`/renew-check/me\` (renewal interval 1 s); the server counts store updates per session.`,
    '',
    ...header([
      'server',
      'requests',
      'elapsed since login',
      'max writes/session',
      'allowed',
      'total writes',
      'store cmds/req',
      'errors',
      'result',
    ]),
    ...report.renewal.map((c) =>
      row([
        c.server,
        formatCount(c.requests),
        `${(c.elapsedMs / 1000).toFixed(1)} s`,
        c.maxWritesPerSession,
        c.allowedPerSession,
        c.totalWrites,
        formatFixed(c.storeOpsPerRequest, 3),
        c.errors,
        mark(c.met),
      ]),
    ),
    '',
    '### Engine cost per authenticated read, without HTTP',
    '',
    `\`load\`, \`commit\` and \`cookieHeaders\` of coatcheck's engine in one process pinned to CPU 0 (bench/engine/child.ts): 64 signed-in sessions, 32 reads in flight, ${formatCount(settings.engineReads)} reads per round; CPU µs per read (user + system time of the process: the store's client work included, no HTTP), median and range over ${settings.engineRounds} rounds. Heap bytes per read: JavaScript heap allocated per read in a second process (collected before each round of 1,000 reads, none during it; median of the rounds), the store's client included; it does not move with the machine's load.`,
    '',
    ...header(['store', 'CPU µs/read: median', 'min–max', 'heap bytes allocated/read']),
    ...(report.engine ?? []).map((cost) =>
      row([
        cost.store,
        cost.median.toFixed(1),
        `${Math.min(...cost.perRead).toFixed(1)}–${Math.max(...cost.perRead).toFixed(1)}`,
        cost.heapBytesPerRead === undefined ? '—' : formatCount(cost.heapBytesPerRead),
      ]),
    ),
    '',
    '## Targets',
    '',
    ...header(['', 'target', 'measured', 'result']),
    ...report.targets.map((t) => row([t.id, t.target, t.measured, mark(t.met)])),
    '',
  );
  for (const profile of report.profiles) {
    out.push(
      `### CPU profile of ${profile.server} under authenticated reads (self time)`,
      '',
      ...header(['function', 'share']),
      ...profile.functions.map((h) => row([`\`${h.name}\``, `${h.percent.toFixed(1)}%`])),
      '',
      ...header(['module', 'share']),
      ...profile.modules.map((h) => row([`\`${h.name}\``, `${h.percent.toFixed(1)}%`])),
      '',
    );
  }
  out.push('## Scale', '', ...scaleTables(report), '', '## Reading', '', ...reading(report), '');
  return out.join('\n');
}
