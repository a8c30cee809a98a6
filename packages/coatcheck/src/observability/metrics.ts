import { Counter, Histogram, type Registry, register } from 'prom-client';
import { SessionConfigError } from '../core/errors.js';
import type { SessionEventListener } from '../core/events.js';
import type { SessionStore } from '../core/store/store.js';
import { countEvent } from './metric-events.js';
import { wrapStore } from './wrap-store.js';

/** Store latency buckets, in seconds: sub-millisecond in-process stores up to the 5 s default timeout. */
const DEFAULT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Options of {@link sessionMetrics}. */
export interface SessionMetricsOptions {
  /** Where the metrics are registered. @default prom-client's global registry */
  registry?: Registry;
  /**
   * Buckets of `coatcheck_store_operation_duration_seconds`, in seconds. Used when the histogram is
   * first registered in the registry; later calls reuse it as it is. @default 0.5 ms to 5 s
   */
  buckets?: readonly number[];
}

/** coatcheck's Prometheus metrics in one registry; label values are fixed sets, never an ID or address. */
export interface MetricSet {
  /** `coatcheck_store_operation_duration_seconds`: store call duration, by operation and outcome. */
  storeDuration: Histogram<'operation' | 'outcome'>;
  /** `coatcheck_store_errors_total`: failed store calls, by operation and kind (error or timeout). */
  storeErrors: Counter<'operation' | 'kind'>;
  /** `coatcheck_sessions_created_total`: sessions created, by kind (anonymous or sign-in). */
  sessionsCreated: Counter<'kind'>;
  /** `coatcheck_sessions_rotated_total`: token rotations, by trigger. */
  sessionsRotated: Counter<'trigger'>;
  /** `coatcheck_sessions_ended_total`: sessions ended, by cause (logout, revoked, idle, absolute, …). */
  sessionsEnded: Counter<'cause'>;
  /** `coatcheck_session_renewals_total`: idle expiries pushed back. */
  renewals: Counter;
  /** `coatcheck_login_failures_total`: failed sign-ins the application reported. */
  loginFailures: Counter;
  /** `coatcheck_csrf_rejections_total`: requests the CSRF check refused or reported, by reason and mode. */
  csrfRejections: Counter<'reason' | 'mode'>;
  /** `coatcheck_binding_mismatches_total`: device binding mismatches, by reason (S42). */
  bindingMismatches: Counter<'reason'>;
  /** `coatcheck_guess_limiter_trips_total`: addresses that crossed the invalid-cookie limit (S44). */
  guessLimiterTrips: Counter;
  /** `coatcheck_security_anomalies_total`: `security.anomaly` events, by reason. */
  anomalies: Counter<'reason'>;
}

/** What {@link sessionMetrics} returns: the registry, the event listener and the store wrapper. */
export interface SessionMetrics {
  /** The registry the metrics live in (serve it on `/metrics` with `registry.metrics()`). */
  readonly registry: Registry;
  /** Counts the engine's events: pass it to `sessions.on(...)` (or `engine.on`). */
  readonly listener: SessionEventListener;
  /**
   * The store, measured: each call's duration by operation and outcome. The result is still
   * `instanceof` the store's class.
   */
  instrumentStore<S extends SessionStore>(store: S): S;
}

const sets = new WeakMap<Registry, MetricSet>();

function reuse<M>(registry: Registry, name: string, type: 'counter' | 'histogram'): M | null {
  const existing = registry.getSingleMetric(name) as { type?: unknown } | undefined;
  if (existing === undefined) return null;
  // Registered by an earlier call, or by another copy of coatcheck (its ESM and CommonJS builds in
  // one process, or another prom-client copy): compared by type, as classes may differ.
  if (existing.type === type) return existing as M;
  throw new SessionConfigError('registry', `${name} is already registered as another kind of metric`);
}

function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]) {
  return (
    reuse<Counter<L>>(registry, name, 'counter') ??
    new Counter<L>({ name, help, labelNames, registers: [registry] })
  );
}

