import { createHmac, hkdfSync } from 'node:crypto';
import { SessionConfigError } from '../errors.js';
import { randomBase64url, safeEqual } from './encoding.js';

/** Keys derived from the configured secrets; the first signs, all verify. */
export interface Keyring {
  /** HMAC of `value` under the signing (first) key, base64url. */
  sign(value: string): string;
  /** Index of the key that made `mac`, or -1. */
  verify(value: string, mac: string): number;
  /** Verifies express-session's `s:<id>.<sig>` value; returns the id, or null. */
  unsignLegacy(value: string): string | null;
  /** A key separate from the cookie key, for CSRF tokens (S61). */
  csrfKeys: readonly Buffer[];
  /** How many secrets the ring holds: the first signs, all verify (express-session's secret array, S61). */
  readonly size: number;
}

export interface KeyringOptions {
  secret: string | readonly string[] | undefined;
  production: boolean;
  warn: (message: string) => void;
}

/** Strong secrets carry at least 256 bits: 32 characters is the floor we accept in production. */
const MIN_SECRET_LENGTH = 32;

function derive(secret: string, label: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'coatcheck', label, 32));
}

/**
 * Builds the keyring. In production a missing or short secret throws; in development a warning is
 * printed and, when no secret is given, a random one is made (sessions then end at restart).
 */
export function createKeyring(options: KeyringOptions): Keyring {
  let secrets = options.secret === undefined ? [] : [options.secret].flat();
  if (secrets.some((s) => typeof s !== 'string' || s.length === 0)) {
    throw new SessionConfigError('secret', 'every secret must be a non-empty string');
  }
  if (secrets.length === 0) {
    if (options.production) throw new SessionConfigError('secret', 'a secret is required in production');
    options.warn('coatcheck: no secret given; using a random one, so sessions end when the process restarts');
    secrets = [randomBase64url(32)];
  }
  const weak = secrets.some((s) => s.length < MIN_SECRET_LENGTH);
  if (weak && options.production) {
    throw new SessionConfigError('secret', `each secret needs at least ${MIN_SECRET_LENGTH} characters`);
  }
  if (weak) options.warn(`coatcheck: a secret is shorter than ${MIN_SECRET_LENGTH} characters`);

  const cookieKeys = secrets.map((s) => derive(s, 'cookie-mac'));
  const csrfKeys = secrets.map((s) => derive(s, 'csrf-mac'));
  const mac = (key: Buffer, value: string) => createHmac('sha256', key).update(value).digest('base64url');

  return {
    size: secrets.length,
    csrfKeys,
    sign: (value) => mac(cookieKeys[0]!, value),
    verify(value, candidate) {
      for (let i = 0; i < cookieKeys.length; i++) {
        if (safeEqual(mac(cookieKeys[i]!, value), candidate)) return i;
      }
      return -1;
    },
    unsignLegacy(value) {
      // express-session: 's:' + id + '.' + base64(HMAC-SHA256(secret, id)) without '=' padding.
      if (!value.startsWith('s:')) return null;
      const dot = value.lastIndexOf('.');
      if (dot < 3) return null;
      const id = value.slice(2, dot);
      const sig = value.slice(dot + 1);
      for (const secret of secrets) {
        const expected = createHmac('sha256', secret).update(id).digest('base64').replace(/=+$/, '');
        if (safeEqual(expected, sig)) return id;
      }
      return null;
    },
  };
}
