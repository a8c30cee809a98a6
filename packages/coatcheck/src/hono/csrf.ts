import type { Context, MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { SessionState } from '../core/lifecycle/state.js';
import { createCsrfToken } from '../core/policies/csrf.js';
import {
  csrfFieldHtml,
  csrfGate,
  csrfRefusal,
  csrfTokenSource,
  csrfTokenVerdict,
  formField,
  mediaTypeOf,
  reportCsrf,
} from '../core/policies/csrf-flow.js';
import {
  type CsrfOptions as CoreCsrfOptions,
  type CsrfRejectReason,
  resolveCsrfOptions,
} from '../core/policies/csrf-options.js';
import { pathMatcher } from '../core/policies/path-prefix.js';
import type { Env } from './middleware.js';
import { bindingOf, type HonoSession } from './session.js';

/** Options of the CSRF middleware: those of `coatcheck/express`'s `csrf`, with Hono's context. */
export type CsrfOptions = CoreCsrfOptions<Context>;
export type { CsrfRejectReason };

const mediaType = (c: Context) => mediaTypeOf(c.req.header('content-type'));

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
  const fromHeader = c.req.header(config.headerName);
  const source = csrfTokenSource(api, mediaType(c), fromHeader !== undefined);
  if (source === 'content-type') return 'content-type';
  if (source !== 'form') return csrfTokenVerdict(state, source === 'header' ? fromHeader : undefined);
  // Hono caches the parsed body: the handler can still read it.
  const body = await c.req.parseBody().catch(() => ({}));
  return csrfTokenVerdict(state, formField(body, config.fieldName));
}

function refuse(c: Context, status: 403 | 415, api: boolean): Response {
  const { contentType, body } = csrfRefusal(status, api, mediaType(c), c.req.header('accept') ?? '');
  return c.body(body, status, { 'Cache-Control': 'no-store', 'Content-Type': contentType });
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
    const gate = csrfGate(config, c, c.req.method.toUpperCase(), (name) => c.req.header(name), state);
    if (gate.vary) c.header('Vary', 'Sec-Fetch-Site, Origin', { append: true });
    const verdict = gate.refused ?? (gate.unsafe ? await checkToken(c, state, config, gate.api) : null);
    if (verdict === null) return next();
    reportCsrf(engine, state, verdict, config.reportOnly);
    return config.reportOnly ? next() : refuse(c, verdict === 'content-type' ? 415 : 403, gate.api);
  });
}

/** A hidden `_csrf` form field with a fresh token, for server-rendered forms. */
export function csrfField(c: Context, fieldName = '_csrf'): string {
  return csrfFieldHtml(fieldName, csrfToken(c));
}
