import { SessionStateError } from '../errors.js';
import { BASE64URL, randomBase64url, safeEqual, sha256Base64url } from './encoding.js';
import type { Keyring } from './keyring.js';

/**
 * The cookie value is `<handle>.<secret>.<mac>`: a public handle that names the session, a 256-bit
 * secret of which the store keeps only a SHA-256 hash, and an HMAC of `<handle>.<secret>` under the
 * keyring, so a forged or guessed value is refused before any store call. The handle is the string
 * the store keys the record by (express-session's session ID, so any `genid` result): it is
 * percent-encoded in the cookie, and the MAC covers it as stored, not as encoded.
 */
export interface IssuedToken {
  handle: string;
  secretHash: string;
  cookieValue: string;
}

export type ParsedToken =
  | {
      kind: 'token';
      handle: string;
      /** SHA-256 of the secret, base64url: what the store's record must hold (S8). */
      secretHash: string;
      /** Index of the key whose MAC matched (0: the current key). */
      keyIndex: number;
      /** The secret itself, for re-signing under the current key; null when the verification came from the cache (tokens/verified-tokens.ts). */
      secret: string | null;
    }
  | { kind: 'legacy'; id: string }
  | { kind: 'invalid'; reason: 'malformed' | 'bad-mac' };

/** Longest handle, counted once percent-encoded (256 ASCII characters, fewer of other scripts). */
export const MAX_HANDLE_LENGTH = 256;
/** Longest value ever parsed; express-session ids from a custom genid may be long, but not this long. */
export const MAX_COOKIE_VALUE_LENGTH = 512;
/** Secret and MAC: 32 bytes of base64url each, so a value splits from the right whatever the handle holds. */
const PART = /^[A-Za-z0-9_-]{43}$/;
/** What encodeURIComponent can produce: RFC 6265 cookie-octets only. */
const ENCODED_HANDLE = /^[A-Za-z0-9\-_.!~*'()%]+$/;
// Handles reach logs and audit lines: a control character there could forge a line.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A handle's form in the cookie, or null when the string cannot be a handle. */
export function encodeHandle(handle: string): string | null {
  if (typeof handle !== 'string' || handle.length === 0 || CONTROL.test(handle)) return null;
  let encoded: string;
  try {
    encoded = encodeURIComponent(handle);
  } catch {
    return null; // a lone surrogate: no UTF-8 form, so stores would key it differently
  }
  return encoded.length <= MAX_HANDLE_LENGTH ? encoded : null;
}

/**
 * Whether `value` can name a session: a non-empty string without control characters or lone
 * surrogates, at most `MAX_HANDLE_LENGTH` characters once percent-encoded.
 */
export function isHandle(value: unknown): boolean {
  return typeof value === 'string' && encodeHandle(value) !== null;
}

export function newHandle(): string {
  return randomBase64url(16);
}

function seal(keyring: Keyring, handle: string, secret: string): string {
  const encoded = encodeHandle(handle);
  if (encoded === null) throw new SessionStateError('not a valid session handle');
  return `${encoded}.${secret}.${keyring.sign(`${handle}.${secret}`)}`;
}

export function issueToken(keyring: Keyring, handle: string = newHandle()): IssuedToken {
  const secret = randomBase64url(32);
  return { handle, secretHash: hashSecret(secret), cookieValue: seal(keyring, handle, secret) };
}

/** Re-signs an existing token under the current first key (key rotation). */
export function resignToken(keyring: Keyring, handle: string, secret: string): string {
  return seal(keyring, handle, secret);
}

/** SHA-256 of a cookie secret, base64url: what a store keeps instead of the secret (S8). */
export function hashSecret(secret: string): string {
  return sha256Base64url(secret);
}

/** Whether a presented secret's hash is the stored one, compared in constant time (S46). */
export function secretHashMatches(presentedHash: string, storedHash: string): boolean {
  return safeEqual(presentedHash, storedHash);
}

/** Splits our token from the right; only the canonical encoding of a handle is accepted. */
function splitToken(raw: string): { handle: string; secret: string; mac: string } | null {
  const macDot = raw.lastIndexOf('.');
  if (macDot <= 0) return null;
  const secretDot = raw.lastIndexOf('.', macDot - 1);
  if (secretDot <= 0) return null;
  const encoded = raw.slice(0, secretDot);
  const secret = raw.slice(secretDot + 1, macDot);
  const mac = raw.slice(macDot + 1);
  if (!PART.test(secret) || !PART.test(mac)) return null;
  // The handles this engine makes are base64url, whose encoding is themselves.
  if (BASE64URL.test(encoded))
    return encoded.length <= MAX_HANDLE_LENGTH ? { handle: encoded, secret, mac } : null;
  if (!ENCODED_HANDLE.test(encoded)) return null;
  let handle: string;
  try {
    handle = decodeURIComponent(encoded);
  } catch {
    return null;
  }
  return encodeHandle(handle) === encoded ? { handle, secret, mac } : null;
}

export function parseToken(keyring: Keyring, raw: string): ParsedToken {
  if (raw.length > MAX_COOKIE_VALUE_LENGTH) return { kind: 'invalid', reason: 'malformed' };
  // express-session's values are `s:` + id, URL-encoded by its cookie library (`s%3A…`). A handle
  // of ours may start with `s:` too, so our shape is tried first and the legacy form after it.
  const legacyShape = raw.startsWith('s:') || raw.startsWith('s%3A');
  const token = splitToken(raw);
  if (token) {
    const keyIndex = keyring.verify(`${token.handle}.${token.secret}`, token.mac);
    if (keyIndex >= 0) {
      const { handle, secret } = token;
      return { kind: 'token', handle, secretHash: hashSecret(secret), keyIndex, secret };
    }
    if (!legacyShape) return { kind: 'invalid', reason: 'bad-mac' };
  }
  if (!legacyShape) return { kind: 'invalid', reason: 'malformed' };
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    return { kind: 'invalid', reason: 'malformed' };
  }
  const id = keyring.unsignLegacy(value);
  return id === null ? { kind: 'invalid', reason: 'bad-mac' } : { kind: 'legacy', id };
}
