import { stringifySetCookie } from 'cookie';
import { SessionConfigError } from '../errors.js';

/** How the session cookie is written. Resolved and validated once, at start-up. */
export interface CookieOptions {
  /**
   * Cookie name. When unset: `__Host-id` over HTTPS and `id` over plain HTTP (browsers refuse
   * `__Host-` cookies without `Secure`).
   */
  name?: string;
  /** No cookie is set on a request whose path does not start with this (express-session). @default '/' */
  path?: string;
  /** Leave unset (host-only cookie); a domain rules out the `__Host-` prefix. */
  domain?: string;
  /** Keeps the cookie out of `document.cookie` (S11). @default true */
  httpOnly?: boolean;
  /** `'auto'` follows the request's protocol (with `trust proxy` honoured). @default 'auto' */
  secure?: boolean | 'auto';
  /**
   * Always sent explicitly (S12). `'none'` and `'auto'` (express-session 1.19) send `SameSite=None`
   * when the cookie is Secure and `Lax` otherwise, since browsers drop `None` without `Secure`;
   * both are refused with `secure: false`. @default 'lax'
   */
  sameSite?: 'lax' | 'strict' | 'none' | 'auto';
  /** CHIPS `Partitioned`; like `None`, sent only with `Secure` and refused with `secure: false`. */
  partitioned?: boolean;
  /** Chromium's `Priority` attribute. */
  priority?: 'low' | 'medium' | 'high';
  /**
   * Makes the cookie persistent with this lifetime ("remember me"); the Max-Age sent never exceeds
   * the session's remaining lifetime (S13). Unset: a browser-session cookie. Wins over `expiresAt`.
   */
  maxAgeMs?: number;
  /**
   * A fixed expiry (ms since the epoch), express-session's `cookie.expires`: a session created at
   * time t gets the lifetime `expiresAt - t`, kept with the session.
   */
  expiresAt?: number;
}

/** The validated cookie options of {@link createCookiePolicy}, with the per-request decisions. */
export interface CookiePolicy {
  /** The cookie name on a request that is (or is not) secure: `__Host-id` / `id` when no name is set. */
  nameFor(secure: boolean): string;
  /** Whether a cookie may be sent on this request at all (a `secure: true` cookie is never sent over HTTP). */
  canSet(secure: boolean): boolean;
  /** Whether `Secure` is sent: `secure: 'auto'` follows the request. */
  isSecure(requestSecure: boolean): boolean;
  /** The SameSite value sent on this request: `None` only ever with `Secure`. */
  sameSiteFor(requestSecure: boolean): 'lax' | 'strict' | 'none';
  /** Whether `Partitioned` is sent on this request (only with `Secure`). */
  isPartitioned(requestSecure: boolean): boolean;
  /** Cookie lifetime in ms of a session created at `createdAt` when the session sets none itself. */
  defaultLifetimeMs(createdAt: number): number | undefined;
  /**
   * The policy for one request whose cookie options were computed for it (express-session 1.19's
   * `cookie` function). The name stays this policy's. Validated once per distinct value (memoized).
   * @throws SessionConfigError when the options are invalid.
   */
  forRequest(options: Omit<CookieOptions, 'name'>): CookiePolicy;
  /**
   * A `Set-Cookie` value carrying `value` as is (it must already be cookie-octets, RFC 6265 §4.1.1).
   * `maxAgeSeconds` makes it persistent; without it the cookie ends with the browser session.
   */
  serialize(value: string, options: { secure: boolean; maxAgeSeconds?: number }): string;
  /** A `Set-Cookie` value that deletes the cookie (`Max-Age=0`) with the same Path and Domain. */
  serializeClear(secure: boolean, name?: string): string;
  /** The cookie's `Path`. */
  readonly path: string;
  /** The cookie's `Domain`; undefined for a host-only cookie. */
  readonly domain: string | undefined;
  /** Whether `HttpOnly` is sent. */
  readonly httpOnly: boolean;
  /** The configured SameSite; see {@link CookiePolicy.sameSiteFor} for what is sent. */
  readonly sameSite: 'lax' | 'strict' | 'none' | 'auto';
  /** Whether CHIPS `Partitioned` is configured. */
  readonly partitioned: boolean;
  /** Chromium's `Priority`, when configured. */
  readonly priority: 'low' | 'medium' | 'high' | undefined;
  /** Persistent cookie lifetime in ms ("remember me"); undefined for a browser-session cookie. */
  readonly maxAgeMs: number | undefined;
  /** Fixed expiry, ms since the epoch (express-session's `cookie.expires`). */
  readonly expiresAt: number | undefined;
  /** The `secure` option as configured (`'auto'` included). */
  readonly secureSetting: boolean | 'auto';
}

// RFC 6265 token characters; CVE-2024-47764: anything else could rewrite attributes.
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const PATH_VALUE = /^[\u0020-\u003A\u003C-\u007E]*$/;
const DOMAIN_VALUE = /^\.?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const SAME_SITE = new Set(['lax', 'strict', 'none', 'auto']);
const PRIORITY = new Set(['low', 'medium', 'high']);
/** Token values are cookie-octets already (handles are percent-encoded once, in the token). */
const AS_IS = { encode: (value: string) => value };
/** Distinct per-request option sets kept validated; a function returning more just validates again. */
const MAX_REQUEST_POLICIES = 100;

