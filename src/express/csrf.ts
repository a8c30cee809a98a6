import type { IncomingMessage, ServerResponse } from 'node:http';
import { createCsrfToken, verifyCsrfToken } from '../core/csrf.js';
import { SessionConfigError, SessionStateError } from '../core/errors.js';
import { createOriginPolicy, isSafeMethod, type OriginRejectReason } from '../core/request-origin.js';
import type { SessionState } from '../core/state.js';
import { bindingOf, type Session } from './session.js';

/** Options of the CSRF middleware. */
export interface CsrfOptions {
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
  /** Admin and step-up routes: refused when the request states no origin at all (S59). @default none */
  isStrict?: (req: IncomingMessage) => boolean;
  /** JSON API routes: need `Content-Type: application/json` and the header token (S58). @default path under `/api/` */
  isApi?: (req: IncomingMessage) => boolean;
}

/** Why the middleware refused a request; the `reason` of `csrf.reject` events. */
export type CsrfRejectReason = OriginRejectReason | 'content-type' | 'missing-token' | 'invalid-token';

type Request = IncomingMessage & {
  session?: Session | null;
  body?: unknown;
  originalUrl?: string;
  csrfToken?: () => string;
};
type Next = (error?: unknown) => void;

declare global {
  namespace Express {
    interface Request {
      /** A fresh masked CSRF token for the current session; creates a pre-session when anonymous. */
      csrfToken(): string;
    }
  }
}

