import type { JsonWebKey } from 'node:crypto';
import { findCookie } from '../cookies/find-cookie.js';
import { randomBase64url, safeEqual } from '../tokens/encoding.js';
import type { Keyring } from '../tokens/keyring.js';
import type { DbscAlgorithm } from './jwt.js';

/** The browser key a session is bound to: `SessionRecord.deviceKey`, as JSON. */
export interface DeviceKey {
  /** The DBSC `session_identifier`: stable across token rotations, sent back in `Sec-Secure-Session-Id`. */
  id: string;
  alg: DbscAlgorithm;
  jwk: JsonWebKey;
  /** RFC 7638 thumbprint of `jwk`: what device lists show and retried registrations are compared by. */
  thumbprint: string;
  /** Milliseconds since the epoch. */
  boundAt: number;
  /** Name of the short-lived cookie that proves the key was used lately. */
  cookie: string;
}

/** Challenges outstanding for a session: `SessionRecord.deviceChallenge`, as JSON. */
export interface DeviceChallenges {
  current: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  /** The challenge `current` replaced, still accepted until `previousUntil`: Chrome resends a signed proof after a transient failure. */
  previous?: string;
  previousUntil?: number;
}

function parseObject<T>(text: string | null): T | null {
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' ? (value as T) : null;
  } catch {
    return null;
  }
}

export const readDeviceKey = (text: string | null) => parseObject<DeviceKey>(text);
export const readChallenges = (text: string | null) => parseObject<DeviceChallenges>(text);

/**
 * A new challenge replacing `before`. The challenge being replaced stays valid for `graceMs` (if it
 * was still valid): a proof Chrome signed over it and resends after a lost response still counts.
 */
export function nextChallenges(
  before: DeviceChallenges | null,
  at: number,
  timing: { lifetimeMs: number; graceMs: number },
): DeviceChallenges {
  const next: DeviceChallenges = { current: randomBase64url(32), expiresAt: at + timing.lifetimeMs };
  if (before && before.expiresAt > at) {
    next.previous = before.current;
    next.previousUntil = Math.min(before.expiresAt, at + timing.graceMs);
  }
  return next;
}

/** Whether `jti` names a challenge still valid at `at`: the current one, or the previous one within its grace. */
export function isOutstanding(challenges: DeviceChallenges | null, jti: unknown, at: number): boolean {
  if (!challenges || typeof jti !== 'string') return false;
  if (at < challenges.expiresAt && safeEqual(jti, challenges.current)) return true;
  const { previous, previousUntil = 0 } = challenges;
  return previous !== undefined && at < previousUntil && safeEqual(jti, previous);
}

// NUL cannot occur in an id, a number or base64url: the MAC input never collides with a session token's.
const macInput = (id: string, expiresAt: string, nonce: string) =>
  `dbsc\u0000${id}\u0000${expiresAt}\u0000${nonce}`;

/** A new bound-cookie value: its expiry, a nonce (every refresh gives a new value) and a MAC tying it to one DBSC session. */
export function boundCookieValue(keyring: Keyring, id: string, expiresAt: number): string {
  const nonce = randomBase64url(12);
  return `${expiresAt}.${nonce}.${keyring.sign(macInput(id, String(expiresAt), nonce))}`;
}

/**
 * Whether the request proves the session's device key: its bound cookie is present once, unexpired
 * and made for this DBSC session. A key that cannot be read fails closed.
 */
export function hasDeviceProof(
  deviceKeyText: string,
  cookieHeader: string | undefined,
  keyring: Keyring,
  at: number,
): boolean {
  const key = readDeviceKey(deviceKeyText);
  if (!key) return false;
  const lookup = findCookie(cookieHeader, key.cookie);
  if (lookup.kind !== 'one') return false;
  const [expiresAt = '', nonce = '', mac = '', extra] = lookup.value.split('.');
  if (extra !== undefined || !/^\d{1,15}$/.test(expiresAt) || Number(expiresAt) <= at) return false;
  return keyring.verify(macInput(key.id, expiresAt, nonce), mac) >= 0;
}
