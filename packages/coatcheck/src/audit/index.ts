import type { SessionEvent, SessionEventListener, SessionEventType } from '../core/events.js';

// Also here, so anomaly signals need no prom-client (which `coatcheck/metrics` loads).
export { detectAnomalies } from '../observability/anomalies.js';
export type { AuditLogger, AuditSinkOptions } from './pino.js';
export { auditSink } from './pino.js';

/** What an audited step came to. */
export type AuditOutcome = 'success' | 'failure' | 'rejected' | 'expired' | 'reported' | 'alert' | 'info';

/** One audit log object (S47): the session's handle, never its token, secret or cookie. */
export interface AuditRecord {
  /** The event type (`auth.login.success`, `session.revoked`, ...), the catalogue of S47. */
  event: string;
  /** UTC ISO-8601. */
  time: string;
  /** The user concerned, or null. */
  userId: string | null;
  /** The session's public handle, or null when no session is concerned. */
  handle: string | null;
  /** Client address, or null. */
  ip: string | null;
  /** User-Agent, length-capped (S48), or null. */
  userAgent: string | null;
  /** What the step came to, derived from the event type. */
  outcome: AuditOutcome;
  /** The application's request id, or null. */
  requestId: string | null;
  /** Why, for rejections and revocations: a fixed word. */
  reason?: string;
  /** Who caused a revocation: the user, an admin's id, or `system`. */
  by?: string;
  /** For a regeneration: the handle that ended. */
  previousHandle?: string;
  /** How many sessions or guesses the event counts. */
  count?: number;
}

const OUTCOMES: Partial<Record<SessionEventType, AuditOutcome>> = {
  'session.created': 'success',
  'session.regenerated': 'success',
  'session.renewed': 'success',
  'session.migrated': 'success',
  'auth.login.success': 'success',
  'auth.reauthenticated': 'success',
  'auth.step_up': 'success',
  'session.logout': 'success',
  'session.logout_all': 'success',
  'session.revoked': 'success',
  'session.expired.idle': 'expired',
  'session.expired.absolute': 'expired',
  'session.evicted': 'expired',
  'session.write_dropped': 'failure',
  'session.tamper': 'rejected',
  'session.unknown_id': 'rejected',
  'session.duplicate_cookie': 'rejected',
  'session.oversized_cookie': 'rejected',
  'csrf.reject': 'rejected',
  'auth.login.failure': 'failure',
  'security.session_harvesting': 'rejected',
  'csrf.report_only': 'reported',
  'security.session_bruteforce': 'alert',
  'security.anomaly': 'alert',
  'store.error': 'failure',
  'store.recovered': 'success',
  'user.notified': 'info',
};

function outcomeOf(type: string): AuditOutcome {
  const known = OUTCOMES[type as SessionEventType];
  if (known) return known;
  if (type.endsWith('.failure') || type.endsWith('.error')) return 'failure';
  if (type.endsWith('.success')) return 'success';
  return 'info';
}

/** Longest text kept per field; a hostile user agent cannot bloat the log. */
const MAX_LENGTHS = { default: 256, userAgent: 512 } as const;

/**
 * Whether a UTF-16 unit can split or disguise a log line in some viewer even inside a JSON string:
 * C0 and C1 controls (C1 holds the 8-bit CSI of terminals), U+2028/2029 (line breaks to JavaScript
 * and some log shippers) and bidi overrides (Trojan Source).
 */
function isUnsafeUnit(unit: number): boolean {
  return (
    unit < 0x20 ||
    (unit >= 0x7f && unit <= 0x9f) ||
    unit === 0x2028 ||
    unit === 0x2029 ||
    (unit >= 0x202a && unit <= 0x202e) ||
    (unit >= 0x2066 && unit <= 0x2069)
  );
}

/** Replaces unsafe units and lone surrogates (invalid UTF-8 once written) with U+FFFD. */
function neutralise(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += text.slice(i, i + 2);
        i++;
      } else out += '\ufffd';
    } else if ((unit >= 0xdc00 && unit <= 0xdfff) || isUnsafeUnit(unit)) out += '\ufffd';
    else out += text[i];
  }
  return out;
}

/**
 * Shapes of coatcheck's secrets: a session cookie value `<handle>.<secret>.<mac>`, and any run of 43
 * or more base64url characters (a 256-bit secret, MAC or CSRF token). Free text from the request is
 * scrubbed of them, so a value copied into a user agent or reason never reaches the log.
 */
const SECRET_SHAPES = /[A-Za-z0-9_-]{16,128}\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}|[A-Za-z0-9_-]{43,}/g;

function clean(value: unknown, max: number, scrub = false): string | null {
  if (value === undefined || value === null) return null;
  // Scrubbed before the cut, so a cut never leaves part of a secret behind.
  let text = String(value).slice(0, max * 4);
  if (scrub) text = text.replace(SECRET_SHAPES, '[redacted]');
  if (text.length > max) text = `${text.slice(0, max)}…`;
  return neutralise(text);
}

function utc(time: string): string {
  const at = Date.parse(time);
  return Number.isNaN(at) ? new Date().toISOString() : new Date(at).toISOString();
}

/**
 * Maps an event to the audit record written for it. Only listed fields are copied, so nothing the
 * event might one day carry (a token, a cookie) can reach the log unnoticed.
 */
export function toAuditRecord(event: SessionEvent): AuditRecord {
  const max = MAX_LENGTHS.default;
  const record: AuditRecord = {
    event: clean(event.type, max) ?? 'unknown',
    time: utc(event.time),
    userId: clean(event.userId, max),
    handle: clean(event.handle, max),
    ip: clean(event.ip, max),
    userAgent: clean(event.userAgent, MAX_LENGTHS.userAgent, true),
    outcome: outcomeOf(event.type),
    requestId: clean(event.requestId, max),
  };
  const reason = clean(event.reason, max, true);
  if (reason !== null) record.reason = reason;
  const by = clean(event.by, max);
  if (by !== null) record.by = by;
  const previous = clean(event.previousHandle, max);
  if (previous !== null) record.previousHandle = previous;
  if (typeof event.count === 'number' && Number.isFinite(event.count)) record.count = event.count;
  return record;
}

/**
 * An event listener that writes one JSON object per line through `write`, for deployments without
 * pino (a file stream, stdout, a log shipper's socket).
 *
 * @example
 * const sessions = session({ secret, store });
 * sessions.on(jsonLineSink((line) => process.stdout.write(line)));
 */
export function jsonLineSink(write: (line: string) => void): SessionEventListener {
  if (typeof write !== 'function') throw new TypeError('jsonLineSink needs a write function');
  return (event) => {
    write(`${JSON.stringify(toAuditRecord(event))}\n`);
  };
}