const fieldNames = new WeakMap<IncomingMessage, string>();
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const VARY = ['Sec-Fetch-Site', 'Origin'];

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function mediaType(req: IncomingMessage): string {
  return (header(req, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
}

function pathOf(req: Request): string {
  return (req.originalUrl ?? req.url ?? '/').split('?')[0]!;
}

function defaultIsApi(req: IncomingMessage): boolean {
  // Express matches routes case-insensitively by default, so '/API/x' reaches '/api/x' handlers.
  const path = pathOf(req).toLowerCase();
  return path === '/api' || path.startsWith('/api/');
}

function appendVary(res: ServerResponse): void {
  const current = res.getHeader('Vary');
  const listed = (Array.isArray(current) ? current.join(',') : String(current ?? ''))
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  if (listed.includes('*')) return;
  const lower = listed.map((name) => name.toLowerCase());
  const missing = VARY.filter((name) => !lower.includes(name.toLowerCase()));
  if (missing.length > 0) res.setHeader('Vary', [...listed, ...missing].join(', '));
}

function wantsJson(req: IncomingMessage, api: boolean): boolean {
  if (api || mediaType(req) === 'application/json') return true;
  const accept = header(req, 'accept') ?? '';
  return accept.includes('application/json') && !accept.includes('text/html');
}

function refuse(req: IncomingMessage, res: ServerResponse, status: 403 | 415, api: boolean): void {
  res.statusCode = status;
  res.setHeader('Cache-Control', 'no-store');
  if (wantsJson(req, api)) {
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(JSON.stringify({ error: 'csrf' }));
    return;
  }
  const text = status === 415 ? 'Unsupported Media Type' : 'Forbidden: the request failed the CSRF check.';
  if ((header(req, 'accept') ?? '').includes('text/html')) {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(`<!doctype html><title>${status}</title><p>${text} Reload the page and try again.</p>`);
    return;
  }
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(text);
}

function stateOf(req: Request): { engine: ReturnType<typeof bindingOf>['engine']; state: SessionState } {
  if (!req.session) throw new SessionStateError('csrf() needs session() to run before it');
  const { engine, state } = bindingOf(req.session);
  return { engine, state };
}

/** The secret tokens must match, without creating one: a request with no secret simply fails (S55). */
function currentSecret(state: SessionState): string | null {
  return state.pendingMeta?.csrfSecret ?? state.record?.csrfSecret ?? null;
}

function resolve(options: CsrfOptions) {
  if (options === null || typeof options !== 'object') {
    throw new SessionConfigError('origins', 'csrf() needs { origins: [...] }');
  }
  const decide = createOriginPolicy({
    origins: options.origins,
    ...(options.sameSiteOrigins === undefined ? {} : { sameSiteOrigins: options.sameSiteOrigins }),
  });
  const headerName = options.headerName ?? 'x-csrf-token';
  if (
    typeof headerName !== 'string' ||
    !HEADER_NAME.test(headerName) ||
    headerName.toLowerCase() === 'cookie'
  ) {
    throw new SessionConfigError('headerName', 'must be an HTTP header name other than Cookie');
  }
  const fieldName = options.fieldName ?? '_csrf';
  if (typeof fieldName !== 'string' || fieldName.length === 0 || fieldName.length > 64) {
    throw new SessionConfigError('fieldName', 'must be a non-empty string of at most 64 characters');
  }
  for (const key of ['isStrict', 'isApi'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'function') {
      throw new SessionConfigError(key, 'must be a function of the request');
    }
  }
  const reportOnly = options.reportOnly ?? false;
  if (typeof reportOnly !== 'boolean') throw new SessionConfigError('reportOnly', 'must be a boolean');
  return {
    decide,
    reportOnly,
    headerName: headerName.toLowerCase(),
    fieldName,
    isStrict: options.isStrict ?? (() => false),
    isApi: options.isApi ?? defaultIsApi,
  };
}

/**
 * CSRF defence in layers (OWASP CSRF cheat sheet): a Fetch-Metadata/Origin resource-isolation
 * policy on every request, then, on unsafe methods, a synchronizer token bound to the current
 * session. Place it after `session()` and the body parsers. It installs `req.csrfToken()`.
 *
 * Tokens are read from the header, or, only when there is no such header and the body is a
 * urlencoded or multipart form, from the form field: never from a cookie or the query string.
 *
 * @throws SessionConfigError naming the option when `origins` or another option is invalid.
 * @example
 * app.use(session({ secret }));
 * app.use(express.json(), express.urlencoded({ extended: false }));
 * app.use(csrf({ origins: ['https://app.test'], isStrict: (req) => req.url.startsWith('/admin') }));
 * app.get('/login', (req, res) => res.send(`<form method="post">${csrfField(req)}…</form>`));
 */
export function csrf(options: CsrfOptions) {
  const config = resolve(options);

  return function csrfMiddleware(req: Request, res: ServerResponse, next: Next): void {
    let bound: ReturnType<typeof stateOf>;
    try {
      bound = stateOf(req);
    } catch (error) {
      next(error);
      return;
    }
    req.csrfToken = () => {
      const { engine, state } = stateOf(req);
      return createCsrfToken(engine.csrfSecretOf(state));
    };
    fieldNames.set(req, config.fieldName);

    const method = (req.method ?? 'GET').toUpperCase();
    const unsafe = !isSafeMethod(method);
    const authenticated = Boolean(bound.state.record?.userId);
    if (unsafe || authenticated) appendVary(res);

    const api = unsafe && config.isApi(req);
    const verdict = ((): CsrfRejectReason | null => {
      const decision = config.decide({
        method,
        secFetchSite: header(req, 'sec-fetch-site'),
        secFetchMode: header(req, 'sec-fetch-mode'),
        secFetchDest: header(req, 'sec-fetch-dest'),
        origin: header(req, 'origin'),
        referer: header(req, 'referer'),
        authenticated,
        strict: unsafe && config.isStrict(req),
      });
      if (!decision.allowed) return decision.reason;
      if (!unsafe) return null;
      const type = mediaType(req);
      if (api && type !== 'application/json') return 'content-type';
      const fromHeader = header(req, config.headerName);
      let token: unknown = fromHeader;
      // No fall-through between sources (the csurf pitfall): a header present is the only source.
      if (fromHeader === undefined && !api) {
        const form = type === 'application/x-www-form-urlencoded' || type === 'multipart/form-data';
        const body = req.body as Record<string, unknown> | undefined | null;
        if (form && body && typeof body === 'object' && Object.hasOwn(body, config.fieldName)) {
          token = body[config.fieldName];
        }
      }
      if (token === undefined) return 'missing-token';
      const secret = currentSecret(bound.state);
      return secret !== null && verifyCsrfToken(secret, token) ? null : 'invalid-token';
    })();

    if (verdict === null) {
      next();
      return;
    }
    const { engine, state } = bound;
    engine.emit({
      type: config.reportOnly ? 'csrf.report_only' : 'csrf.reject',
      reason: verdict,
      handle: state.record?.handle,
      userId: state.record?.userId ?? null,
      ip: state.info.ip,
      userAgent: state.info.userAgent,
      requestId: state.info.requestId,
    });
    if (config.reportOnly) {
      next();
      return;
    }
    refuse(req, res, verdict === 'content-type' ? 415 : 403, api);
  };
}

function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function tokenOf(req: IncomingMessage): string {
  const issue = (req as Request).csrfToken;
  if (typeof issue !== 'function') throw new SessionStateError('csrfField/csrfMeta need csrf() to run first');
  return issue();
}

/**
 * A hidden form field with a fresh token, for server-rendered forms.
 *
 * @example
 * res.send(`<form method="post" action="/login">${csrfField(req)}<button>Sign in</button></form>`);
 */
export function csrfField(req: IncomingMessage): string {
  const name = fieldNames.get(req) ?? '_csrf';
  return `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(tokenOf(req))}">`;
}

/**
 * A `<meta name="csrf-token">` tag with a fresh token, for scripts that send it in the header.
 *
 * @example
 * res.send(`<head>${csrfMeta(req)}</head>`);
 * // fetch('/api/x', { method: 'POST', headers: { 'x-csrf-token': document.querySelector('meta[name=csrf-token]').content } })
 */
export function csrfMeta(req: IncomingMessage): string {
  return `<meta name="csrf-token" content="${escapeHtml(tokenOf(req))}">`;
}
