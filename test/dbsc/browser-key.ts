import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import type { Client } from '../support/http.js';

export type Algorithm = 'ES256' | 'RS256';

/** A browser's DBSC key pair, signing as Chromium does: `dbsc+jwt`, ES256 as raw r‖s. */
export class BrowserKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  constructor(readonly alg: Algorithm) {
    const pair =
      alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = pair.privateKey;
    this.publicKey = pair.publicKey;
  }

  /** A compact JWS over `payload`, with the public JWK in the header when `withKey`. */
  jwt(payload: Record<string, unknown>, { withKey = false, typ = 'dbsc+jwt' } = {}): string {
    const header = {
      alg: this.alg,
      typ,
      ...(withKey ? { jwk: this.publicKey.export({ format: 'jwk' }) } : {}),
    };
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const input = `${encode(header)}.${encode(payload)}`;
    const signature =
      this.alg === 'ES256'
        ? sign('sha256', Buffer.from(input), { key: this.privateKey, dsaEncoding: 'ieee-p1363' })
        : sign('sha256', Buffer.from(input), this.privateKey);
    return `${input}.${signature.toString('base64url')}`;
  }
}

/** The parts of `Secure-Session-Registration: (ES256 RS256);path="...";challenge="..."`. */
export function parseRegistration(value: string | null) {
  if (!value) return null;
  const algorithms = /^\(([^)]*)\)/.exec(value)?.[1]?.split(' ') ?? [];
  const path = /;path="([^"]*)"/.exec(value)?.[1];
  const challenge = /;challenge="([^"]*)"/.exec(value)?.[1];
  return path && challenge ? { algorithms, path, challenge } : null;
}

/** The parts of `Secure-Session-Challenge: "<nonce>";id="<session id>"`. */
export function parseChallenge(value: string | null) {
  const match = value && /^"([^"]+)";id="([^"]+)"$/.exec(value);
  return match ? { challenge: match[1]!, id: match[2]! } : null;
}

/** The DBSC part of a browser: registers a key, refreshes the bound cookie as Chromium does. */
export class DbscBrowser {
  sessionId: string | null = null;
  refreshUrl: string | null = null;
  /** A challenge received ahead of time (`Secure-Session-Challenge` on an earlier answer). */
  pending: string | null = null;
  constructor(
    readonly client: Client,
    readonly key: BrowserKey,
  ) {}

  async register(offer: { path: string; challenge: string }, { quoted = false } = {}) {
    const jwt = this.key.jwt({ jti: offer.challenge }, { withKey: true });
    const res = await this.client.request(offer.path, {
      method: 'POST',
      headers: { 'secure-session-response': quoted ? `"${jwt}"` : jwt, 'sec-fetch-site': 'same-origin' },
    });
    if (res.status === 200) {
      const body = res.json() as { session_identifier: string; refresh_url: string };
      this.sessionId = body.session_identifier;
      this.refreshUrl = body.refresh_url;
      this.pending = parseChallenge(res.headers.get('secure-session-challenge'))?.challenge ?? null;
    }
    return res;
  }

  /** One refresh request: with a proof over `challenge` when given (or a raw `proof`), else none. */
  async refreshOnce(options: { challenge?: string; proof?: string; quoted?: boolean } = {}) {
    const headers: Record<string, string> = {
      'sec-secure-session-id': options.quoted ? `"${this.sessionId}"` : this.sessionId!,
      'sec-fetch-site': 'same-origin',
    };
    const proof = options.proof ?? (options.challenge ? this.key.jwt({ jti: options.challenge }) : undefined);
    if (proof) headers['secure-session-response'] = options.quoted ? `"${proof}"` : proof;
    return this.client.request(this.refreshUrl!, { method: 'POST', headers });
  }

  /** Chromium's loop: ask, answer the 403's challenge once. */
  async refresh() {
    const first = await this.refreshOnce();
    if (first.status !== 403) return { first, final: first, proof: null };
    const challenge = parseChallenge(first.headers.get('secure-session-challenge'))!.challenge;
    const proof = this.key.jwt({ jti: challenge });
    const final = await this.refreshOnce({ proof });
    return { first, final, proof };
  }
}
