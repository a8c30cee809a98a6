import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { CookiePolicy } from '../core/cookies/cookie-policy.js';
import type { SessionStoreError } from '../core/errors.js';
import type { RequestInfo } from '../core/lifecycle/state.js';
import type { SessionEngineOptions } from '../core/options.js';
import type { SessionStore } from '../core/store/store.js';
import { requestPath } from '../node-adapter/request-path.js';
import { engineCookie, type SessionCookieOption } from '../session-api/cookie-options.js';

export type { SessionCookieOption, SessionCookieOptions } from '../session-api/cookie-options.js';

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
