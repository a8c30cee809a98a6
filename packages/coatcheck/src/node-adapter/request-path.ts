import type { IncomingMessage } from 'node:http';

/**
 * The request's path as express-session judges `cookie.path`: of `req.originalUrl` (the URL before
 * a mount point stripped it), else `req.url`, without query or fragment.
 */
export function requestPath(req: IncomingMessage & { originalUrl?: string }): string {
  const url = req.originalUrl ?? req.url ?? '/';
  if (url.startsWith('/')) {
    const end = url.search(/[?#]/);
    return end === -1 ? url : url.slice(0, end);
  }
  try {
    return new URL(url).pathname; // absolute-form request target
  } catch {
    return url;
  }
}
