import { sha256Base64url } from './encoding.js';
import { flatCopy } from './flat-string.js';
import type { Keyring } from './keyring.js';
import { type ParsedToken, parseToken } from './token.js';

/** Tokens cached per generation: two generations hold at most twice this many (about 200 bytes each). */
export const CACHED_TOKENS = 4_096;

type VerifiedToken = Extract<ParsedToken, { kind: 'token' }>;

/**
 * `parseToken` with a cache of the tokens it verified. A browser sends the same cookie on every
 * request, and the MAC check (one `createHmac`, about 3 µs) and the secret's hash give the same
 * answer each time: a token verified once under the current key is cached by the SHA-256 of the
 * whole cookie value, with its handle and secret hash, never the secret itself. A forged value is
 * never cached, so it pays the full check every time (S44 counts it as before), and the store's
 * record is still compared with the secret hash on every request (S5, S46). Older-key tokens are not
 * cached: they are re-signed on the request that presents them (S61). Bounded by two
 * generations of `capacity` entries: when the newer fills up, the older is dropped.
 */
export function createTokenVerifier(
  keyring: Keyring,
  capacity: number = CACHED_TOKENS,
): (raw: string) => ParsedToken {
  let newer = new Map<string, VerifiedToken>();
  let older = new Map<string, VerifiedToken>();
  const keep = (digest: string, token: VerifiedToken) => {
    if (newer.size >= capacity) {
      older = newer;
      newer = new Map();
    }
    newer.set(digest, token);
  };
  return (raw) => {
    const digest = sha256Base64url(raw);
    const known = newer.get(digest);
    if (known) return known;
    const aged = older.get(digest);
    if (aged) {
      keep(digest, aged);
      return aged;
    }
    const parsed = parseToken(keyring, raw);
    if (parsed.kind === 'token' && parsed.keyIndex === 0) {
      keep(digest, {
        kind: 'token',
        // Kept past the request: a slice would keep the whole Cookie header alive (flat-string.ts).
        handle: flatCopy(parsed.handle),
        secretHash: parsed.secretHash,
        keyIndex: 0,
        secret: null,
      });
    }
    return parsed;
  };
}
