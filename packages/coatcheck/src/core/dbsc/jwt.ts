import { createHash, createPublicKey, type JsonWebKey, type KeyObject, verify } from 'node:crypto';

/** The signature algorithms a DBSC browser key may use (the W3C DBSC draft offers these two). */
export type DbscAlgorithm = 'ES256' | 'RS256';

export const DBSC_ALGORITHMS: readonly DbscAlgorithm[] = ['ES256', 'RS256'];

/** A compact JWS split into its parts; nothing in it is trusted until `verifyJwt` says so. */
export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

/** Longest proof read: an RS256 registration with a 4096-bit key stays well under this. */
const MAX_JWT_LENGTH = 8192;
const SEGMENT = /^[A-Za-z0-9_-]+$/;

function parseSegment(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/**
 * Splits a header value holding a compact JWS. Chromium sends it bare although the draft says a
 * structured-field string (RFC 8941), so a quoted value is unquoted first. Null when malformed.
 */
export function decodeJwt(value: string | undefined): DecodedJwt | null {
  if (!value) return null;
  const text = unquote(value.trim());
  if (text.length > MAX_JWT_LENGTH) return null;
  const parts = text.split('.');
  if (parts.length !== 3 || !parts.every((part) => SEGMENT.test(part))) return null;
  const [head = '', body = '', sig = ''] = parts;
  const header = parseSegment(head);
  const payload = parseSegment(body);
  if (!header || !payload) return null;
  return { header, payload, signingInput: `${head}.${body}`, signature: Buffer.from(sig, 'base64url') };
}

/** A structured-field string's content, or the value itself when it is a bare token. */
export function unquote(value: string): string {
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    return value.slice(1, -1).replace(/\\(["\\])/g, '$1');
  }
  return value;
}

/** The public members of a JWK the algorithm needs, or null: private members are never imported. */
function publicMembers(jwk: unknown, alg: DbscAlgorithm): JsonWebKey | null {
  if (jwk === null || typeof jwk !== 'object') return null;
  const key = jwk as Record<string, unknown>;
  const text = (name: string) => typeof key[name] === 'string' && SEGMENT.test(key[name] as string);
  if (alg === 'ES256' && key.kty === 'EC' && key.crv === 'P-256' && text('x') && text('y')) {
    return { kty: 'EC', crv: 'P-256', x: key.x as string, y: key.y as string };
  }
  if (alg === 'RS256' && key.kty === 'RSA' && text('n') && text('e')) {
    return { kty: 'RSA', n: key.n as string, e: key.e as string };
  }
  return null;
}

/** An imported public key with its normalised JWK, or null when the JWK does not fit `alg`. */
export function importPublicJwk(
  jwk: unknown,
  alg: DbscAlgorithm,
): { key: KeyObject; jwk: JsonWebKey } | null {
  const members = publicMembers(jwk, alg);
  if (!members) return null;
  try {
    const key = createPublicKey({ key: members, format: 'jwk' });
    // RSA below 2048 bits is refused (NIST SP 800-131A).
    if (alg === 'RS256' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) return null;
    return { key, jwk: members };
  } catch {
    return null;
  }
}

/**
 * Checks the signature of `jwt` under `key` for `alg`. ES256 signatures are the raw r‖s pair of
 * JWS (RFC 7518 §3.4), not DER, hence `dsaEncoding: 'ieee-p1363'`.
 */
export function verifyJwt(jwt: DecodedJwt, alg: DbscAlgorithm, key: KeyObject): boolean {
  if (jwt.header.alg !== alg) return false;
  const input = Buffer.from(jwt.signingInput);
  try {
    if (alg === 'ES256') {
      if (jwt.signature.length !== 64) return false;
      return verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, jwt.signature);
    }
    return verify('sha256', input, key, jwt.signature);
  } catch {
    return false;
  }
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of a public EC or RSA key. */
export function jwkThumbprint(jwk: JsonWebKey): string {
  // Required members only, in lexicographic order, no whitespace (RFC 7638 §3.2).
  const canonical =
    jwk.kty === 'EC'
      ? JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })
      : JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n });
  return createHash('sha256').update(canonical).digest('base64url');
}
