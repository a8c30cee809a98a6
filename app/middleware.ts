import type { IncomingMessage, ServerResponse } from 'node:http';
import { SessionStateError, SessionStoreError } from 'coatcheck/express';
import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import type { AppContext } from './context.js';
import { setCurrentUser, setUnreadCount } from './current-user.js';
import { apiError, isApi } from './respond.js';
import { sessionOf } from './session-data.js';
import { renderMessage, renderUnavailable } from './views.js';

/**
 * Headers on every response: a CSP with no inline code, no framing, no MIME sniffing, and HSTS
 * whenever the request came over HTTPS (S15). Pages are never cached (S16).
 */
export const securityHeaders: RequestHandler = (req, res, next) => {
  res.set({
    'Content-Security-Policy':
      "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'same-origin',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
  });
  if (req.secure) res.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
  if (!req.path.startsWith('/static/')) res.set('Cache-Control', 'no-store');
  next();
};

/**
 * Loads the signed-in user (and their unread notification count, for the header) from the user
 * store on each request. A session whose user was deleted or disabled is ended rather than trusted.
 */
export function loadUser(ctx: AppContext): RequestHandler {
  return async (req, _res, next) => {
    const userId = sessionOf(req).meta?.userId;
    if (!userId) return next();
    const user = await ctx.users.findById(userId);
    if (user && user.disabledAt === null) {
      setCurrentUser(req, user);
      setUnreadCount(req, await ctx.notifications.countUnread(user.id));
    } else await sessionOf(req).logout();
    next();
  };
}

/** Answers when the session store is down: 503, generic, no stack trace (S49). */
export function onStoreError(_error: SessionStoreError, req: IncomingMessage, res: ServerResponse): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  res.statusCode = 503;
  // S15: HSTS on every response over HTTPS, this one included.
  if ((req as { secure?: boolean }).secure)
    res.setHeader('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Retry-After', '5');
  if (isApi(req as Partial<Request> & { url: string })) {
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(JSON.stringify({ error: 'unavailable', message: 'The service is temporarily unavailable.' }));
  } else {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(renderUnavailable());
  }
}

/** Unknown routes: a 404 page, or `{ error: 'not_found' }` under /api/. */
export const notFound: RequestHandler = (req, res) => {
  if (isApi(req)) return apiError(res, 404, 'not_found', 'There is no such endpoint.');
  renderMessage(req, res, 404, {
    title: 'Page not found',
    text: 'There is no page at this address.',
    link: { href: '/', label: 'Go to the start page' },
  });
};

function statusOf(error: unknown): number {
  const status = (error as { status?: unknown; statusCode?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : 500;
}

/**
 * The last handler: never a stack trace or an error message from inside the app in a response.
 * Client errors (bad JSON, a body too large) keep their status with a fixed text.
 */
export function errorHandler(log: (error: unknown, req: Request) => void): ErrorRequestHandler {
  return (error, req, res, _next) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error instanceof SessionStoreError) return onStoreError(error, req, res);
    if (error instanceof SessionStateError) {
      // The session ended while this request ran (signed out elsewhere): treat it as signed out.
      if (isApi(req)) return apiError(res, 401, 'unauthenticated', 'Your session has ended; sign in again.');
      return res.redirect(303, '/login');
    }
    const status = statusOf(error);
    if (status === 500) log(error, req);
    if (isApi(req)) {
      if (status === 500) return apiError(res, 500, 'internal', 'Something went wrong on our side.');
      const code =
        (error as { type?: unknown }).type === 'entity.parse.failed' ? 'invalid_json' : 'bad_request';
      return apiError(
        res,
        status,
        code,
        code === 'invalid_json' ? 'The body is not valid JSON.' : 'Bad request.',
      );
    }
    renderMessage(req, res, status, {
      title: status === 500 ? 'Something went wrong' : 'Bad request',
      text:
        status === 500
          ? 'An unexpected error occurred. It has been logged; please try again.'
          : 'The request could not be understood.',
      link: { href: '/', label: 'Go to the start page' },
    });
  };
}
