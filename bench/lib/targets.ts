/** The read-path targets on Redis, evaluated from one run's medians. */
import type { CaseId } from '../config.js';
import type { Census } from './census.js';
import type { MatrixResults } from './matrix.js';
import type { RenewalCheck } from './renewal.js';
import { formatRatio } from './stats.js';

export interface TargetResult {
  id: string;
  target: string;
  measured: string;
  /** null when a row it needs did not run. */
  met: boolean | null;
  /** Server to profile when a throughput target is missed. */
  profile?: string;
}

function readFigure(results: MatrixResults, server: string, key: 'rps' | 'cpuUsPerRequest'): number | null {
  const value = results.get(server)?.get('read')?.[key];
  return value !== undefined && Number.isFinite(value) ? value : null;
}

/**
 * Judged on requests/s, as the target says. The CPU-time ratio (baseline µs/req over subject µs/req)
 * is shown beside it: it leaves out time other work on the machine took from the server's core.
 */
function ratioTarget(
  results: MatrixResults,
  id: string,
  target: string,
  [subject, baseline]: [string, string],
  minimum: number,
): TargetResult {
  const a = readFigure(results, subject, 'rps');
  const b = readFigure(results, baseline, 'rps');
  if (a === null || b === null) {
    return {
      id,
      target,
      measured: `not measured (${a === null ? subject : baseline} did not run)`,
      met: null,
    };
  }
  const ratio = a / b;
  const cpuA = readFigure(results, subject, 'cpuUsPerRequest');
  const cpuB = readFigure(results, baseline, 'cpuUsPerRequest');
  const cpu =
    cpuA && cpuB
      ? `; by CPU time per request ${formatRatio(cpuB / cpuA)} (${Math.round(cpuA)} vs ${Math.round(cpuB)} µs)`
      : '';
  return {
    id,
    target,
    measured: `${formatRatio(ratio)} (${Math.round(a)} vs ${Math.round(b)} req/s)${cpu}`,
    met: ratio >= minimum,
    profile: subject,
  };
}

export function evaluateTargets(
  results: MatrixResults,
  renewal: RenewalCheck[],
  census: Map<string, Map<CaseId, Census>>,
): TargetResult[] {
  const targets: TargetResult[] = [
    ratioTarget(
      results,
      'T1',
      'coatcheck Express + RedisStore ≥ 1.4× express-session + connect-redis (authenticated read)',
      ['cc-redis', 'es-redis'],
      1.4,
    ),
    ratioTarget(
      results,
      'T2',
      'coatcheck Express + RedisStore ≥ 85% of bare Express (authenticated read)',
      ['cc-redis', 'bare-express'],
      0.85,
    ),
  ];

  // Exact from the census (one request at a time); the timed runs' INFO commandstats figure is shown
  // too, a hair above 1 because requests still in flight at the end are not counted by wrk.
  const perRead = ['cc-redis', 'cc-core-redis'].flatMap((server) => {
    const exact = census.get(server)?.get('read');
    const timed = results.get(server)?.get('read')?.storeOpsPerRequest;
    return exact ? [{ server, exact, timed }] : [];
  });
  targets.push({
    id: 'T3',
    target: 'exactly 1 Redis command per authenticated read when no renewal is due',
    measured: perRead.length
      ? perRead
          .map(
            ({ server, exact, timed }) =>
              `${server}: ${exact.roundTrips.toFixed(2)} sent + ${exact.scriptCommands.toFixed(2)} in scripts (timed runs ${timed?.toFixed(3) ?? '—'})`,
          )
          .join('; ')
      : 'not measured',
    met: perRead.length
      ? perRead.every(({ exact }) => exact.roundTrips === 1 && exact.scriptCommands === 0)
      : null,
  });

  const checks = renewal.filter((check) => check.server.includes('redis'));
  targets.push({
    id: 'T4',
    target: 'renewal writes ≤ 1 per renewal interval per session (Redis rows)',
    measured: checks.length
      ? checks
          .map(
            (c) => `${c.server}: max ${c.maxWritesPerSession} writes/session, allowed ${c.allowedPerSession}`,
          )
          .join('; ')
      : 'not measured',
    met: checks.length ? checks.every((check) => check.met) : null,
  });

  const zero = ['cc-redis', 'cc-core-redis'].flatMap((server) =>
    (['anon', 'forged'] as const).flatMap((caseId) => {
      const max = results.get(server)?.get(caseId)?.maxStoreOpsPerRequest;
      return max == null ? [] : [[`${server} ${caseId}`, max] as const];
    }),
  );
  targets.push({
    id: 'T5',
    target: 'absent or forged cookie = 0 store commands',
    measured: zero.length
      ? zero.map(([label, v]) => `${label} ${v === 0 ? '0' : v.toFixed(4)}`).join(', ')
      : 'not measured',
    met: zero.length ? zero.every(([, v]) => v === 0) : null,
  });

  targets.push(
    ratioTarget(
      results,
      'T6',
      'coatcheck core on node:http + RedisStore ≥ 45% of bare node:http',
      ['cc-core-redis', 'bare-node'],
      0.45,
    ),
  );
  return targets;
}
