import { SessionConfigError } from '../errors.js';
import { flatCopy } from '../tokens/flat-string.js';

/** Options of the per-address limit on cookies that fail the MAC (session ID guessing, S44). */
export interface GuessLimitOptions {
  /** Cookies failing the MAC one address may send per window before it is refused. @default 20 */
  max?: number;
  /** Length of the counting window in ms. @default 60_000 */
  windowMs?: number;
  /** Addresses tracked at once; the oldest are forgotten first. @default 10_000 */
  maxTracked?: number;
}

export interface GuessLimiter {
  /** Whether this address has used up its invalid cookies for the current window. */
  isBlocked(ip: string | undefined, now: number): boolean;
  /** Counts one invalid cookie; returns true exactly when this one crosses the limit. */
  record(ip: string | undefined, now: number): boolean;
}

/**
 * Session-ID guessing detection (S44, OWASP SM "brute force detection"): counts session cookies
 * whose MAC fails, per client address, in fixed windows. A MAC-valid token was issued by this
 * server, so one that names no session (expired, signed out, lost by the store) is a returning
 * user, not a guess, and is never counted. Memory is bounded.
 */
export function createGuessLimiter(options: GuessLimitOptions = {}): GuessLimiter {
  const max = options.max ?? 20;
  const windowMs = options.windowMs ?? 60_000;
  const maxTracked = options.maxTracked ?? 10_000;
  if (!Number.isInteger(max) || max < 1)
    throw new SessionConfigError('guessLimit.max', 'must be a positive integer');
  if (!(windowMs > 0)) throw new SessionConfigError('guessLimit.windowMs', 'must be a positive number');
  const counts = new Map<string, { start: number; count: number }>();
  const current = (ip: string, now: number) => {
    const entry = counts.get(ip);
    return entry && now - entry.start < windowMs ? entry : null;
  };
  return {
    isBlocked(ip, now) {
      if (!ip || counts.size === 0) return false;
      return (current(ip, now)?.count ?? 0) >= max;
    },
    record(ip, now) {
      if (!ip) return false;
      let entry = current(ip, now);
      if (!entry) {
        counts.delete(ip);
        if (counts.size >= maxTracked) counts.delete(counts.keys().next().value as string);
        entry = { start: now, count: 0 };
        // The address may be cut from X-Forwarded-For: the map outlives the request.
        counts.set(flatCopy(ip), entry);
      }
      entry.count++;
      return entry.count === max;
    },
  };
}