function createSet(registry: Registry, buckets: readonly number[]): MetricSet {
  const storeDuration =
    reuse<Histogram<'operation' | 'outcome'>>(
      registry,
      'coatcheck_store_operation_duration_seconds',
      'histogram',
    ) ??
    new Histogram({
      name: 'coatcheck_store_operation_duration_seconds',
      help: 'Duration of session store calls, by operation and outcome (ok or error).',
      labelNames: ['operation', 'outcome'],
      buckets: [...buckets],
      registers: [registry],
    });
  return {
    storeDuration,
    storeErrors: counter(
      registry,
      'coatcheck_store_errors_total',
      'Failed session store calls as the engine saw them, by operation and kind (error or timeout).',
      ['operation', 'kind'],
    ),
    sessionsCreated: counter(
      registry,
      'coatcheck_sessions_created_total',
      'Sessions created: anonymous ones stored for their data or CSRF token, and sign-ins.',
      ['kind'],
    ),
    sessionsRotated: counter(
      registry,
      'coatcheck_sessions_rotated_total',
      'Session token rotations, by trigger (schedule, regenerate, reissue).',
      ['trigger'],
    ),
    sessionsEnded: counter(
      registry,
      'coatcheck_sessions_ended_total',
      'Sessions ended, by cause (logout, revoked, idle, absolute, evicted, binding).',
      ['cause'],
    ),
    renewals: counter(
      registry,
      'coatcheck_session_renewals_total',
      'Idle expiry pushed back (renewal), at most once per renewal interval per session.',
      [],
    ),
    loginFailures: counter(
      registry,
      'coatcheck_login_failures_total',
      'Failed sign-ins the application reported as auth.login.failure.',
      [],
    ),
    csrfRejections: counter(
      registry,
      'coatcheck_csrf_rejections_total',
      'Requests the CSRF check refused (or reported in report-only mode), by reason.',
      ['reason', 'mode'],
    ),
    bindingMismatches: counter(
      registry,
      'coatcheck_binding_mismatches_total',
      'Requests whose browser family or network prefix differed from the session device (S42).',
      ['reason'],
    ),
    guessLimiterTrips: counter(
      registry,
      'coatcheck_guess_limiter_trips_total',
      'Addresses that crossed the invalid-cookie limit (session ID guessing, S44).',
      [],
    ),
    anomalies: counter(
      registry,
      'coatcheck_security_anomalies_total',
      'security.anomaly events, by reason.',
      ['reason'],
    ),
  };
}

/** The metric set of a registry, registered on first use and reused after (prom-client throws on a second registration). */
function metricSet(registry: Registry, buckets: readonly number[] = DEFAULT_BUCKETS): MetricSet {
  let set = sets.get(registry);
  if (!set) {
    set = createSet(registry, buckets);
    sets.set(registry, set);
  }
  return set;
}

/**
 * Prometheus metrics for coatcheck through prom-client. Calling it again with the same registry
 * reuses the metrics registered there. Nothing is measured unless the listener is subscribed or
 * the store wrapped.
 *
 * @example
 * import { sessionMetrics } from 'coatcheck/metrics';
 * const metrics = sessionMetrics();
 * const sessions = session({ secret, store: metrics.instrumentStore(new RedisStore({ client })) });
 * sessions.on(metrics.listener);
 */
export function sessionMetrics(options: SessionMetricsOptions = {}): SessionMetrics {
  const registry = options.registry ?? register;
  if (typeof registry?.getSingleMetric !== 'function') {
    throw new SessionConfigError('registry', 'must be a prom-client Registry');
  }
  const buckets = options.buckets ?? DEFAULT_BUCKETS;
  if (!Array.isArray(buckets) || buckets.some((bucket) => !(bucket > 0))) {
    throw new SessionConfigError('buckets', 'must be an array of positive numbers of seconds');
  }
  const set = metricSet(registry, buckets);
  const { storeDuration } = set;
  // Bound children: prom-client hashes a label object on every observe, a third of its cost.
  const timers = new Map<string, ReturnType<typeof storeDuration.labels>>();
  const timerOf = (operation: string, outcome: string) => {
    const key = `${operation} ${outcome}`;
    let timer = timers.get(key);
    if (!timer) {
      timer = storeDuration.labels({ operation, outcome });
      timers.set(key, timer);
    }
    return timer;
  };
  return {
    registry,
    listener: (event) => countEvent(set, event),
    instrumentStore: (store) =>
      wrapStore(store, (operation, _handle, run) => {
        const start = performance.now();
        return run().then(
          (value) => {
            timerOf(operation, 'ok').observe((performance.now() - start) / 1000);
            return value;
          },
          (error: unknown) => {
            timerOf(operation, 'error').observe((performance.now() - start) / 1000);
            throw error;
          },
        );
      }),
  };
}
