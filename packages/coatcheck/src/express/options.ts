import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { CookieOptions, CookiePolicy } from '../core/cookies/cookie-policy.js';
import { SessionConfigError, type SessionStoreError } from '../core/errors.js';
import type { RequestInfo } from '../core/lifecycle/state.js';
import type { SessionEngineOptions } from '../core/options.js';
import type { SessionStore } from '../core/store/store.js';
import { ConnectStore, isConnectStore } from '../stores/connect.js';
import { MemoryStore } from './memory-store.js';

/** express-session's cookie options, plus coatcheck's. */
export interface SessionCookieOptions {
  /**
   * Persistent cookie lifetime in ms; unset for a browser-session cookie (S13). When both `maxAge`
   * and `expires` are given, the one written last in the object wins (express-session).
   */
  maxAge?: number | null | undefined;
  /**
   * A fixed expiry date (express-session): each new session's cookie lifetime is this date minus its
   * creation time, kept with the session. A date already past at start-up is refused.
   */
  expires?: Date | null | undefined;
  /** No cookie is set on requests whose path (before mounting) does not start with it. @default '/' */
  path?: string | undefined;
  /** Leave unset for a host-only cookie; a domain rules out the `__Host-` prefix (S10). */
  domain?: string | undefined;
  /** Keeps the cookie out of `document.cookie` (S11). @default true */
  httpOnly?: boolean | undefined;
  /** `'auto'`: Secure when the request came over HTTPS (`trust proxy` honoured). @default 'auto' */
  secure?: boolean | 'auto' | undefined;
  /**
   * `true` means `'strict'`; `'auto'` and `'none'` send `None` on Secure responses and `Lax` on the
   * others, and are refused with `secure: false`; `false` is refused (S12). @default 'lax'
   */
  sameSite?: 'lax' | 'strict' | 'none' | 'auto' | boolean | undefined;
  /** CHIPS `Partitioned`, sent only with Secure; refused with `secure: false`. @default false */
  partitioned?: boolean | undefined;
  /** `Priority` attribute. */
  priority?: 'low' | 'medium' | 'high' | undefined;
}

/** Cookie options, or express-session 1.19's function of the request returning them. */
export type SessionCookieOption = SessionCookieOptions | ((req: IncomingMessage) => SessionCookieOptions);

/** Options of the Express middleware: express-session's, plus the engine's. */
export interface SessionOptions
  extends Omit<SessionEngineOptions, 'store' | 'cookie' | 'generateHandle' | 'secret'> {
  /** Cookie name. @default '__Host-id' over HTTPS, 'id' over HTTP */
  name?: string;
  /** String or array (first signs, all verify). Required in production. */
  secret?: string | string[];
  /** A coatcheck store, or any express-session store. @default a bounded MemoryStore (with a warning) */
  store?: SessionStore | object;
  /**
   * Cookie options, or a function of the request returning them (express-session 1.19), called on
   * every request; each distinct result is validated once. With a function and no `name`, the name
   * is `id` (a `__Host-` name needs Path=/ and no Domain on every request).
   */
  cookie?: SessionCookieOption;
  /** Write the session on every request. Only renews it: coatcheck never rewrites unchanged data. @default false */
  resave?: boolean;
  /** Store sessions that hold no data. @default false (sessions are created lazily) */
  saveUninitialized?: boolean;
  /** Re-send the cookie on every response. @default false */
  rolling?: boolean;
  /**
   * express-session's `genid`: its result is `req.sessionID` and the store key. Any non-empty string
   * of at most 256 characters once percent-encoded, without control characters; anything else, or a
   * throw, fails the request with SessionStateError.
   */
  genid?: (req: IncomingMessage) => string;
  /** Trust `X-Forwarded-Proto`: true, false, or undefined to follow Express's `trust proxy`. */
  proxy?: boolean;
  /** What to do when the handler deletes `req.session`. @default 'keep' */
  unset?: 'destroy' | 'keep';
  /**
   * How a store failure is answered (S49: never an anonymous session in its place). A function
   * answers it itself; `'next'` passes the SessionStoreError to `next(err)`, as express-session
   * does, so the application's error handler decides.
   * @default a 503 with a generic body and `Retry-After: 5`
   */
  onStoreError?: 'next' | ((error: SessionStoreError, req: IncomingMessage, res: ServerResponse) => void);
}

/**
 * Answers with a plain-text status, using only what every response has (engine.io's WebSocket
 * stand-in included): on a stand-in, `end` refuses the handshake. When the head is already out, or
 * the response refuses the answer (one that cannot be extended), the connection is cut instead, so
 * a half-sent page is never taken for a whole one. Never throws: it runs where a throw would be an
 * unhandled rejection, which ends a Node 20 process.
 */
export function respondError(
  res: ServerResponse,
  status: number,
  body: string,
  extra: Record<string, string> = {},
) {
  const response = res as Partial<ServerResponse> & Pick<ServerResponse, 'setHeader' | 'end'>;
  try {
    if (response.headersSent) {
      cut(response);
      return;
    }
    if (typeof response.getHeaderNames === 'function') {
      for (const name of response.getHeaderNames()) response.removeHeader?.(name);
    } else response.removeHeader?.('Set-Cookie');
    response.statusCode = status;
    response.setHeader('Content-Type', 'text/plain; charset=utf-8');
    response.setHeader('Cache-Control', 'no-store');
    for (const [name, value] of Object.entries(extra)) response.setHeader(name, value);
    response.end(body);
  } catch {
    cut(response);
  }
}

