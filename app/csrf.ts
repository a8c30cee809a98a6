import { csrf } from 'coatcheck/express';
import type { Request, RequestHandler } from 'express';

// Routes where a request with neither Sec-Fetch-Site nor Origin/Referer is refused outright (S59).
// The library matches them as Express routes: /ACCOUNT/PASSWORD and /account//password are strict too.
const STRICT_PREFIXES = [
  '/admin',
  '/reauth',
  '/step-up',
  '/account',
  '/api/admin',
  '/api/reauth',
  '/api/step-up',
  '/api/password',
];

/**
 * The library's CSRF layer for this app: the synchronizer token on every unsafe request, the
 * Fetch-Metadata / Origin policy against the app's own origins, JSON-only API writes.
 */
export function csrfProtection(origins: string[]): RequestHandler {
  const middleware = csrf({ origins, strictPaths: STRICT_PREFIXES });
  // Its request type names the library's Session; Express's names the one in `req.session`'s typing.
  return middleware as unknown as RequestHandler;
}

/** A fresh CSRF token for this request's session (an anonymous request gets a pre-session). */
export function csrfTokenOf(req: Request): string {
  return req.csrfToken();
}
