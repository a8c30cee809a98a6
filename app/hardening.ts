import { jsonLineSink } from 'coatcheck/audit';
import type { RequestHandler } from 'express';
import type { AppContext } from './context.js';
import { apiError, isApi } from './respond.js';
import { sessionOf } from './session-data.js';
import { renderMessage } from './views.js';

/**
 * S16: in production no session cookie ever travels over plain HTTP. Pages are sent to HTTPS (308
 * keeps the method), API calls are refused; placed before `session()`, so nothing is set first.
 *
 * The redirect never names a host taken from the request: it goes to the configured HTTPS origin,
 * or, when none is configured, to HTTPS on the configured host the request named; a request for
 * any other host is refused (421), so `Host: evil.example` cannot make it an open redirect.
 */
export function requireHttps(publicOrigins: readonly string[]): RequestHandler {
  const httpsOrigin = publicOrigins.find((origin) => origin.startsWith('https://'));
  const hosts = new Set(publicOrigins.map((origin) => new URL(origin).hostname.toLowerCase()));
  return (req, res, next) => {
    if (req.secure) return next();
    const hostname = (req.hostname ?? '').toLowerCase();
    if (!httpsOrigin && !hosts.has(hostname)) {
      if (isApi(req)) return apiError(res, 421, 'unknown_host', 'This host is not served here.');
      res.status(421).type('text/plain').send('This host is not served here.');
      return;
    }
    if (isApi(req)) return apiError(res, 403, 'https_required', 'This API is served over HTTPS only.');
    res.redirect(308, `${httpsOrigin ?? `https://${hostname}`}${req.originalUrl}`);
  };
}

/** S57: no route answers OPTIONS (no CORS here, S60), so preflights get 405 instead of Express's 200. */
export const refuseOptions: RequestHandler = (req, res, next) => {
  if (req.method !== 'OPTIONS') return next();
  res.set('Allow', 'GET, HEAD, POST');
  if (isApi(req)) return apiError(res, 405, 'method_not_allowed', 'OPTIONS is not supported.');
  res.status(405).end();
};

/**
 * S44 harvesting: the pages that create a pre-session (sign-in, registration, the API's session
 * endpoint) do so at most `max` times per window per address; signed-in users are not counted.
 */
export function limitPreSessions(ctx: AppContext, max = 60, windowMs = 60_000): RequestHandler {
  return async (req, res, next) => {
    if (sessionOf(req).meta) return next();
    const hit = await ctx.counter.hit(`presession:${req.ip ?? ''}`, windowMs);
    if (hit.count <= max) return next();
    res.set('Retry-After', String(Math.max(1, Math.ceil((hit.resetAt - Date.now()) / 1000))));
    ctx.sessions.engine.emit({
      type: 'security.session_harvesting',
      ip: req.ip,
      userAgent: req.get('user-agent'),
    });
    if (isApi(req))
      return apiError(res, 429, 'too_many_requests', 'Too many new sessions from this address.');
    renderMessage(req, res, 429, { title: 'Too many requests', text: 'Please wait a minute and try again.' });
  };
}

/** Why a sign-in or a step-up was refused, as the audit event's `reason`. */
export type SignInFailureReason = 'invalid' | 'throttled' | 'step_up_invalid' | 'step_up_throttled';

/**
 * S47: the app's own audit events (failed sign-ins and step-ups) on the same stream as the
 * library's. Never carries what was typed: no password, no code.
 */
export function reportSignInFailure(
  ctx: AppContext,
  req: { ip?: string | undefined; get(name: string): string | undefined },
  reason: SignInFailureReason,
  userId?: string,
): void {
  ctx.sessions.engine.emit({
    type: 'auth.login.failure',
    reason,
    ...(userId === undefined ? {} : { userId }),
    ip: req.ip,
    userAgent: req.get('user-agent'),
  });
}

/** S47: a wrong or throttled step-up code, reported like a failed sign-in of the signed-in user. */
export function reportStepUpFailure(
  ctx: AppContext,
  req: { ip?: string | undefined; get(name: string): string | undefined },
  reason: 'invalid' | 'throttled',
  userId: string,
): void {
  reportSignInFailure(ctx, req, reason === 'throttled' ? 'step_up_throttled' : 'step_up_invalid', userId);
}

/** Where the audit log goes: one JSON line per event on standard output, unless told otherwise. */
export function auditToStdout(): ReturnType<typeof jsonLineSink> {
  return jsonLineSink((line) => process.stdout.write(line));
}
