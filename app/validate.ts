import { normalizeEmail } from './users/repository.js';

/** A field's value once checked, or the message to show next to the form. */
export type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

/** Bounds on new passwords: NIST SP 800-63B asks for at least 8; long passphrases are welcome. */
export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 256;

const field = (body: unknown, name: string): unknown =>
  typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;

/** Reads a string field; anything else (missing, array, object) reads as an empty string. */
export function stringField(body: unknown, name: string): string {
  const value = field(body, name);
  return typeof value === 'string' ? value : '';
}

/** An email address: trimmed, lower-cased, of a plausible shape, at most 254 characters (RFC 5321). */
export function checkEmail(raw: string): Checked<string> {
  const value = normalizeEmail(raw);
  if (value === '') return { ok: false, message: 'Enter your email address.' };
  if (value.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) {
    return { ok: false, message: 'Enter an email address like name@example.com.' };
  }
  return { ok: true, value };
}

/** A password typed to sign in or confirm: only presence and a sane length are checked. */
export function checkPasswordPresent(raw: string): Checked<string> {
  if (raw === '') return { ok: false, message: 'Enter your password.' };
  if (raw.length > 1024) return { ok: false, message: 'That password is too long.' };
  return { ok: true, value: raw };
}

/** A new password: its length, and that the confirmation matches. */
export function checkNewPassword(raw: string, confirmation: string): Checked<string> {
  if (raw.length < PASSWORD_MIN) {
    return { ok: false, message: `Choose a password of at least ${PASSWORD_MIN} characters.` };
  }
  if (raw.length > PASSWORD_MAX) {
    return { ok: false, message: `Choose a password of at most ${PASSWORD_MAX} characters.` };
  }
  if (raw !== confirmation) return { ok: false, message: 'The two passwords do not match.' };
  return { ok: true, value: raw };
}

/**
 * A path to go back to after signing in: only a local path, never another site (no open redirect
 * through `//evil.test` or `/\evil.test`).
 */
export function safeReturnTo(raw: unknown, fallback = '/dashboard'): string {
  if (typeof raw !== 'string' || raw.length > 512) return fallback;
  // RFC 3986 path and query characters only: no spaces, control characters or backslashes.
  if (!/^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*$/.test(raw) || raw.startsWith('//')) {
    return fallback;
  }
  return raw;
}
