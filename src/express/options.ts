import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { SessionConfigError, type SessionStoreError } from '../core/errors.js';
import type { SessionEngineOptions } from '../core/options.js';
import type { SessionStore } from '../core/store.js';
import { ConnectStore, isConnectStore } from '../stores/connect.js';
import { MemoryStore } from '../stores/memory.js';

/** express-session's cookie options, plus coatcheck's. */
export interface SessionCookieOptions {
  /** Persistent cookie lifetime in ms; unset for a browser-session cookie (S13). */
  maxAge?: number;
  /** express-session compatibility: converted to `maxAge` at start-up. */
  expires?: Date;
  path?: string;
  domain?: string;
  httpOnly?: boolean;
  /** `'auto'`: Secure when the request came over HTTPS (`trust proxy` honoured). @default 'auto' */
  secure?: boolean | 'auto';
  /** `true` means `'strict'`; `'none'` and `false` are refused (S12). @default 'lax' */
  sameSite?: 'lax' | 'strict' | boolean;
}

/** Options of the Express middleware: express-session's, plus the engine's. */
export interface SessionOptions
  extends Omit<SessionEngineOptions, 'store' | 'cookie' | 'generateHandle' | 'secret'> {
  /** Cookie name. @default '__Host-id' over HTTPS, 'id' over HTTP */
  name?: string;
  /** String or array (first signs, all verify). Required in production. */
  secret?: string | string[];
  /** A coatcheck store, or any express-session store. @default a bounded MemoryStore (with a warning) */
  store?: SessionStore | object;
  cookie?: SessionCookieOptions;
  /** Write the session on every request. Only renews it: coatcheck never rewrites unchanged data. @default false */
  resave?: boolean;
  /** Store sessions that hold no data. @default false (sessions are created lazily) */
  saveUninitialized?: boolean;
  /** Re-send the cookie on every response. @default false */
  rolling?: boolean;
  /** Makes session handles; must return 16–128 base64url characters. */
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
 * stand-in included): on a stand-in, `end` refuses the handshake. When the head is already out, the
 * connection is cut instead, so a half-sent page is never taken for a whole one.
 */
export function respondError(
  res: ServerResponse,
  status: number,
  body: string,
  extra: Record<string, string> = {},
) {
  const response = res as Partial<ServerResponse> & Pick<ServerResponse, 'setHeader' | 'end'>;
  if (response.headersSent) {
    if (typeof response.destroy === 'function') response.destroy();
    else (response.socket as { destroy?: () => void } | undefined)?.destroy?.();
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

/** express-session's cookie options as the engine's, validated. */
export function cookieOptions(cookie: SessionCookieOptions = {}, name: string | undefined) {
  const { sameSite } = cookie;
  if (sameSite === false || (sameSite as unknown) === 'none') {
    throw new SessionConfigError('cookie.sameSite', "must be 'lax' or 'strict' (never 'none')");
  }
  const maxAgeMs = cookie.maxAge ?? (cookie.expires ? cookie.expires.getTime() - Date.now() : undefined);
  return {
    ...(name === undefined ? {} : { name }),
    ...(cookie.path === undefined ? {} : { path: cookie.path }),
    ...(cookie.domain === undefined ? {} : { domain: cookie.domain }),
    ...(cookie.httpOnly === undefined ? {} : { httpOnly: cookie.httpOnly }),
    ...(cookie.secure === undefined ? {} : { secure: cookie.secure }),
    sameSite: sameSite === true || sameSite === 'strict' ? ('strict' as const) : ('lax' as const),
    ...(maxAgeMs === undefined || maxAgeMs === null ? {} : { maxAgeMs }),
  };
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
