import { SessionConfigError } from '../errors.js';

/** The facts about one request that the resource-isolation policy looks at. Header values are raw. */
export interface OriginRequest {
  /** The HTTP method: GET, HEAD and OPTIONS are safe (RFC 9110 §9.2.1) and get only the cross-site read checks. */
  method: string;
  /** `Sec-Fetch-Site` (Fetch Metadata): the primary signal when the browser sends it. */
  secFetchSite?: string | undefined;
  /** `Sec-Fetch-Mode`: on a safe method, only a top-level `navigate` may come cross-site. */
  secFetchMode?: string | undefined;
  /** `Sec-Fetch-Dest`: script, image, object and embed reads of a signed-in session are refused. */
  secFetchDest?: string | undefined;
  /** `Origin` (RFC 6454), the fallback when Fetch Metadata is missing. */
  origin?: string | undefined;
  /** `Referer`, the last fallback; compared by origin only. */
  referer?: string | undefined;
  /** The request carries a signed-in session: cross-site subresource reads of it are refused. */
  authenticated: boolean;
  /** Admin and step-up routes: with neither Sec-Fetch-Site nor Origin/Referer, fail closed (S59). */
  strict: boolean;
}

/** Why a request was refused; stable strings, safe to log. */
export type OriginRejectReason =
  | 'cross-site'
  | 'same-site'
  | 'cross-site-subresource'
  | 'invalid-sec-fetch-site'
  | 'origin-null'
  | 'origin-mismatch'
  | 'referer-mismatch'
  | 'no-origin';

/** The policy's answer: go on to the token check, or refuse with a reason. */
export type OriginDecision =
  | {
      /** The request may go on to the CSRF token check. */
      allowed: true;
    }
  | {
      /** The request is refused (answered 403 by the adapters). */
      allowed: false;
      /** Why, a stable string safe to log. */
      reason: OriginRejectReason;
    };

/** Configuration of the policy. */
export interface OriginPolicyOptions {
  /**
   * The application's own origins, exactly as browsers serialise them (`https://app.test`,
   * `http://localhost:3000`): scheme, host and port, no path, no trailing slash.
   */
  origins: readonly string[];
  /**
   * Same-site siblings (`https://admin.app.test`) whose unsafe requests are accepted. Every other
   * same-site origin is refused like a cross-site one. @default []
   */
  sameSiteOrigins?: readonly string[];
}

/** Decides whether a request may go on to the token check; pure, and safe to call on every request. */
export type OriginPolicy = (request: OriginRequest) => OriginDecision;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const SUBRESOURCE_DESTS = new Set(['script', 'image', 'object', 'embed']);
const FETCH_SITES = new Set(['same-origin', 'same-site', 'cross-site', 'none']);

/** GET, HEAD and OPTIONS: the methods that must never change state (S57) and carry no token. */
export function isSafeMethod(method: string): boolean {
  return SAFE_METHODS.has(method.toUpperCase());
}

/** Letters, digits, dots and hyphens, or a bracketed IPv6 literal: no wildcard ever matches anything. */
function isPlainHost(hostname: string): boolean {
  if (hostname.startsWith('[')) return hostname.endsWith(']');
  for (const char of hostname) {
    const plain =
      (char >= 'a' && char <= 'z') || (char >= '0' && char <= '9') || char === '.' || char === '-';
    if (!plain) return false;
  }
  return hostname.length > 0;
}

function canonicalOrigins(option: string, values: unknown): Set<string> {
  if (!Array.isArray(values)) throw new SessionConfigError(option, 'must be an array of origins');
  const out = new Set<string>();
  for (const value of values) {
    let origin: string | null = null;
    try {
      const url = new URL(String(value));
      if ((url.protocol === 'https:' || url.protocol === 'http:') && isPlainHost(url.hostname)) {
        origin = url.origin;
      }
    } catch {
      origin = null;
    }
    // Exact configuration only: "https://app.test/" or "HTTPS://App.test" would hide a typo.
    if (typeof value !== 'string' || origin !== value) {
      throw new SessionConfigError(
        option,
        `${JSON.stringify(value)} is not an origin; write scheme://host[:port] exactly, e.g. "https://app.test"`,
      );
    }
    out.add(origin);
  }
  return out;
}

