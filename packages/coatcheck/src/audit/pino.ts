import type { SessionEventListener } from '../core/events.js';
import { toAuditRecord } from './index.js';

/** Any logger with pino's `info(object)` shape (pino, a pino child, or a thin wrapper of your own). */
export interface AuditLogger {
  /** Writes one log object; called synchronously for each event. */
  info(object: Record<string, unknown>): void;
}

/** Options of {@link auditSink}. */
export interface AuditSinkOptions {
  /**
   * Key of the event's UTC time in the log object. pino writes a `time` of its own on every line,
   * so the event's time goes under another key unless you configure pino with `timestamp: false`
   * and set this to `'time'`: a JSON line never carries one key twice. @default 'eventTime'
   */
  timeKey?: string;
}

const RESERVED = new Set(['level', 'msg', 'pid', 'hostname', 'event', 'outcome']);

/**
 * An event listener that writes each session event to a pino-style logger as one object: `event`,
 * UTC time, `userId`, `handle`, `ip`, `userAgent`, `outcome`, `requestId` (and `reason`, `by`,
 * `count` where they apply). Never a token, secret or cookie value (S47); pino's JSON escaping and
 * coatcheck's length caps keep hostile strings inside their field (S48).
 *
 * @example
 * import pino from 'pino';
 * import { auditSink } from 'coatcheck/audit';
 * const sessions = session({ secret, store });
 * sessions.on(auditSink(pino().child({ component: 'sessions' })));
 */
export function auditSink(logger: AuditLogger, options: AuditSinkOptions = {}): SessionEventListener {
  if (!logger || typeof logger.info !== 'function')
    throw new TypeError('auditSink needs a logger with info()');
  const timeKey = options.timeKey ?? 'eventTime';
  if (typeof timeKey !== 'string' || timeKey.length === 0 || RESERVED.has(timeKey)) {
    throw new TypeError(`auditSink: timeKey must be a non-empty key other than ${[...RESERVED].join(', ')}`);
  }
  return (event) => {
    const { time, ...rest } = toAuditRecord(event);
    logger.info({ [timeKey]: time, ...rest });
  };
}
