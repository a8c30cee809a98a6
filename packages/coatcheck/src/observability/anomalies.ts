import { SessionConfigError } from '../core/errors.js';
import type { SessionEvent, SessionEventListener } from '../core/events.js';
import { ipPrefix } from '../core/policies/binding.js';
import { createSlidingCount, createSlidingDistinct } from './windows.js';

/** Why a `security.anomaly` event was raised: its `reason`. */
export const ANOMALY_REASONS = [
  'session_burst_address',
  'session_burst_user',
  'csrf_burst',
  'binding_mismatch_burst',
  'network_spread',
] as const;

/** One of {@link ANOMALY_REASONS}. */
export type AnomalyReason = (typeof ANOMALY_REASONS)[number];

/** `count` events (or distinct networks) within `windowMs` raise one anomaly. */
export interface AnomalyThreshold {
  /** Events (or distinct networks) that raise the anomaly. */
  count: number;
  /** Length of the sliding window, in ms. */
  windowMs: number;
}

/** Options of {@link detectAnomalies}: where anomalies go, and each threshold (`false` turns one off). */
export interface AnomalyOptions {
  /** Where `security.anomaly` events go: the engine's `emit`, so every listener (audit, metrics) sees them. */
  emit: (event: Omit<SessionEvent, 'time'>) => void;
  /** Sessions created (`session.created`, `auth.login.success`) from one address. @default 30 in 60 s */
  sessionsPerAddress?: AnomalyThreshold | false;
  /** Sign-ins of one user. @default 10 in 10 min */
  sessionsPerUser?: AnomalyThreshold | false;
  /** CSRF rejections across the whole process (a forged-form campaign hits many users). @default 20 in 60 s */
  csrfFailures?: AnomalyThreshold | false;
  /** Device binding mismatches of one user's sessions (S42). @default 3 in 10 min */
  bindingMismatchesPerUser?: AnomalyThreshold | false;
  /** Sign-ins of one user from distinct /24 (IPv4) or /48 (IPv6) networks. @default 3 in 10 min */
  networksPerUser?: AnomalyThreshold | false;
  /** Addresses or users tracked per rule; the least recently seen are forgotten first. @default 10_000 */
  maxKeys?: number;
}

const DEFAULTS = {
  sessionsPerAddress: { count: 30, windowMs: 60_000 },
  sessionsPerUser: { count: 10, windowMs: 600_000 },
  csrfFailures: { count: 20, windowMs: 60_000 },
  bindingMismatchesPerUser: { count: 3, windowMs: 600_000 },
  networksPerUser: { count: 3, windowMs: 600_000 },
} as const;

type Rule = keyof typeof DEFAULTS;

function threshold(options: AnomalyOptions, rule: Rule): AnomalyThreshold | null {
  const value = options[rule] ?? DEFAULTS[rule];
  if (value === false) return null;
  if (!Number.isInteger(value?.count) || value.count < 1) {
    throw new SessionConfigError(`${rule}.count`, 'must be a positive integer');
  }
  if (!(value.windowMs > 0)) throw new SessionConfigError(`${rule}.windowMs`, 'must be a positive number');
  return value;
}

/**
 * Turns the engine's event stream into `security.anomaly` events, each with a `reason` and the
 * `count` that crossed the threshold. Counted in this process's memory, in sliding windows, with
 * at most `maxKeys` keys per rule; after an alert the key starts over, so a burst alerts once.
 * Window times are the events' own times (the engine's clock).
 *
 * @example
 * const sessions = session({ secret, store });
 * sessions.on(detectAnomalies({ emit: sessions.engine.emit }));
 */
export function detectAnomalies(options: AnomalyOptions): SessionEventListener {
  if (typeof options?.emit !== 'function') throw new SessionConfigError('emit', 'must be a function');
  const maxKeys = options.maxKeys ?? 10_000;
  if (!Number.isInteger(maxKeys) || maxKeys < 1) {
    throw new SessionConfigError('maxKeys', 'must be a positive integer');
  }
  const counter = (rule: Rule) => {
    const limit = threshold(options, rule);
    return limit && { limit, window: createSlidingCount(limit.count, limit.windowMs, maxKeys) };
  };
  const perAddress = counter('sessionsPerAddress');
  const perUser = counter('sessionsPerUser');
  const csrf = counter('csrfFailures');
  const binding = counter('bindingMismatchesPerUser');
  const networkLimit = threshold(options, 'networksPerUser');
  const networks = networkLimit && createSlidingDistinct(networkLimit.count, networkLimit.windowMs, maxKeys);

  const raise = (reason: AnomalyReason, count: number, event: SessionEvent, userId?: string | null) =>
    options.emit({
      type: 'security.anomaly',
      reason,
      count,
      ...(userId ? { userId } : {}),
      ip: event.ip,
      requestId: event.requestId,
    });

  const check = (
    rule: ReturnType<typeof counter>,
    key: string | null | undefined,
    at: number,
    alert: (count: number) => void,
  ) => {
    if (!rule || !key) return;
    const count = rule.window.hit(key, at);
    if (count < rule.limit.count) return;
    rule.window.reset(key);
    alert(count);
  };

  return (event) => {
    const parsed = Date.parse(event.time);
    const at = Number.isNaN(parsed) ? Date.now() : parsed;
    switch (event.type) {
      case 'auth.login.success': {
        const userId = event.userId;
        check(perUser, userId, at, (count) => raise('session_burst_user', count, event, userId));
        const prefix = ipPrefix(event.ip, 24, 48);
        if (networks && networkLimit && userId && prefix) {
          const count = networks.hit(userId, prefix, at);
          if (count >= networkLimit.count) {
            networks.reset(userId);
            raise('network_spread', count, event, userId);
          }
        }
        check(perAddress, event.ip, at, (count) => raise('session_burst_address', count, event));
        return;
      }
      case 'session.created':
        check(perAddress, event.ip, at, (count) => raise('session_burst_address', count, event));
        return;
      case 'csrf.reject':
        check(csrf, '*', at, (count) => raise('csrf_burst', count, event));
        return;
      case 'session.binding_mismatch':
        check(binding, event.userId, at, (count) =>
          raise('binding_mismatch_burst', count, event, event.userId),
        );
        return;
      default:
        return;
    }
  };
}
