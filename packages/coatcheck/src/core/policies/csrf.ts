import { timingSafeEqual } from 'node:crypto';
import { randomBuffer } from '../tokens/encoding.js';

/** Bytes in a CSRF secret (256 bits, ASVS 11.5.1). */
const SECRET_BYTES = 32;
/** A masked token is `mask ‖ (mask XOR secret)`: twice the secret. */
const TOKEN_BYTES = SECRET_BYTES * 2;
/** base64url of 64 bytes, without padding. */
export const CSRF_TOKEN_LENGTH = Math.ceil((TOKEN_BYTES * 4) / 3);

const TOKEN_SHAPE = /^[A-Za-z0-9_-]+$/;

/** base64url of 32 bytes, without padding. */
const SECRET_LENGTH = Math.ceil((SECRET_BYTES * 4) / 3);

function decodeSecret(secret: string): Buffer | null {
  if (typeof secret !== 'string' || secret.length !== SECRET_LENGTH || !TOKEN_SHAPE.test(secret)) return null;
  const bytes = Buffer.from(secret, 'base64url');
  return bytes.length === SECRET_BYTES ? bytes : null;
}

function xor(left: Buffer, right: Buffer): Buffer {
  const out = Buffer.allocUnsafe(left.length);
  for (let i = 0; i < left.length; i++) out[i] = left[i]! ^ right[i]!;
  return out;
}

/**
 * A fresh CSRF token for a session's CSRF secret: `base64url(mask ‖ (mask XOR secret))` with a new
 * random mask on every call, so the bytes on a page differ per response and a compression oracle
 * (BREACH) learns nothing that repeats.
 *
 * @param secret The session's CSRF secret: base64url of 32 bytes (`engine.csrfSecretOf(state)`).
 * @throws TypeError when `secret` is not 32 bytes of base64url.
 * @example
 * const token = createCsrfToken(engine.csrfSecretOf(state));
 */
export function createCsrfToken(secret: string): string {
  const bytes = decodeSecret(secret);
  if (!bytes) throw new TypeError('a CSRF secret must be 32 bytes of base64url');
  const mask = randomBuffer(SECRET_BYTES);
  return Buffer.concat([mask, xor(mask, bytes)]).toString('base64url');
}

/**
 * Whether `token` was made by `createCsrfToken` from this secret. The format is checked strictly
 * first (exact length, base64url only, canonical); the unmasked secret is then compared with
 * `crypto.timingSafeEqual` on two 32-byte buffers (S46).
 *
 * @param secret The current session's CSRF secret; tokens from an earlier secret never verify (S54).
 * @param token Untrusted input from the request; anything but a string yields false.
 */
export function verifyCsrfToken(secret: string, token: unknown): boolean {
  if (typeof token !== 'string' || token.length !== CSRF_TOKEN_LENGTH || !TOKEN_SHAPE.test(token)) {
    return false;
  }
  const expected = decodeSecret(secret);
  if (!expected) return false;
  const raw = Buffer.from(token, 'base64url');
  // Only the canonical spelling counts: Node's decoder ignores stray trailing bits.
  if (raw.length !== TOKEN_BYTES || raw.toString('base64url') !== token) return false;
  const unmasked = xor(raw.subarray(0, SECRET_BYTES), raw.subarray(SECRET_BYTES));
  return timingSafeEqual(unmasked, expected);
}
