import { SessionConfigError } from '../errors.js';
import { pathMatcher } from './path-prefix.js';
import { createOriginPolicy, type OriginRejectReason } from './request-origin.js';

/**
 * Options of every adapter's CSRF check (S53–S59), over the adapter's own request type `R`: the
 * same layered policy on Express, Fastify and Hono.
 */
export interface CsrfOptions<R> {
  /** The application's own origins, exactly (`https://app.test`); never derived from `Host`. Required. */
  origins: readonly string[];
  /** Same-site siblings allowed to send unsafe requests. @default [] */
  sameSiteOrigins?: readonly string[];
  /** Log rejections as `csrf.report_only` events and let the requests through (roll-out). @default false */
  reportOnly?: boolean;
  /** Request header carrying the token. @default 'x-csrf-token' */
  headerName?: string;
  /** Form field carrying the token in urlencoded and multipart bodies. @default '_csrf' */
  fieldName?: string;
  /**
   * Admin and step-up routes: an unsafe request that states no origin at all (no Sec-Fetch-Site,
   * Origin or Referer) is refused instead of left to the token (S59). @default no route is strict
   */
  isStrict?: (request: R) => boolean;
  /**
   * Path prefixes whose unsafe requests are strict, as `isStrict` (either makes a request strict).
   * Matched the way routers match (case-insensitive, trailing and duplicate slashes, %-escapes), so
   * `POST /ACCOUNT/PASSWORD` is as strict as `/account/password`. @default []
   */
  strictPaths?: readonly string[];
  /** JSON API routes: need `Content-Type: application/json` and the header token (S58). @default path under `/api/` */
  isApi?: (request: R) => boolean;
}

/** Why a CSRF check refused a request; the `reason` of `csrf.reject` events. */
export type CsrfRejectReason = OriginRejectReason | 'content-type' | 'missing-token' | 'invalid-token';

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Validates CSRF options once, at start-up; a bad one throws SessionConfigError naming it. */
export function resolveCsrfOptions<R>(
  options: CsrfOptions<R>,
  defaultIsApi: (request: R) => boolean,
  urlOf: (request: R) => string,
) {
  if (options === null || typeof options !== 'object') {
    throw new SessionConfigError('origins', 'csrf() needs { origins: [...] }');
  }
  const { origins, sameSiteOrigins = [], headerName = 'x-csrf-token', fieldName = '_csrf' } = options;
  const { reportOnly = false, isStrict = () => false, isApi = defaultIsApi } = options;
  const decide = createOriginPolicy({ origins, sameSiteOrigins });
  if (typeof headerName !== 'string' || !HEADER_NAME.test(headerName) || /^cookie$/i.test(headerName)) {
    throw new SessionConfigError('headerName', 'must be an HTTP header name other than Cookie');
  }
  if (typeof fieldName !== 'string' || fieldName.length === 0 || fieldName.length > 64) {
    throw new SessionConfigError('fieldName', 'must be a non-empty string of at most 64 characters');
  }
  if (typeof isStrict !== 'function') throw new SessionConfigError('isStrict', 'must be a function');
  const { strictPaths = [] } = options;
  if (!Array.isArray(strictPaths) || strictPaths.some((p) => typeof p !== 'string' || !p.startsWith('/'))) {
    throw new SessionConfigError('strictPaths', 'must be a list of paths starting with /');
  }
  const isStrictPath = strictPaths.length > 0 ? pathMatcher(strictPaths) : () => false;
  if (typeof isApi !== 'function') throw new SessionConfigError('isApi', 'must be a function');
  if (typeof reportOnly !== 'boolean') throw new SessionConfigError('reportOnly', 'must be a boolean');
  return {
    decide,
    reportOnly,
    headerName: headerName.toLowerCase(),
    fieldName,
    isStrict: (request: R) => isStrictPath(urlOf(request)) || isStrict(request),
    isApi,
  };
}

const VARY = ['Sec-Fetch-Site', 'Origin'];

/**
 * The `Vary` value a response judged by the origin policy must carry (caches key on the headers the
 * decision read), merged into the current one; null when nothing needs adding (or it is `*`).
 */
export function varyWithOrigin(current: unknown): string | null {
  const listed = [current ?? []]
    .flat()
    .join(',')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  if (listed.includes('*')) return null;
  const lower = listed.map((name) => name.toLowerCase());
  const missing = VARY.filter((name) => !lower.includes(name.toLowerCase()));
  return missing.length > 0 ? [...listed, ...missing].join(', ') : null;
}
