/**
 * Path policies (which routes are strict, which are the API) must match at least every request the
 * router sends to those routes. Express and many proxies match case-insensitively, ignore a
 * trailing slash, and some collapse duplicate slashes, decode %-escapes or resolve `..` before
 * routing. A policy compared byte-for-byte with `startsWith` misses `POST /ACCOUNT/PASSWORD`, which
 * Express still routes to `/account/password`. So both sides are brought to one form, and a policy
 * that is broader than the router costs nothing (a strict check on a route that does not exist).
 */

function decodeEscapes(path: string): string {
  // Decoded escape by escape: one malformed escape must not leave the rest encoded.
  return path.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

function normalise(path: string, resolveDots: boolean): string {
  const segments: string[] = [];
  for (const segment of path.replaceAll('\\', '/').split('/')) {
    if (segment === '' || (resolveDots && segment === '.')) continue;
    if (resolveDots && segment === '..') segments.pop();
    else segments.push(segment.toLowerCase());
  }
  return `/${segments.join('/')}`;
}

/**
 * The forms of a request URL's path (`/a/b?x` or an absolute URL) that some router or proxy on the
 * way may match: as sent, %-decoded, and %-decoded with `.`/`..` resolved; each with query and
 * fragment dropped, backslashes read as slashes, duplicate and trailing slashes dropped, lower-cased.
 * All are checked: resolving `..` alone would be narrower than Express, which routes
 * `/admin/users/..%2F..%2Fx/revoke` to `/admin/users/:id/revoke`.
 */
export function routingPaths(url: string): string[] {
  let path = url.split(/[?#]/, 1)[0] ?? '';
  path = path.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '');
  const decoded = decodeEscapes(path);
  return [normalise(path, false), normalise(decoded, false), normalise(decoded, true)];
}

/**
 * A test of whether a request URL lies under one of `prefixes`, on segment boundaries, in any form
 * of `routingPaths`: `/admin` covers `/ADMIN`, `/admin/`, `//admin/users` and `/%61dmin`, but not
 * `/administrator`. A prefix written with a trailing slash (`/account/`) means the same as without.
 *
 * @example
 * const isSensitive = pathMatcher(['/admin', '/account']);
 * isSensitive('/Account/Password?x=1'); // true
 */
export function pathMatcher(prefixes: readonly string[]): (url: string) => boolean {
  const roots = prefixes.map((prefix) => normalise(prefix, true));
  return (url) =>
    routingPaths(url).some((path) =>
      roots.some((root) => root === '/' || path === root || path.startsWith(`${root}/`)),
    );
}