/** Cuts the connection; nothing is left to answer with if even that throws. */
function cut(response: Partial<ServerResponse>): void {
  try {
    if (typeof response.destroy === 'function') response.destroy();
    else (response.socket as { destroy?: () => void } | undefined)?.destroy?.();
  } catch {}
}

/** The default answer to a store failure: 503 with a generic body, or a cut connection mid-response. */
export function respondUnavailable(
  _error: SessionStoreError,
  _req: IncomingMessage,
  res: ServerResponse,
): void {
  respondError(res, 503, 'Service Unavailable', { 'Retry-After': '5' });
}

/** The store to use: the given one, a wrapped express-session store, or a bounded MemoryStore. */
export function resolveStore(store: SessionOptions['store'], warn: (message: string) => void): SessionStore {
  if (store === undefined) {
    warn('coatcheck: no store given; using an in-process MemoryStore (not shared, lost at restart)');
    return new MemoryStore();
  }
  if (isConnectStore(store)) {
    warn(
      'coatcheck: an express-session store was given; it has no per-user index (device lists, logout everywhere) and no atomic updates',
    );
    return new ConnectStore(store);
  }
  return store as SessionStore;
}

/** express-session's cookie options as the engine's, validated; a function's are resolved per request. */
export function cookieOptions(cookie: SessionCookieOption = {}, name: string | undefined): CookieOptions {
  if (typeof cookie === 'function') return { name: name ?? 'id' };
  const options = engineCookie(cookie);
  if (options.expiresAt !== undefined && options.expiresAt <= Date.now()) {
    throw new SessionConfigError('cookie.expires', 'is already past');
  }
  return { ...(name === undefined ? {} : { name }), ...options };
}

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

/** The cookie facts of one request: its path, and its own policy when `cookie` is a function. */
export function requestCookie(
  req: IncomingMessage,
  cookie: SessionCookieOption | undefined,
  configured: CookiePolicy,
): Pick<RequestInfo, 'path' | 'cookie'> {
  const path = requestPath(req);
  if (typeof cookie !== 'function') return { path };
  return { path, cookie: configured.forRequest(engineCookie(cookie(req))) };
}

function engineCookie(cookie: SessionCookieOptions): Omit<CookieOptions, 'name'> {
  if (typeof cookie !== 'object' || cookie === null) {
    throw new SessionConfigError('cookie', 'must be an object, or a function returning one');
  }
  const { path, domain, httpOnly, secure, partitioned, priority } = cookie;
  return {
    ...(path === undefined ? {} : { path }),
    ...(domain === undefined ? {} : { domain }),
    ...(httpOnly === undefined ? {} : { httpOnly }),
    ...(secure === undefined ? {} : { secure }),
    ...sameSiteOf(cookie.sameSite),
    ...(partitioned === undefined ? {} : { partitioned }),
    ...(priority === undefined ? {} : { priority: lower(priority) as 'low' }),
    ...lifetimeOf(cookie),
  };
}

const lower = (value: unknown) => (typeof value === 'string' ? value.toLowerCase() : value);

function sameSiteOf(sameSite: SessionCookieOptions['sameSite']): Pick<CookieOptions, 'sameSite'> {
  if (sameSite === undefined) return {};
  if (sameSite === true) return { sameSite: 'strict' };
  if (sameSite === false) {
    throw new SessionConfigError(
      'cookie.sameSite',
      "must be 'lax', 'strict', 'none' or 'auto' (never absent)",
    );
  }
  return { sameSite: lower(sameSite) as 'lax' };
}

/**
 * express-session's Cookie assigns the options in order, and `maxAge` and `expires` both set the
 * expiry, so the later key wins, even when its value is null or undefined (no expiry).
 */
function lifetimeOf(cookie: SessionCookieOptions): Pick<CookieOptions, 'maxAgeMs' | 'expiresAt'> {
  let lifetime: Pick<CookieOptions, 'maxAgeMs' | 'expiresAt'> = {};
  for (const key of Object.keys(cookie)) {
    if (key === 'maxAge') {
      const { maxAge } = cookie as { maxAge: unknown };
      if (typeof maxAge === 'number') lifetime = { maxAgeMs: maxAge };
      else if (maxAge instanceof Date) lifetime = { expiresAt: maxAge.getTime() };
      else if (!maxAge) lifetime = {};
      else throw new SessionConfigError('cookie.maxAge', 'must be a number of milliseconds');
    } else if (key === 'expires') {
      const { expires } = cookie as { expires: unknown };
      if (expires instanceof Date) lifetime = { expiresAt: expires.getTime() };
      else if (expires === null || expires === undefined) lifetime = {};
      else throw new SessionConfigError('cookie.expires', 'must be a Date');
    }
  }
  return lifetime;
}

/** Whether the request came over HTTPS, honouring `proxy` or Express's `trust proxy`. */
export function isSecure(req: IncomingMessage & { secure?: boolean }, proxy: boolean | undefined): boolean {
  if (proxy === true) {
    const proto = req.headers['x-forwarded-proto'];
    const first = (Array.isArray(proto) ? proto[0] : proto)?.split(',')[0]?.trim().toLowerCase();
    if (first) return first === 'https';
  }
  if (proxy === undefined && typeof req.secure === 'boolean') return req.secure;
  return Boolean((req.socket as TLSSocket).encrypted);
}
