import { randomBase64url, safeEqual, sha256Base64url } from './encoding.js';
import type { Keyring } from './keyring.js';

/**
 * The cookie value is `<handle>.<secret>.<mac>`: a public handle that names the session, a 256-bit
 * secret of which the store keeps only a SHA-256 hash, and an HMAC of both under the keyring, so a
 * forged or guessed value is refused before any store call.
 */
export interface IssuedToken {
  handle: string;
  secretHash: string;
  cookieValue: string;
}

export type ParsedToken =
  | { kind: 'token'; handle: string; secret: string; keyIndex: number }
  | { kind: 'legacy'; id: string }
  | { kind: 'invalid'; reason: 'malformed' | 'bad-mac' };

const HANDLE = /^[A-Za-z0-9_-]{16,128}$/;
const TOKEN = /^([A-Za-z0-9_-]{16,128})\.([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})$/;
/** Longest value ever parsed; express-session ids from a custom genid may be long, but not this long. */
export const MAX_COOKIE_VALUE_LENGTH = 512;

export function isHandle(value: string): boolean {
  return HANDLE.test(value);
}

export function newHandle(): string {
  return randomBase64url(16);
}

export function issueToken(keyring: Keyring, handle: string = newHandle()): IssuedToken {
  const secret = randomBase64url(32);
  const body = `${handle}.${secret}`;
  return { handle, secretHash: hashSecret(secret), cookieValue: `${body}.${keyring.sign(body)}` };
}

/** Re-signs an existing token under the current first key (key rotation). */
export function resignToken(keyring: Keyring, handle: string, secret: string): string {
  const body = `${handle}.${secret}`;
  return `${body}.${keyring.sign(body)}`;
}

export function hashSecret(secret: string): string {
  return sha256Base64url(secret);
}

export function secretMatches(secret: string, storedHash: string): boolean {
  return safeEqual(hashSecret(secret), storedHash);
}

export function parseToken(keyring: Keyring, raw: string): ParsedToken {
  if (raw.length > MAX_COOKIE_VALUE_LENGTH) return { kind: 'invalid', reason: 'malformed' };
  // Only express-session's values are URL-encoded (`s%3A…`); ours never are, so `id%2Emac` stays invalid.
  if (raw.startsWith('s:') || raw.startsWith('s%3A')) {
    let value: string;
    try {
      value = decodeURIComponent(raw);
    } catch {
      return { kind: 'invalid', reason: 'malformed' };
    }
    const id = keyring.unsignLegacy(value);
    return id === null ? { kind: 'invalid', reason: 'bad-mac' } : { kind: 'legacy', id };
  }
  const match = TOKEN.exec(raw);
  if (!match) return { kind: 'invalid', reason: 'malformed' };
  const [, handle, secret, mac] = match as unknown as [string, string, string, string];
  const keyIndex = keyring.verify(`${handle}.${secret}`, mac);
  if (keyIndex < 0) return { kind: 'invalid', reason: 'bad-mac' };
  return { kind: 'token', handle, secret, keyIndex };
}
