import { findCookie } from 'coatcheck';
import type { RequestHandler } from 'express';
import type { AppContext } from './context.js';
import { apiError, isApi } from './respond.js';
import { safeReturnTo } from './validate.js';
import { renderMessage } from './views.js';

/** Characters a cookie Path attribute may carry here: no `;` or space that could add attributes. */
const SAFE_PATH = /^\/[A-Za-z0-9\-._~%/]*$/;
/** Deepest path a clearing cookie is sent for. */
const MAX_SEGMENTS = 6;

/** Every path a cookie sent on `path` may have been set for, except `/` (where ours lives). */
function shadowingPaths(path: string): string[] {
  const segments = path.split('/').filter(Boolean).slice(0, MAX_SEGMENTS);
  const paths: string[] = [];
  for (let i = 1; i <= segments.length; i++) {
    const prefix = `/${segments.slice(0, i).join('/')}`;
    if (SAFE_PATH.test(prefix)) paths.push(prefix, `${prefix}/`);
  }
  return paths;
}

/**
 * S18 cookie tossing over plain HTTP: a planted `id=…; Path=/devices` is sent beside the real
 * session cookie on /devices only. The library then treats the request as anonymous, the guard
 * sends it to /login, where only the real cookie is sent, so /login sends it back: a redirect
 * loop. The server's own clearing cookie has Path=/ and cannot remove the planted one, and over
 * HTTP the `__Host-` prefix that would forbid it is unavailable.
 *
 * So a request with two session cookies gets a page saying so instead of a redirect, with
 * clearing cookies for every path the planted one may have (a planted Domain cookie cannot be
 * named from here: the page tells the user to clear this site's cookies).
 */
export function refuseTossedCookies(ctx: AppContext): RequestHandler {
  const { cookie } = ctx.sessions.engine.options;
  return (req, res, next) => {
    const name = cookie.nameFor(req.secure);
    if (findCookie(req.headers.cookie, name).kind !== 'duplicate') return next();
    const secure = cookie.isSecure(req.secure) ? '; Secure' : '';
    res.append(
      'Set-Cookie',
      shadowingPaths(req.path).map(
        (path) =>
          `${name}=; Path=${path}; Expires=Thu, 01 Jan 1970 00:00:00 GMT${secure}; HttpOnly; SameSite=Lax`,
      ),
    );
    if (isApi(req)) {
      return apiError(res, 400, 'duplicate_session_cookie', 'Two session cookies were sent; clear cookies.');
    }
    renderMessage(req, res, 400, {
      title: 'Two session cookies',
      text: 'Your browser sent this site two session cookies, one of them set for this page only. We removed it if we could; if this page comes back, clear the cookies of this site and sign in again.',
      link: { href: safeReturnTo(req.originalUrl, '/'), label: 'Try again' },
    });
  };
}
