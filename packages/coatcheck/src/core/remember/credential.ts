import { randomBase64url } from '../tokens/encoding.js';
import type { Keyring } from '../tokens/keyring.js';
import { hashSecret } from '../tokens/token.js';

/**
 * The remembered-device cookie is `<id>.<secret>.<mac>`: a public device id, a 256-bit secret of
 * which the store keeps only a SHA-256 hash (as for session tokens, token.ts), and an HMAC under the
 * keyring. The MAC covers a label as well, so a session token never verifies as this credential or
 * the other way round, and only a value this server issued can ever count as a replay (theft).
 */
export interface IssuedCredential {
  secretHash: string;
  cookieValue: string;
}

export type ParsedCredential = { kind: 'credential'; id: string; secret: string } | { kind: 'invalid' };

const LABEL = 'coatcheck-remember';
const ID = /^[A-Za-z0-9_-]{22}$/;
const PART = /^[A-Za-z0-9_-]{43}$/;

export function newDeviceId(): string {
  return randomBase64url(16);
}

export function issueCredential(keyring: Keyring, id: string): IssuedCredential {
  const secret = randomBase64url(32);
  return {
    secretHash: hashSecret(secret),
    cookieValue: `${id}.${secret}.${keyring.sign(`${LABEL}.${id}.${secret}`)}`,
  };
}

/** Any key of the ring verifies (keys rotate without forgetting devices); a bad value costs no store call. */
export function parseCredential(keyring: Keyring, raw: string): ParsedCredential {
  const [id, secret, mac, extra] = raw.split('.');
  if (extra !== undefined || !id || !secret || !mac) return { kind: 'invalid' };
  if (!ID.test(id) || !PART.test(secret) || !PART.test(mac)) return { kind: 'invalid' };
  if (keyring.verify(`${LABEL}.${id}.${secret}`, mac) < 0) return { kind: 'invalid' };
  return { kind: 'credential', id, secret };
}
