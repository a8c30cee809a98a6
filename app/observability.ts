import type { SessionEvent, SessionMiddleware } from 'coatcheck/express';
import { detectAnomalies, sessionMetrics } from 'coatcheck/metrics';
import { Registry } from 'prom-client';
import type { NotificationRepository } from './notifications/repository.js';

/** Events shown on the admin security page: refusals, alerts and sessions ended by someone else. */
const SECURITY_EVENTS = new Set<string>([
  'security.anomaly',
  'security.session_bruteforce',
  'security.session_harvesting',
  'csrf.reject',
  'session.binding_mismatch',
  'session.revoked',
  'session.logout_all',
  'auth.login.failure',
]);

/** Security events kept for the admin page, newest last; older ones are in the audit log. */
export const RECENT_EVENTS_KEPT = 200;

/** What each anomaly about a user tells that user (S38). */
const ANOMALY_TEXTS: Record<string, string> = {
  session_burst_user:
    'Your account was signed in many times in a few minutes. If that was not you, change your password.',
  network_spread:
    'Your account was signed in from several different networks within minutes. If that was not you, change your password.',
  binding_mismatch_burst:
    'Your sessions were used from a different browser or network several times. If that was not you, sign out your other devices.',
};

/** The app's metrics registry, security event history and anomaly alerts. */
export interface Observability {
  /** The app's own registry (not prom-client's global one): one app, one set of counters. */
  registry: Registry;
  instrumentStore: ReturnType<typeof sessionMetrics>['instrumentStore'];
  /** Subscribes metrics, anomaly detection, the security history and user alerts to the sessions. */
  attach(
    sessions: SessionMiddleware,
    notifications: NotificationRepository,
    logError: (error: unknown) => void,
  ): void;
  /** Recent security events, newest first. */
  recentSecurityEvents(): SessionEvent[];
}

export function createObservability(): Observability {
  const registry = new Registry();
  const metrics = sessionMetrics({ registry });
  const recent: SessionEvent[] = [];
  return {
    registry,
    instrumentStore: metrics.instrumentStore,
    attach(sessions, notifications, logError) {
      sessions.on(metrics.listener);
      sessions.on(detectAnomalies({ emit: sessions.engine.emit }));
      sessions.on((event) => {
        if (!SECURITY_EVENTS.has(event.type)) return;
        recent.push(event);
        if (recent.length > RECENT_EVENTS_KEPT) recent.shift();
      });
      sessions.on((event) => {
        const text = event.type === 'security.anomaly' && event.reason && ANOMALY_TEXTS[event.reason];
        const userId = event.userId;
        if (!text || !userId) return;
        notifications
          .add({ userId, kind: 'security_alert', text, createdAt: Date.parse(event.time) })
          .then(() => sessions.engine.emit({ type: 'user.notified', userId, reason: 'security_alert' }))
          .catch(logError);
      });
    },
    recentSecurityEvents: () => recent.toReversed(),
  };
}
