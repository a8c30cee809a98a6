import type { SessionEvent, SessionEventType } from '../core/events.js';
import { ANOMALY_REASONS } from './anomalies.js';
import type { MetricSet } from './metrics.js';
import { STORE_OPERATIONS } from './wrap-store.js';

const OPERATIONS = new Set<string>(STORE_OPERATIONS);

const CSRF_REASONS = new Set<string>([
  'cross-site',
  'same-site',
  'cross-site-subresource',
  'invalid-sec-fetch-site',
  'origin-null',
  'origin-mismatch',
  'referer-mismatch',
  'no-origin',
  'content-type',
  'missing-token',
  'invalid-token',
]);

const BINDING_REASONS = new Set<string>(['browser', 'network']);

const ANOMALIES = new Set<string>(ANOMALY_REASONS);

/** Label values come from fixed sets: whatever else an event carries is counted as `other`. */
function known(values: ReadonlySet<string>, value: string | undefined): string {
  return value !== undefined && values.has(value) ? value : 'other';
}

/** The operation and kind of a `store.error`, as the engine's store-call layer reports them. */
function storeFailure(event: SessionEvent): { operation: string; kind: string } {
  return { operation: known(OPERATIONS, event.operation), kind: event.failure ?? 'error' };
}

function rotationTrigger(reason: string | undefined): string {
  if (reason === undefined) return 'reissue';
  if (reason === 'schedule') return 'schedule';
  return reason === 'empty' ? 'regenerate' : 'other';
}

/** Events that end one session, and the `cause` each is counted under. */
const ENDED_BY: Partial<Record<SessionEventType, string>> = {
  'session.logout': 'logout',
  'session.expired.idle': 'idle',
  'session.expired.absolute': 'absolute',
  'session.evicted': 'evicted',
};

/** Counts one engine event into the metric set; events that no metric counts are ignored. */
export function countEvent(set: MetricSet, event: SessionEvent): void {
  switch (event.type) {
    case 'session.created':
      set.sessionsCreated.inc({ kind: 'anonymous' });
      return;
    case 'auth.login.success':
      set.sessionsCreated.inc({ kind: 'login' });
      return;
    case 'session.regenerated':
      set.sessionsRotated.inc({ trigger: rotationTrigger(event.reason) });
      return;
    case 'session.renewed':
      set.renewals.inc();
      return;
    case 'auth.login.failure':
      set.loginFailures.inc();
      return;
    case 'session.revoked':
      set.sessionsEnded.inc({ cause: event.by === 'binding' ? 'binding' : 'revoked' });
      return;
    case 'session.logout_all':
      if (event.count) set.sessionsEnded.inc({ cause: 'revoked' }, event.count);
      return;
    case 'csrf.reject':
    case 'csrf.report_only':
      set.csrfRejections.inc({
        reason: known(CSRF_REASONS, event.reason),
        mode: event.type === 'csrf.reject' ? 'enforce' : 'report-only',
      });
      return;
    case 'session.binding_mismatch':
      set.bindingMismatches.inc({ reason: known(BINDING_REASONS, event.reason) });
      return;
    case 'security.session_bruteforce':
      set.guessLimiterTrips.inc();
      return;
    case 'security.anomaly':
      set.anomalies.inc({ reason: known(ANOMALIES, event.reason) });
      return;
    case 'store.error':
      set.storeErrors.inc(storeFailure(event));
      return;
    default: {
      const cause = ENDED_BY[event.type];
      if (cause) set.sessionsEnded.inc({ cause });
    }
  }
}
