import { SessionConfigError } from '../errors.js';
import { createOriginPolicy, type OriginPolicy } from '../policies/request-origin.js';
import { DBSC_ALGORITHMS, type DbscAlgorithm } from './jwt.js';

/** One rule of a DBSC session's scope (the draft's `scope_specification`). */
export interface DbscScopeRule {
  /** Whether requests matching the rule are in the session's scope or left out of it. */
  type: 'include' | 'exclude';
  /** Host the rule applies to (`app.example`, or `*.app.example` for subdomains). */
  domain: string;
  /** Path prefix the rule applies to (`/` for the whole host). */
  path: string;
}

/** Options of Device Bound Session Credentials (W3C WebAppSec DBSC draft). Durations in milliseconds. */
export interface DeviceBoundSessionOptions {
  /** Where the browser registers its key. @default '/.well-known/coatcheck/dbsc/registration' */
  registrationPath?: string;
  /** Where the browser refreshes the bound cookie. @default '/.well-known/coatcheck/dbsc/refresh' */
  refreshPath?: string;
  /** Name of the short-lived bound cookie. @default '__Host-coatcheck-dbsc' over HTTPS, 'coatcheck-dbsc' over HTTP */
  cookieName?: string;
  /** Lifetime of the bound cookie: how long a copied one keeps working. @default 600_000 (10 min) */
  cookieLifetimeMs?: number;
  /** How long a challenge can be answered. @default 300_000 (5 min) */
  challengeLifetimeMs?: number;
  /** How long a replaced challenge still counts: Chrome resends a signed proof after a lost response. @default 10_000 */
  retryGraceMs?: number;
  /** Key algorithms offered, most preferred first. @default ['ES256', 'RS256'] */
  algorithms?: readonly DbscAlgorithm[];
  /** Whether the DBSC session covers the whole site rather than this origin. @default false */
  includeSite?: boolean;
  /** Requests the session does (not) cover, passed to the browser as `scope_specification`. */
  scopeSpecification?: readonly DbscScopeRule[];
  /**
   * The application's origins: the two routes then apply the same Origin / Sec-Fetch-Site policy
   * as the CSRF check (they carry no token). Unset: any Sec-Fetch-Site other than same-origin or
   * none is refused.
   */
  origins?: readonly string[];
  /** Same-site siblings accepted by that policy. @default [] */
  sameSiteOrigins?: readonly string[];
}

export interface ResolvedDbscOptions {
  registrationPath: string;
  refreshPath: string;
  cookieNameFor(secure: boolean): string;
  cookieLifetimeMs: number;
  timing: { lifetimeMs: number; graceMs: number };
  algorithms: readonly DbscAlgorithm[];
  includeSite: boolean;
  scopeSpecification: readonly DbscScopeRule[] | undefined;
  originPolicy: OriginPolicy | null;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new SessionConfigError(name, 'must be a positive number');
  return value;
}

function path(name: string, value: string | undefined, fallback: string): string {
  if (value === undefined) return fallback;
  // Quoted into a structured-field header: no quote, backslash or control character can appear.
  if (!/^\/[\x21\x23-\x5b\x5d-\x7e]*$/.test(value)) {
    throw new SessionConfigError(name, 'must be an absolute path without quotes or spaces');
  }
  return value;
}

/** Checks the options once, at start-up; a bad one throws SessionConfigError naming it. */
export function resolveDbscOptions(options: DeviceBoundSessionOptions = {}): ResolvedDbscOptions {
  const algorithms = options.algorithms ?? DBSC_ALGORITHMS;
  if (algorithms.length === 0 || algorithms.some((alg) => !DBSC_ALGORITHMS.includes(alg))) {
    throw new SessionConfigError('algorithms', "must list 'ES256' and/or 'RS256'");
  }
  const cookieName = options.cookieName;
  if (cookieName !== undefined && !/^[!#-'*+.0-9A-Z^-z|~-]+$/.test(cookieName)) {
    throw new SessionConfigError('cookieName', 'must be a cookie name token');
  }
  const registrationPath = path(
    'registrationPath',
    options.registrationPath,
    '/.well-known/coatcheck/dbsc/registration',
  );
  const refreshPath = path('refreshPath', options.refreshPath, '/.well-known/coatcheck/dbsc/refresh');
  if (registrationPath === refreshPath)
    throw new SessionConfigError('refreshPath', 'must differ from registrationPath');
  return {
    registrationPath,
    refreshPath,
    cookieNameFor: (secure) => cookieName ?? (secure ? '__Host-coatcheck-dbsc' : 'coatcheck-dbsc'),
    cookieLifetimeMs: positive('cookieLifetimeMs', options.cookieLifetimeMs, 600_000),
    timing: {
      lifetimeMs: positive('challengeLifetimeMs', options.challengeLifetimeMs, 300_000),
      graceMs: positive('retryGraceMs', options.retryGraceMs, 10_000),
    },
    algorithms,
    includeSite: options.includeSite ?? false,
    scopeSpecification: options.scopeSpecification,
    originPolicy: options.origins
      ? createOriginPolicy({ origins: options.origins, sameSiteOrigins: options.sameSiteOrigins ?? [] })
      : null,
  };
}