/** The origin of a Referer value, or null when it has none (unparsable, opaque, not http(s)). */
function refererOrigin(referer: string): string | null {
  try {
    const url = new URL(referer);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.origin : null;
  } catch {
    return null;
  }
}

const allow: OriginDecision = { allowed: true };
const deny = (reason: OriginRejectReason): OriginDecision => ({ allowed: false, reason });

/**
 * Builds the resource-isolation policy of the CSRF defence (W3C Fetch Metadata; OWASP CSRF cheat
 * sheet "Fetch Metadata headers" and "Verifying Origin With Standard Headers"). Origins are compared
 * as exact strings against the configuration, never against `Host` or `X-Forwarded-Host`, which an
 * attacker's proxy or a misrouted request can set.
 *
 * Unsafe methods: `same-origin` and `none` pass to the token check; `cross-site` is refused;
 * `same-site` passes only from an allowlisted sibling. Without Sec-Fetch-Site (older browsers), the
 * Origin, or else the Referer's origin, must be configured; `null` is refused; with neither, the
 * token alone decides, except on strict routes.
 *
 * Safe methods, on authenticated resources only: a cross-site (or non-allowlisted same-site) request
 * that is not a top-level GET navigation is refused, and so is a request whose Origin is foreign.
 *
 * @throws SessionConfigError naming `origins` or `sameSiteOrigins` when an entry is not an exact origin.
 * @example
 * const decide = createOriginPolicy({ origins: ['https://app.test'] });
 * decide({ method: 'POST', secFetchSite: 'cross-site', authenticated: true, strict: false });
 * // { allowed: false, reason: 'cross-site' }
 */
export function createOriginPolicy(options: OriginPolicyOptions): OriginPolicy {
  const own = canonicalOrigins('origins', options.origins);
  if (own.size === 0) throw new SessionConfigError('origins', 'list at least one origin of the application');
  const siblings = canonicalOrigins('sameSiteOrigins', options.sameSiteOrigins ?? []);
  const trusted = new Set([...own, ...siblings]);

  /** The requester's origin as the browser stated it: Origin, or the Referer's origin. */
  const sourceOf = (request: OriginRequest): string | null | undefined => {
    if (request.origin !== undefined) return request.origin;
    if (request.referer !== undefined) return refererOrigin(request.referer);
    return undefined;
  };
  const isTrustedSource = (request: OriginRequest) => {
    const source = sourceOf(request);
    return typeof source === 'string' && trusted.has(source);
  };

  function unsafe(request: OriginRequest): OriginDecision {
    const site = request.secFetchSite;
    if (site !== undefined) {
      if (site === 'same-origin' || site === 'none') return allow;
      if (site === 'cross-site') return deny('cross-site');
      if (site === 'same-site') return isTrustedSource(request) ? allow : deny('same-site');
      return deny('invalid-sec-fetch-site');
    }
    if (request.origin !== undefined) {
      if (request.origin === 'null') return deny('origin-null');
      return trusted.has(request.origin) ? allow : deny('origin-mismatch');
    }
    if (request.referer !== undefined) return isTrustedSource(request) ? allow : deny('referer-mismatch');
    return request.strict ? deny('no-origin') : allow;
  }

  function safe(request: OriginRequest): OriginDecision {
    if (!request.authenticated) return allow;
    const site = request.secFetchSite;
    if (site === undefined) {
      // Browsers send Origin on a GET only for CORS-mode requests, never on a top-level navigation.
      if (request.origin === undefined || trusted.has(request.origin)) return allow;
      return deny(request.origin === 'null' ? 'origin-null' : 'origin-mismatch');
    }
    if (site === 'same-origin' || site === 'none') return allow;
    if (!FETCH_SITES.has(site)) return deny('invalid-sec-fetch-site');
    if (site === 'same-site' && isTrustedSource(request)) return allow;
    const navigation =
      request.method.toUpperCase() === 'GET' &&
      request.secFetchMode === 'navigate' &&
      !SUBRESOURCE_DESTS.has(request.secFetchDest ?? '');
    return navigation ? allow : deny('cross-site-subresource');
  }

  return (request) => (isSafeMethod(request.method) ? safe(request) : unsafe(request));
}
