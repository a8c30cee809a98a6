import * as crypto from 'node:crypto';
import { createHash, randomFillSync, timingSafeEqual } from 'node:crypto';
import { startupSnapshot } from 'node:v8';

/** base64url characters only: what every token part, handle and MAC is written in. */
export const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Bytes from the CSPRNG, drawn from a pool that one `randomFillSync` call fills, as Node's own
 * `crypto.randomUUID` batches its entropy: a `randomBytes` call cost about 3 µs, nearly all of it the
 * call rather than the bytes, and a sign-in takes three (handle, secret, CSRF secret). Each byte is
 * handed out once and zeroed as it is taken, so the pool never holds a value already issued.
 */
const POOL_BYTES = 1024;
const pool = Buffer.alloc(POOL_BYTES);
let taken = POOL_BYTES;
// A V8 startup snapshot (`node --build-snapshot`) would hand the bytes left in the pool to every
// process started from it: each of them empties it first.
if (startupSnapshot?.isBuildingSnapshot()) {
  startupSnapshot.addDeserializeCallback(() => {
    pool.fill(0);
    taken = POOL_BYTES;
  });
}

function draw(bytes: number): number {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > POOL_BYTES) {
    throw new RangeError(`random draws are 1 to ${POOL_BYTES} bytes`);
  }
  if (taken + bytes > POOL_BYTES) {
    randomFillSync(pool);
    taken = 0;
  }
  const start = taken;
  taken += bytes;
  return start;
}

/** `bytes` random bytes (1–1024) in a Buffer of their own. */
export function randomBuffer(bytes: number): Buffer {
  const start = draw(bytes);
  const out = Buffer.from(pool.subarray(start, start + bytes));
  pool.fill(0, start, start + bytes);
  return out;
}

/** `bytes` random bytes (1–1024) as base64url. */
export function randomBase64url(bytes: number): string {
  const start = draw(bytes);
  const text = pool.toString('base64url', start, start + bytes);
  pool.fill(0, start, start + bytes);
  return text;
}

type OneShotHash = (algorithm: string, data: string, encoding: 'base64url') => string;
/** `crypto.hash` (Node 20.12+): a one-shot digest without a Hash object, about 3× cheaper per call. */
const oneShot = (crypto as { hash?: OneShotHash }).hash;

export const sha256Base64url: (value: string) => string = oneShot
  ? (value) => oneShot('sha256', value, 'base64url')
  : (value) => createHash('sha256').update(value).digest('base64url');

/** Constant-time equality of two strings; unequal lengths return false without comparing. */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  // timingSafeEqual needs equal lengths (cookie-signature#40: never truncate to the shorter one).
  if (left.length !== right.length) return false;
  return timingSafeEqual(left, right);
}
