import { stringifySetCookie } from 'cookie';
import { SessionConfigError } from './errors.js';

/** How the session cookie is written. Resolved and validated once, at start-up. */
export interface CookieOptions {
  /**
   * Cookie name. When unset: `__Host-id` over HTTPS and `id` over plain HTTP (browsers refuse
   * `__Host-` cookies without `Secure`).
   */
  name?: string;
  /** @default '/' */
  path?: string;
  /** Leave unset (host-only cookie); a domain rules out the `__Host-` prefix. */
  domain?: string;
  /** @default true */
  httpOnly?: boolean;
  /** `'auto'` follows the request's protocol (with `trust proxy` honoured). @default 'auto' */
  secure?: boolean | 'auto';
  /** Never `none`: SameSite is always explicit (S12). @default 'lax' */
  sameSite?: 'lax' | 'strict';
  /**
   * Makes the cookie persistent with this lifetime ("remember me"); the Max-Age sent never exceeds
   * the session's remaining lifetime (S13). Unset: a browser-session cookie.
   */
  maxAgeMs?: number;
}

export interface CookiePolicy {
  nameFor(secure: boolean): string;
  /** Whether a cookie may be sent on this request at all (a `secure: true` cookie is never sent over HTTP). */
  canSet(secure: boolean): boolean;
  isSecure(requestSecure: boolean): boolean;
  serialize(value: string, options: { secure: boolean; maxAgeSeconds?: number }): string;
  serializeClear(secure: boolean, name?: string): string;
  readonly path: string;
  readonly domain: string | undefined;
  readonly httpOnly: boolean;
  readonly sameSite: 'lax' | 'strict';
  readonly maxAgeMs: number | undefined;
  readonly secureSetting: boolean | 'auto';
}

// RFC 6265 token characters; CVE-2024-47764: anything else could rewrite attributes.
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const PATH_VALUE = /^[\u0020-\u003A\u003C-\u007E]*$/;
const DOMAIN_VALUE = /^\.?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

export function createCookiePolicy(options: CookieOptions = {}): CookiePolicy {
  const { name, domain } = options;
  const path = options.path ?? '/';
  const httpOnly = options.httpOnly ?? true;
  const secureSetting = options.secure ?? 'auto';
  const sameSite = options.sameSite ?? 'lax';

  if (name !== undefined && (!COOKIE_NAME.test(name) || name.length > 64)) {
    throw new SessionConfigError('cookie.name', 'must be an RFC 6265 token of at most 64 characters');
  }
  if (!path.startsWith('/') || !PATH_VALUE.test(path) || path.length > 256) {
    throw new SessionConfigError('cookie.path', 'must start with "/" and hold no ";" or control characters');
  }
  if (domain !== undefined && (!DOMAIN_VALUE.test(domain) || domain.length > 253)) {
    throw new SessionConfigError('cookie.domain', 'must be a plain host name');
  }
  if (typeof httpOnly !== 'boolean') throw new SessionConfigError('cookie.httpOnly', 'must be a boolean');
  if (secureSetting !== 'auto' && typeof secureSetting !== 'boolean') {
    throw new SessionConfigError('cookie.secure', "must be true, false or 'auto'");
  }
  if (sameSite !== 'lax' && sameSite !== 'strict') {
    throw new SessionConfigError('cookie.sameSite', "must be 'lax' or 'strict' (never 'none')");
  }
  const { maxAgeMs } = options;
  if (maxAgeMs !== undefined && (!Number.isFinite(maxAgeMs) || maxAgeMs <= 0)) {
    throw new SessionConfigError('cookie.maxAge', 'must be a positive number of milliseconds');
  }
  if (name?.toLowerCase().startsWith('__host-') && (domain !== undefined || path !== '/')) {
    throw new SessionConfigError('cookie.name', '__Host- cookies need Path=/ and no Domain');
  }
  if (name?.toLowerCase().startsWith('__host-') && secureSetting === false) {
    throw new SessionConfigError('cookie.name', '__Host- cookies need Secure');
  }

  const hostPrefixAllowed = domain === undefined && path === '/';
  const isSecure = (requestSecure: boolean) => (secureSetting === 'auto' ? requestSecure : secureSetting);
  const nameFor = (requestSecure: boolean) =>
    name ?? (isSecure(requestSecure) && hostPrefixAllowed ? '__Host-id' : 'id');

  const attributes = (secure: boolean) => ({
    path,
    httpOnly,
    secure: isSecure(secure),
    sameSite,
    ...(domain === undefined ? {} : { domain }),
  });

  return {
    path,
    domain,
    httpOnly,
    sameSite,
    maxAgeMs,
    secureSetting,
    nameFor,
    isSecure,
    canSet: (secure) => !(secureSetting === true && !secure),
    serialize(value, { secure, maxAgeSeconds }) {
      return stringifySetCookie({
        name: nameFor(secure),
        value,
        ...attributes(secure),
        ...(maxAgeSeconds === undefined ? {} : { maxAge: maxAgeSeconds }),
      });
    },
    serializeClear(secure, clearName) {
      return stringifySetCookie({
        name: clearName ?? nameFor(secure),
        value: '',
        ...attributes(secure),
        maxAge: 0,
      });
    },
  };
}

/** Upper bound on the Cookie header bytes we scan; larger headers are read as carrying no session. */
export const MAX_COOKIE_HEADER_LENGTH = 8192;

export type CookieLookup = { kind: 'none' } | { kind: 'one'; value: string } | { kind: 'duplicate' };

/**
 * Finds the cookie with exactly this name. RFC 6265bis §4.2.2: order must not decide between two
 * cookies of one name (cookie tossing), so two exact-name occurrences mean no session (S18).
 * Look-alike names (`__host-id`, `%5F%5FHost-id`, `=__Host-id`, `__Host-id `) never match.
 */
export function findCookie(header: string | undefined, name: string): CookieLookup {
  if (!header || header.length > MAX_COOKIE_HEADER_LENGTH) return { kind: 'none' };
  let found: string | undefined;
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    const eq = header.indexOf('=', start);
    if (eq !== -1 && eq < end) {
      let nameStart = start;
      while (header.charCodeAt(nameStart) === 32 || header.charCodeAt(nameStart) === 9) nameStart++;
      if (eq - nameStart === name.length && header.startsWith(name, nameStart)) {
        if (found !== undefined) return { kind: 'duplicate' };
        let value = header.slice(eq + 1, end).trim();
        if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
        found = value;
      }
    }
    start = end + 1;
  }
  return found === undefined ? { kind: 'none' } : { kind: 'one', value: found };
}
