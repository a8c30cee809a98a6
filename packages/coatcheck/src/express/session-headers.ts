import type { ServerResponse } from 'node:http';

/**
 * The smallest response a middleware may be handed: engine.io's stand-in for a WebSocket upgrade
 * has only these members. Everything else is optional and used only when present.
 */
export interface MinimalResponse {
  statusCode?: number;
  setHeader(name: string, value: number | string | readonly string[]): unknown;
  getHeader(name: string): unknown;
  removeHeader(name: string): unknown;
  writeHead(...args: unknown[]): unknown;
  end(...args: unknown[]): unknown;
}

/** The headers the session layer adds to a response, decided once the session is committed. */
export interface SessionHeaders {
  cookies: readonly string[];
  /** S16: a response that sets a cookie or shows a signed-in page must not be cached. */
  noStore: boolean;
  /** S28: a logout clears what the browser cached. */
  clearSiteData: boolean;
}

const NO_STORE = 'no-store';
const CLEAR_SITE_DATA = '"cache", "storage"';

/** Adds `value` to a header the response may already carry, with only the minimal surface. */
export function appendHeader(res: MinimalResponse, name: string, value: string): void {
  const append = (res as Partial<ServerResponse>).appendHeader;
  if (typeof append === 'function') {
    append.call(res, name, value);
    return;
  }
  const existing = res.getHeader(name);
  if (existing === undefined || existing === null) res.setHeader(name, value);
  else res.setHeader(name, [...(Array.isArray(existing) ? existing : [String(existing)]), value]);
}

/**
 * The session cookies each session middleware (`owner`) last put on each response, so its second
 * application replaces its own and leaves another middleware's (a second session, its own cookie).
 */
const applied = new WeakMap<object, WeakMap<object, readonly string[]>>();

function setSessionHeaders(res: MinimalResponse, headers: SessionHeaders, owner: object): void {
  let mine = applied.get(owner);
  const previous = mine?.get(res);
  if (previous?.length) {
    const current = res.getHeader('Set-Cookie');
    const list =
      current === undefined || current === null ? [] : Array.isArray(current) ? current : [current];
    const kept = list.map(String).filter((value) => !previous.includes(value));
    if (kept.length > 0) res.setHeader('Set-Cookie', kept);
    else res.removeHeader('Set-Cookie');
  }
  // Most responses carry no session cookie: nothing to remember for them.
  if (previous !== undefined || headers.cookies.length > 0) {
    if (!mine) {
      mine = new WeakMap();
      applied.set(owner, mine);
    }
    mine.set(res, headers.cookies);
  }
  for (const value of headers.cookies) appendHeader(res, 'Set-Cookie', value);
  if (headers.noStore) res.setHeader('Cache-Control', NO_STORE);
  if (headers.clearSiteData) res.setHeader('Clear-Site-Data', CLEAR_SITE_DATA);
}

/**
 * Puts the session's headers on a response whose head is not written yet; false when the response
 * can no longer take headers. Applied again (a WebSocket upgrade's stand-in response after
 * `save()`), it replaces the session cookies the same `owner` (the session middleware) set before,
 * and keeps the application's own and another session middleware's. Never throws: engine.io's
 * stand-in drops its header store once the 101 has gone out, and a `save()` in a socket handler
 * after that has no cookie to send, which is no error.
 */
export function applySessionHeaders(res: MinimalResponse, headers: SessionHeaders, owner: object): boolean {
  try {
    setSessionHeaders(res, headers, owner);
    return true;
  } catch {
    return false;
  }
}

/** A `Set-Cookie` value given to `writeHead`, one cookie or a list, appended cookie by cookie. */
function appendCookies(res: MinimalResponse, value: unknown): void {
  for (const one of Array.isArray(value) ? value : [value]) appendHeader(res, 'Set-Cookie', String(one));
}

/**
 * The header argument of a deferred `writeHead`, adjusted so the session's headers survive it:
 * Node lets `writeHead`'s headers replace those set before, so a `Set-Cookie` given there is moved
 * onto the response beside the session's, and `Cache-Control` / `Clear-Site-Data` the session must
 * send are not overridden.
 */
export function mergeHead(res: MinimalResponse, headers: SessionHeaders, given: unknown): unknown {
  const owned = (name: string) =>
    (name === 'cache-control' && headers.noStore) || (name === 'clear-site-data' && headers.clearSiteData);
  if (Array.isArray(given)) {
    const kept: unknown[] = [];
    const pairs: Array<[unknown, unknown]> = Array.isArray(given[0])
      ? (given as Array<[unknown, unknown]>)
      : Array.from({ length: Math.floor(given.length / 2) }, (_, i) => [given[2 * i], given[2 * i + 1]]);
    for (const [key, value] of pairs) {
      const name = String(key).toLowerCase();
      if (name === 'set-cookie') appendCookies(res, value);
      else if (!owned(name)) kept.push(key, value);
    }
    return kept;
  }
  if (!given || typeof given !== 'object') return given;
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(given)) {
    const name = key.toLowerCase();
    if (name === 'set-cookie') appendCookies(res, value);
    else if (!owned(name)) kept[key] = value;
  }
  return kept;
}