function validate(options: CookieOptions, path: string, secureSetting: boolean | 'auto'): void {
  const { name, domain, httpOnly = true, sameSite = 'lax', partitioned = false, priority } = options;
  if (name !== undefined && (typeof name !== 'string' || !COOKIE_NAME.test(name) || name.length > 64)) {
    throw new SessionConfigError('cookie.name', 'must be an RFC 6265 token of at most 64 characters');
  }
  if (typeof path !== 'string' || !path.startsWith('/') || !PATH_VALUE.test(path) || path.length > 256) {
    throw new SessionConfigError('cookie.path', 'must start with "/" and hold no ";" or control characters');
  }
  if (
    domain !== undefined &&
    (typeof domain !== 'string' || !DOMAIN_VALUE.test(domain) || domain.length > 253)
  ) {
    throw new SessionConfigError('cookie.domain', 'must be a plain host name');
  }
  if (typeof httpOnly !== 'boolean') throw new SessionConfigError('cookie.httpOnly', 'must be a boolean');
  if (secureSetting !== 'auto' && typeof secureSetting !== 'boolean') {
    throw new SessionConfigError('cookie.secure', "must be true, false or 'auto'");
  }
  if (!SAME_SITE.has(sameSite)) {
    throw new SessionConfigError('cookie.sameSite', "must be 'lax', 'strict', 'none' or 'auto'");
  }
  if ((sameSite === 'none' || sameSite === 'auto') && secureSetting === false) {
    throw new SessionConfigError('cookie.sameSite', `'${sameSite}' needs cookie.secure true or 'auto'`);
  }
  if (typeof partitioned !== 'boolean')
    throw new SessionConfigError('cookie.partitioned', 'must be a boolean');
  if (partitioned && secureSetting === false) {
    throw new SessionConfigError('cookie.partitioned', "needs cookie.secure true or 'auto'");
  }
  if (priority !== undefined && !PRIORITY.has(priority)) {
    throw new SessionConfigError('cookie.priority', "must be 'low', 'medium' or 'high'");
  }
  const { maxAgeMs, expiresAt } = options;
  if (
    maxAgeMs !== undefined &&
    (typeof maxAgeMs !== 'number' || !Number.isFinite(maxAgeMs) || maxAgeMs <= 0)
  ) {
    throw new SessionConfigError('cookie.maxAge', 'must be a positive number of milliseconds');
  }
  if (expiresAt !== undefined && (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt))) {
    throw new SessionConfigError('cookie.expires', 'must be a valid Date');
  }
  if (name?.toLowerCase().startsWith('__host-') && (domain !== undefined || path !== '/')) {
    throw new SessionConfigError('cookie.name', '__Host- cookies need Path=/ and no Domain');
  }
  if (name?.toLowerCase().startsWith('__host-') && secureSetting === false) {
    throw new SessionConfigError('cookie.name', '__Host- cookies need Secure');
  }
}

/** Builds the cookie policy from validated options; a bad option throws SessionConfigError. */
export function createCookiePolicy(options: CookieOptions = {}): CookiePolicy {
  return buildPolicy(options, undefined);
}

/** `baseNameFor`: the name of the policy a per-request one derives from, which it must keep. */
function buildPolicy(
  options: CookieOptions,
  baseNameFor: ((secure: boolean) => string) | undefined,
): CookiePolicy {
  const { name, domain, priority, maxAgeMs, expiresAt } = options;
  const path = options.path ?? '/';
  const httpOnly = options.httpOnly ?? true;
  const secureSetting = options.secure ?? 'auto';
  const sameSite = options.sameSite ?? 'lax';
  const partitioned = options.partitioned ?? false;
  validate(baseNameFor ? { ...options, name: baseNameFor(true) } : options, path, secureSetting);

  const hostPrefixAllowed = domain === undefined && path === '/';
  const isSecure = (requestSecure: boolean) => (secureSetting === 'auto' ? requestSecure : secureSetting);
  const nameFor =
    baseNameFor ??
    ((requestSecure: boolean) => name ?? (isSecure(requestSecure) && hostPrefixAllowed ? '__Host-id' : 'id'));
  const sameSiteFor = (requestSecure: boolean): 'lax' | 'strict' | 'none' =>
    sameSite === 'none' || sameSite === 'auto' ? (isSecure(requestSecure) ? 'none' : 'lax') : sameSite;
  const isPartitioned = (requestSecure: boolean) => partitioned && isSecure(requestSecure);

  const attributes = (secure: boolean) => ({
    path,
    httpOnly,
    secure: isSecure(secure),
    sameSite: sameSiteFor(secure),
    ...(domain === undefined ? {} : { domain }),
    ...(isPartitioned(secure) ? { partitioned: true } : {}),
    ...(priority === undefined ? {} : { priority }),
  });

  const perRequest = new Map<string, CookiePolicy>();
  const policy: CookiePolicy = {
    path,
    domain,
    httpOnly,
    sameSite,
    partitioned,
    priority,
    maxAgeMs,
    expiresAt,
    secureSetting,
    nameFor,
    isSecure,
    sameSiteFor,
    isPartitioned,
    canSet: (secure) => !(secureSetting === true && !secure),
    defaultLifetimeMs: (createdAt) =>
      maxAgeMs ?? (expiresAt === undefined ? undefined : Math.max(0, expiresAt - createdAt)),
    forRequest(requestOptions) {
      const key = JSON.stringify(requestOptions);
      let found = perRequest.get(key);
      if (!found) {
        // The name the engine reads cookies by must not change per request; a `__Host-` name also
        // holds the request's options to Path=/, no Domain and Secure.
        found = buildPolicy(requestOptions, nameFor);
        if (perRequest.size >= MAX_REQUEST_POLICIES) perRequest.clear();
        perRequest.set(key, found);
      }
      return found;
    },
    serialize(value, { secure, maxAgeSeconds }) {
      return stringifySetCookie(
        {
          name: nameFor(secure),
          value,
          ...attributes(secure),
          ...(maxAgeSeconds === undefined ? {} : { maxAge: maxAgeSeconds }),
        },
        AS_IS,
      );
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
  return policy;
}
