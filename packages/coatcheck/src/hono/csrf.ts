import type { Context, MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { SessionState } from '../core/lifecycle/state.js';
import { createCsrfToken, verifyCsrfToken } from '../core/policies/csrf.js';
import {
  type CsrfOptions as CoreCsrfOptions,
  type CsrfRejectReason,
  resolveCsrfOptions,
} from '../core/policies/csrf-options.js';
import { pathMatcher } from '../core/policies/path-prefix.js';
import { isSafeMethod } from '../core/policies/request-origin.js';
import type { Env } from './middleware.js';
import { bindingOf, type HonoSession } from './session.js';

/** Options of the CSRF middleware: those of `coatcheck/express`'s `csrf`, with Hono's context. */
export type CsrfOptions = CoreCsrfOptions<Context>;
export type { CsrfRejectReason };

function mediaType(c: Context): string {
  return (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
}

const isUnderApi = pathMatcher(['/api']);
const defaultIsApi = (c: Context) => isUnderApi(c.req.path);

function sessionOf(c: Context): HonoSession {
  const found = (c as Context<Env>).get('session');
  if (!found) throw new TypeError('coatcheck/hono csrf() needs session() to run before it');
  return found;
}

/**
 * A fresh masked CSRF token for the request's session; on an anonymous session this makes it a
 * pre-session, stored after the handler (login forms, S55).
 */
export function csrfToken(c: Context): string {
  const { engine, state } = bindingOf(sessionOf(c));
  return createCsrfToken(engine.csrfSecretOf(state));
}

function resolve(options: CsrfOptions) {
  return resolveCsrfOptions(options, defaultIsApi, (c) => c.req.path);
}

type Config = ReturnType<typeof resolve>;

/** The token check of an unsafe request that passed the origin policy; null when it passes. */
async function checkToken(
  c: Context,
  state: SessionState,
  config: Config,
  api: boolean,
): Promise<CsrfRejectReason | null> {
  const type = mediaType(c);
  if (api && type !== 'application/json') return 'content-type';
  let token: unknown = c.req.header(config.headerName);
  // No fall-through between sources (the csurf pitfall): a header present is the only source.
  if (
    token === undefined &&
    !api &&
    (type === 'application/x-www-form-urlencoded' || type === 'multipart/form-data')
  ) {
    // Hono caches the parsed body: the handler can still read it.
    const body = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    if (Object.hasOwn(body, config.fieldName)) token = body[config.fieldName];
  }
  if (token === undefined) return 'missing-token';
  // Read, never created here: a request with no secret fails, and makes no pre-session (S55).
  const secret = state.pendingMeta?.csrfSecret ?? state.record?.csrfSecret;
  return secret && verifyCsrfToken(secret, token) ? null : 'invalid-token';
}

function refuse(c: Context, status: 403 | 415, api: boolean): Response {
  c.header('Cache-Control', 'no-store');
  const accept = c.req.header('accept') ?? '';
  if (api || mediaType(c) === 'application/json' || accept.includes('application/json')) {
    return c.json({ error: 'csrf' }, status);
  }
  const text = status === 415 ? 'Unsupported Media Type.' : 'Forbidden: the request failed the CSRF check.';
  if (!accept.includes('text/html')) return c.text(text, status);
  return c.html(
    `<!doctype html><title>${status}</title><p>${text} Reload the page and try again.</p>`,
    status,
  );
}

/**
 * CSRF defence in layers (OWASP CSRF cheat sheet), the policy of `coatcheck/express`'s `csrf`: a
 * Fetch-Metadata/Origin resource-isolation check on every request, then, on unsafe methods, a
 * synchronizer token bound to the current session, read from the header, or only when there is no
 * such header, from the form field of a urlencoded or multipart body. Place it after `session()`.
 *
 * @throws SessionConfigError naming the option when `origins` or another option is invalid.
 * @example
 * app.use(session({ secret, store }));
 * app.use(csrf({ origins: ['https://app.test'] }));
 * app.get('/form', (c) => c.html(`<form method="post">${csrfField(c)}…</form>`));
 */
export function csrf(options: CsrfOptions): MiddlewareHandler<Env> {
  const config = resolve(options);
  return createMiddleware<Env>(async (c, next) => {
    const { engine, state } = bindingOf(sessionOf(c));
    const method = c.req.method.toUpperCase();
    const unsafe = !isSafeMethod(method);
    const authenticated = Boolean(state.record?.userId);
    if (unsafe || authenticated) c.header('Vary', 'Sec-Fetch-Site, Origin', { append: true });
    const api = unsafe && config.isApi(c);
    const decision = config.decide({
      method,
      secFetchSite: c.req.header('sec-fetch-site'),
      secFetchMode: c.req.header('sec-fetch-mode'),
      secFetchDest: c.req.header('sec-fetch-dest'),
      origin: c.req.header('origin'),
      referer: c.req.header('referer'),
      authenticated,
      strict: unsafe && config.isStrict(c),
    });
    const verdict = !decision.allowed
      ? decision.reason
      : unsafe
        ? await checkToken(c, state, config, api)
        : null;
    if (verdict === null) return next();
    const { record, info } = state;
    engine.emit({
      type: config.reportOnly ? 'csrf.report_only' : 'csrf.reject',
      reason: verdict,
      handle: record?.handle,
      userId: record?.userId ?? null,
      ip: info.ip,
      userAgent: info.userAgent,
      requestId: info.requestId,
    });
    return config.reportOnly ? next() : refuse(c, verdict === 'content-type' ? 415 : 403, api);
  });
}

function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** A hidden `_csrf` form field with a fresh token, for server-rendered forms. */
export function csrfField(c: Context, fieldName = '_csrf'): string {
  return `<input type="hidden" name="${escapeHtml(fieldName)}" value="${escapeHtml(csrfToken(c))}">`;
}
