import { createHash } from 'node:crypto';
import type { Hit, ThrottleCounter } from './counter.js';

/** Limits on failed sign-ins and on registrations, per fixed window. */
export interface ThrottleLimits {
  windowMs: number;
  maxFailuresPerAccount: number;
  maxFailuresPerIp: number;
  maxRegistrationsPerIp: number;
}

/** Whether a request may go on; when not, how long until it may. */
export type ThrottleDecision = { limited: false } | { limited: true; retryAfterMs: number };

/**
 * An attempt already counted as a failure before its check ran. A failed check needs nothing more;
 * a passed one calls `succeeded`.
 */
export interface Attempt {
  /** Clears the count this attempt was checked against and takes the attempt back from the IP's. */
  succeeded(): Promise<void>;
}

/** Whether an attempt may be checked: refused, or counted and handed over. */
export type AttemptDecision = { limited: true; retryAfterMs: number } | { limited: false; attempt: Attempt };

/**
 * The sign-in and registration throttle. Attempts are counted before they are checked (S41), so
 * parallel requests cannot all read a count under the limit and then all be checked.
 */
export interface LoginThrottle {
  /** Before a password check: counts on the account and the IP; limited past either allowance. */
  beginPassword(input: { email: string; ip: string }): Promise<AttemptDecision>;
  /**
   * Before an authenticator code check (sign-in or step-up): counts on the user's own code counter
   * and the IP. A right password never clears the code counter, only a right code does.
   */
  beginCode(input: { userId: string; ip: string }): Promise<AttemptDecision>;
  /** Counts a registration attempt from this IP; limited past the allowance. */
  hitRegistration(ip: string): Promise<ThrottleDecision>;
}

// Counter keys are hashes: the backend never holds email addresses, user ids or IPs in clear.
const keyOf = (kind: string, value: string) =>
  `${kind}:${createHash('sha256').update(value).digest('base64url')}`;

/**
 * Builds the throttle on a shared counter. Unknown emails are counted like real ones, so the 429
 * itself reveals nothing about which accounts exist.
 */
export function createLoginThrottle(counter: ThrottleCounter, limits: ThrottleLimits): LoginThrottle {
  const limited = (resetAt: number) => ({
    limited: true as const,
    retryAfterMs: Math.max(1000, resetAt - Date.now()),
  });

  async function begin(accountKey: string, ip: string): Promise<AttemptDecision> {
    const ipKey = keyOf('login-ip', ip);
    const [account, address] = await Promise.all([
      counter.hit(accountKey, limits.windowMs),
      counter.hit(ipKey, limits.windowMs),
    ]);
    const release = (hits: [string, Hit][]) =>
      Promise.all(hits.map(([key, hit]) => counter.release(key, hit))).then(() => {});
    const over =
      account.count > limits.maxFailuresPerAccount
        ? account
        : address.count > limits.maxFailuresPerIp
          ? address
          : null;
    if (over) {
      // A refused attempt was never checked: the counts go on meaning "failures".
      await release([
        [accountKey, account],
        [ipKey, address],
      ]);
      return limited(over.resetAt);
    }
    return {
      limited: false,
      attempt: {
        async succeeded() {
          // The IP's count stays for other failures: it guards many accounts.
          await Promise.all([counter.reset(accountKey), release([[ipKey, address]])]);
        },
      },
    };
  }

  return {
    beginPassword: ({ email, ip }) => begin(keyOf('login-account', email), ip),
    beginCode: ({ userId, ip }) => begin(keyOf('totp-account', userId), ip),
    async hitRegistration(ip) {
      const hit = await counter.hit(keyOf('register-ip', ip), limits.windowMs);
      return hit.count > limits.maxRegistrationsPerIp ? limited(hit.resetAt) : { limited: false };
    },
  };
}
