import { createHash } from 'node:crypto';
import type { ThrottleCounter } from './counter.js';

/** Limits on failed sign-ins and on registrations, per fixed window. */
export interface ThrottleLimits {
  windowMs: number;
  maxFailuresPerAccount: number;
  maxFailuresPerIp: number;
  maxRegistrationsPerIp: number;
}

/** Whether a request may go on; when not, how long until it may. */
export type ThrottleDecision = { limited: false } | { limited: true; retryAfterMs: number };

/** The sign-in and registration throttle: what the routes ask before checking a password. */
export interface LoginThrottle {
  /** Before a password check: limited once the account or the IP has too many recent failures. */
  checkLogin(input: { email: string; ip: string }): Promise<ThrottleDecision>;
  recordFailure(input: { email: string; ip: string }): Promise<void>;
  /** A correct password clears the account's count (the IP's count stays: it guards many accounts). */
  recordSuccess(input: { email: string }): Promise<void>;
  /** Counts a registration attempt from this IP; limited past the allowance. */
  hitRegistration(ip: string): Promise<ThrottleDecision>;
}

// Counter keys are hashes: the backend never holds email addresses or IPs in clear.
const keyOf = (kind: string, value: string) =>
  `${kind}:${createHash('sha256').update(value).digest('base64url')}`;

/**
 * Builds the throttle on a shared counter. Unknown emails are counted like real ones, so the 429
 * itself reveals nothing about which accounts exist.
 */
export function createLoginThrottle(counter: ThrottleCounter, limits: ThrottleLimits): LoginThrottle {
  const limited = (resetAt: number): ThrottleDecision => ({
    limited: true,
    retryAfterMs: Math.max(1000, resetAt - Date.now()),
  });
  return {
    async checkLogin({ email, ip }) {
      const [account, address] = await Promise.all([
        counter.peek(keyOf('login-account', email)),
        counter.peek(keyOf('login-ip', ip)),
      ]);
      if (account.count >= limits.maxFailuresPerAccount) return limited(account.resetAt);
      if (address.count >= limits.maxFailuresPerIp) return limited(address.resetAt);
      return { limited: false };
    },
    async recordFailure({ email, ip }) {
      await Promise.all([
        counter.hit(keyOf('login-account', email), limits.windowMs),
        counter.hit(keyOf('login-ip', ip), limits.windowMs),
      ]);
    },
    async recordSuccess({ email }) {
      await counter.reset(keyOf('login-account', email));
    },
    async hitRegistration(ip) {
      const hit = await counter.hit(keyOf('register-ip', ip), limits.windowMs);
      return hit.count > limits.maxRegistrationsPerIp ? limited(hit.resetAt) : { limited: false };
    },
  };
}
