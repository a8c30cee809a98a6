import type { EventBus } from '../events.js';
import type { SessionState } from '../lifecycle/state.js';
import { verifyCsrfToken } from './csrf.js';
import type { CsrfRejectReason, resolveCsrfOptions } from './csrf-options.js';
import { isSafeMethod } from './request-origin.js';

/** CSRF options once validated by `resolveCsrfOptions`, over an adapter's request type `R`. */
export type ResolvedCsrfOptions<R> = ReturnType<typeof resolveCsrfOptions<R>>;

/** The origin half of one request's CSRF check, decided before any token is read. */
export interface CsrfGate {
  /** An unsafe method: the synchronizer token must follow (S53). */
  unsafe: boolean;
  /** An unsafe request to a JSON API route: JSON body and header token only (S58). */
  api: boolean;
  /** The response must carry `Vary: Sec-Fetch-Site, Origin`: its outcome depends on them. */
  vary: boolean;
  /** The origin policy's refusal (S56, S59), or null when the request may go on to the token. */
  refused: CsrfRejectReason | null;
}

/**
 * The resource-isolation step every adapter runs first: Fetch Metadata, Origin and Referer against
 * the configured origins (S56, S59). `header` reads one request header by its lower-case name.
 */
export function csrfGate<R>(
  config: ResolvedCsrfOptions<R>,
  request: R,
  method: string,
  header: (name: string) => string | undefined,
  state: SessionState,
): CsrfGate {
  const unsafe = !isSafeMethod(method);
  const authenticated = Boolean(state.record?.userId);
  const decision = config.decide({
    method,
    secFetchSite: header('sec-fetch-site'),
    secFetchMode: header('sec-fetch-mode'),
    secFetchDest: header('sec-fetch-dest'),
    origin: header('origin'),
    referer: header('referer'),
    authenticated,
    strict: unsafe && config.isStrict(request),
  });
  return {
    unsafe,
    api: unsafe && config.isApi(request),
    vary: unsafe || authenticated,
    refused: decision.allowed ? null : decision.reason,
  };
}

/** `application/json` from `application/json; charset=utf-8`: the media type, lower-case. */
export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Where an unsafe request's token must be read from: the header whenever one is present (no
 * fall-through between sources, the csurf pitfall), else the form field of a urlencoded or
 * multipart body, never a cookie or the query string (S53). `'content-type'` refuses an API request
 * whose body is not JSON (S58).
 */
export function csrfTokenSource(
  api: boolean,
  mediaType: string,
  hasHeader: boolean,
): 'content-type' | 'header' | 'form' | 'none' {
  if (api && mediaType !== 'application/json') return 'content-type';
  if (hasHeader) return 'header';
  const form = mediaType === 'application/x-www-form-urlencoded' || mediaType === 'multipart/form-data';
  return !api && form ? 'form' : 'none';
}

/** The form field of a parsed body, own properties only (S51). */
export function formField(body: unknown, name: string): unknown {
  return body !== null && typeof body === 'object' && Object.hasOwn(body, name)
    ? (body as Record<string, unknown>)[name]
    : undefined;
}

/**
 * The token against the session's secret, in constant time (S46). The secret is read, never created
 * here: a request whose session has none fails and makes no pre-session (S55).
 */
export function csrfTokenVerdict(state: SessionState, token: unknown): CsrfRejectReason | null {
  if (token === undefined) return 'missing-token';
  const secret = state.pendingMeta?.csrfSecret ?? state.record?.csrfSecret;
  return secret && verifyCsrfToken(secret, token) ? null : 'invalid-token';
}

/** Emits `csrf.reject`, or `csrf.report_only` in report-only mode, with public facts only (S47). */
export function reportCsrf(
  events: Pick<EventBus, 'emit'>,
  state: SessionState,
  reason: CsrfRejectReason,
  reportOnly: boolean,
): void {
  const { record, info } = state;
  events.emit({
    type: reportOnly ? 'csrf.report_only' : 'csrf.reject',
    reason,
    handle: record?.handle,
    userId: record?.userId ?? null,
    ip: info.ip,
    userAgent: info.userAgent,
    requestId: info.requestId,
  });
}

/**
 * The body of a refusal: JSON `{"error":"csrf"}` for API and JSON clients, a short page for
 * browsers, plain text otherwise. Sent with `Cache-Control: no-store` and the status.
 */
export function csrfRefusal(
  status: 403 | 415,
  api: boolean,
  mediaType: string,
  accept: string,
): { contentType: string; body: string } {
  if (api || mediaType === 'application/json' || accept.includes('application/json')) {
    return { contentType: 'application/json; charset=utf-8', body: JSON.stringify({ error: 'csrf' }) };
  }
  const text = status === 415 ? 'Unsupported Media Type.' : 'Forbidden: the request failed the CSRF check.';
  if (!accept.includes('text/html')) return { contentType: 'text/plain; charset=utf-8', body: text };
  return {
    contentType: 'text/html; charset=utf-8',
    body: `<!doctype html><title>${status}</title><p>${text} Reload the page and try again.</p>`,
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

/** `<input type="hidden">` carrying a token in the form field `name`, escaped. */
export function csrfFieldHtml(name: string, token: string): string {
  return `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(token)}">`;
}

/** `<meta name="csrf-token">` carrying a token, escaped. */
export function csrfMetaHtml(token: string): string {
  return `<meta name="csrf-token" content="${escapeHtml(token)}">`;
}
