/** A few generated sentences that read the tables: figures only, no adjectives the data do not carry. */
import type { CaseId } from '../config.js';
import { ownCost } from './owncost.js';
import type { BenchReport } from './report.js';
import { formatLatency, formatRatio, median } from './stats.js';

export function reading(report: BenchReport): string[] {
  const lines: string[] = [];
  const get = (server: string, caseId: CaseId) => report.results.get(server)?.get(caseId);
  const rps = (server: string, caseId: CaseId) => get(server, caseId)?.rps ?? Number.NaN;
  const pct = (a: number, b: number) => `${Math.round((100 * a) / b)}%`;
  const times = (a: number, b: number) => `${(a / b).toFixed(2)}×`;

  const cc = rps('cc-redis', 'read');
  const es = rps('es-redis', 'read');
  const bare = rps('bare-express', 'read');
  if (Number.isFinite(cc) && Number.isFinite(es)) {
    const ccOps = get('cc-redis', 'read')?.storeOpsPerRequest;
    const esOps = get('es-redis', 'read')?.storeOpsPerRequest;
    lines.push(
      `- Authenticated reads on Redis: coatcheck's Express adapter served ${Math.round(cc)} req/s, ${times(cc, es)} express-session + connect-redis (${Math.round(es)} req/s) and ${pct(cc, bare)} of bare Express, with ${ccOps?.toFixed(2) ?? '—'} Redis commands per read against ${esOps?.toFixed(2) ?? '—'} (connect-redis reads with GET and touches the TTL with EXPIRE on every request).`,
    );
  }
  const cpu = (server: string) => get(server, 'read')?.cpuUsPerRequest ?? Number.NaN;
  if ([cpu('cc-redis'), cpu('es-redis'), cpu('bare-express')].every(Number.isFinite)) {
    lines.push(
      `- In server CPU time per authenticated read (time other processes took from the server's core is not in it, though shared caches still move it between runs): coatcheck Express + Redis ${Math.round(cpu('cc-redis'))} µs, express-session + connect-redis ${Math.round(cpu('es-redis'))} µs, bare Express ${Math.round(cpu('bare-express'))} µs, coatcheck core on node:http ${Math.round(cpu('cc-core-redis'))} µs, bare node:http ${Math.round(cpu('bare-node'))} µs.`,
    );
  }
  const own = (server: string) => ownCost(report.results, server, 'read')?.median;
  const ownPairs = (
    [
      ['Express + Redis', 'cc-redis', 'express-session + connect-redis', 'es-redis'],
      ['Fastify + Redis', 'cc-fastify-redis', '@fastify/session + connect-redis', 'fastify-redis'],
      ['Fastify + memory', 'cc-fastify-memory', '@fastify/session (memory)', 'fastify-memory'],
    ] as const
  ).filter(([, a, , b]) => own(a) !== undefined && own(b) !== undefined);
  if (ownPairs.length > 0) {
    lines.push(
      `- Own cost of an authenticated read (CPU µs/req above the bare framework): ${ownPairs.map(([name, a, peer, b]) => `coatcheck ${name} ${own(a)!.toFixed(0)} µs against ${peer} ${own(b)!.toFixed(0)} µs`).join('; ')}; coatcheck's Hono adapter ${own('cc-hono-redis')?.toFixed(0) ?? '—'} µs on Redis, its engine on node:http ${own('cc-core-redis')?.toFixed(0) ?? '—'} µs.`,
    );
  }
  const core = rps('cc-core-redis', 'read');
  const node = rps('bare-node', 'read');
  if (Number.isFinite(core) && Number.isFinite(node)) {
    lines.push(
      `- The engine used directly from node:http on Redis reached ${pct(core, node)} of bare node:http (${Math.round(core)} vs ${Math.round(node)} req/s).`,
    );
  }
  const sameStore: [string, string, string][] = [
    ['cc-memory', 'es-memory', 'in-process memory'],
    ['cc-redis', 'es-redis', 'Redis'],
    ['cc-postgres', 'es-postgres', 'PostgreSQL'],
  ];
  const pairs = sameStore.filter(
    ([a, b]) => Number.isFinite(rps(a, 'read')) && Number.isFinite(rps(b, 'read')),
  );
  if (pairs.length > 0) {
    lines.push(
      `- Against express-session on the same store, authenticated reads: ${pairs.map(([a, b, store]) => `${store} ${times(rps(a, 'read'), rps(b, 'read'))} (${Math.round(rps(a, 'read'))} vs ${Math.round(rps(b, 'read'))} req/s)`).join('; ')}.`,
    );
  }
  const fastest = [...report.results]
    .filter(([id]) => id.startsWith('cc-'))
    .map(([id, byCase]) => [id, byCase.get('read')?.rps ?? 0] as const)
    .sort((a, b) => b[1] - a[1]);
  if (fastest.length > 1) {
    lines.push(
      `- Across coatcheck's stores, authenticated reads ranked ${fastest.map(([id, value]) => `${id} ${Math.round(value)}`).join(' > ')} req/s.`,
    );
  }
  const renew = rps('cc-redis', 'renew');
  if (Number.isFinite(renew) && Number.isFinite(cc)) {
    lines.push(
      `- With renewal due on every request, coatcheck on Redis dropped to ${pct(renew, cc)} of its plain read rate; with the default interval (at most one write per minute per session) reads pay that cost once per interval.`,
    );
  }
  const login = rps('cc-redis', 'login');
  const esLogin = rps('es-redis', 'login');
  if (Number.isFinite(login) && Number.isFinite(esLogin)) {
    lines.push(
      `- Logins on Redis: coatcheck ${Math.round(login)} req/s (session + per-user index written) against express-session ${Math.round(esLogin)} req/s.`,
    );
  }
  for (const scale of report.scale) {
    if (scale.reads.length === 2 && scale.p99Ratios.length) {
      const [small, large] = scale.reads as [(typeof scale.reads)[0], (typeof scale.reads)[0]];
      const pause = (ms: number | null) => (ms === null ? '' : `, scavenges ${ms.toFixed(2)} ms`);
      lines.push(
        `- ${scale.store}: read p99 ${formatLatency(small.sample.p99Us)} with ${small.population.toLocaleString('en-US')} stored sessions${pause(small.scavengeMs)}, ${formatLatency(large.sample.p99Us)} with ${large.population.toLocaleString('en-US')}${pause(large.scavengeMs)}; per round the large population's p99 was ${formatRatio(median(scale.p99Ratios))} the small one's (median).`,
      );
    }
  }
  const racing = report.renewal.filter((check) => !check.met && check.errors === 0);
  if (racing.length) {
    lines.push(
      `- Renewal writes under concurrency: ${racing.map((c) => `${c.server} wrote one session up to ${c.maxWritesPerSession}× in ${(c.elapsedMs / 1000).toFixed(1)} s (allowed ${c.allowedPerSession})`).join('; ')}. Requests of one session that load it while its renewal write is still in flight each decide that renewal is due and write again.`,
    );
  }
  const missed = report.targets.filter((t) => t.met === false).map((t) => t.id);
  const open = report.targets.filter((t) => t.met === null).map((t) => t.id);
  lines.push(
    `- Targets: ${report.targets.filter((t) => t.met).length} met${missed.length ? `, missed: ${missed.join(', ')}` : ''}${open.length ? `, not evaluated: ${open.join(', ')}` : ''}.`,
  );
  const load = report.machine['load average (start → end)'];
  if (load)
    lines.push(
      `- Load average during the run: ${load}. Other work on the machine during a run lowers every row alike only roughly; compare rows of one run, not runs.`,
    );
  return lines;
}
