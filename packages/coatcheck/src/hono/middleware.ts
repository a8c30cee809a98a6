import type { Context, MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import { createSessionEngine, type SessionEngine } from '../core/engine.js';
import { SessionConfigError, SessionStateError, SessionStoreError } from '../core/errors.js';
import type { SessionEventListener } from '../core/events.js';
import type { RequestInfo, SessionState } from '../core/lifecycle/state.js';
import type { SessionEngineOptions } from '../core/options.js';
import type { SessionStore } from '../core/store/store.js';
import { HonoSession, type SessionBinding } from './session.js';

/** The Hono environment the middleware provides: `c.get('session')`. */
export interface Env<Data extends Record<string, unknown> = Record<string, unknown>> {
  /** Hono's per-request variables. */
  Variables: {
    /** This request's session. */
    session: HonoSession<Data>;
  };
}

/** Options of the Hono middleware: the engine's, plus how the request is read and failures answered. */
export interface HonoSessionOptions extends SessionEngineOptions {
  /** Cookie name (shorthand for `cookie.name`). @default '__Host-id' over HTTPS, 'id' over HTTP */
  name?: string;
  /** Trust `X-Forwarded-Proto` for whether the request came over HTTPS. @default false */
  proxy?: boolean;
  /**
   * The client's address, for device lists and binding. @default the socket's address under
   * `@hono/node-server`, none elsewhere
   */
  ipOf?: (c: Context) => string | undefined;
  /**
   * Answers a store failure (S49: never an anonymous session in its place).
   * @default a 503 with a generic body and `Retry-After: 5`
   */
  onStoreError?: (error: SessionStoreError, c: Context) => Response | Promise<Response>;
}

/** The middleware, with the engine and its event subscription attached. */
export type HonoSessionMiddleware<Data extends Record<string, unknown> = Record<string, unknown>> =
  MiddlewareHandler<Env<Data>> & {
    /** The session engine behind the middleware: device lists and revocation outside a request. */
    readonly engine: SessionEngine;
    /** The store sessions are kept in. */
    readonly store: SessionStore;
    /** Subscribes to session events (S47); returns the unsubscribe function. */
    on(listener: SessionEventListener): () => void;
  };

const NO_STORE = 'no-store';
const CLEAR_SITE_DATA = '"cache", "storage"';

function unavailable(): Response {
  return new Response('Service Unavailable', {
    status: 503,
    headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': '5', 'Cache-Control': NO_STORE },
  });
}

/** The client address `@hono/node-server` hands as `c.env.incoming`. */
export function nodeAddress(c: Context): string | undefined {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress;
}

/** Whether the request came over HTTPS; with `proxy`, as `X-Forwarded-Proto` says. */
export function isSecure(c: Context, proxy: boolean): boolean {
  if (proxy) {
    const first = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
    if (first) return first === 'https';
  }
  // A Request's URL is normalised (its scheme lower-cased), so the prefix says it without parsing.
  return c.req.url.startsWith('https:');
}

/**
 * Server-side sessions for Hono 4: the session is loaded before the handler, written after it and
 * before the response leaves, with the cookie and cache headers the engine decides.
 *
 * @throws SessionConfigError naming the option when an option is invalid.
 * @example
 * const app = new Hono<Env>();
 * app.use(session({ secret: process.env.SESSION_SECRET, store: new SqliteStore({ path: 'sessions.db' }) }));
 * app.post('/login', async (c) => {
 *   await c.get('session').login('alice');
 *   return c.json({ ok: true });
 * });
 */
export function session<Data extends Record<string, unknown> = Record<string, unknown>>(
  options: HonoSessionOptions,
): HonoSessionMiddleware<Data> {
  const { name, proxy = false, ipOf = nodeAddress, onStoreError = unavailable, ...engineOptions } = options;
  if (typeof onStoreError !== 'function') throw new SessionConfigError('onStoreError', 'must be a function');
  if (typeof ipOf !== 'function') throw new SessionConfigError('ipOf', 'must be a function');
  const engine = createSessionEngine({
    ...engineOptions,
    cookie: { ...engineOptions.cookie, ...(name === undefined ? {} : { name }) },
  });

  const answer = async (c: Context, error: SessionStoreError) => {
    // None of the handler's cookies may ride on the failure (c.json and friends copy c.res headers).
    const handlerCookies = new Set(c.res.headers.getSetCookie());
    const failed = await onStoreError(error, c);
    const headers = new Headers(failed.headers);
    headers.delete('set-cookie');
    for (const line of failed.headers.getSetCookie())
      if (!handlerCookies.has(line)) headers.append('set-cookie', line);
    // Assigned twice so Hono does not merge the handler's response headers back in.
    c.res = undefined as unknown as Response;
    c.res = new Response(failed.body, { status: failed.status, statusText: failed.statusText, headers });
  };

  /**
   * The engine's decisions as headers: express-session's cookie, plus no-store and Clear-Site-Data
   * (S28). Each `c.header` on a finished response copies it (under @hono/node-server, into a full
   * web Response with a body stream, about 40 µs), so a header the response already carries is not
   * set again.
   */
  const applyHeaders = (c: Context, state: SessionState) => {
    const cookies = engine.cookieHeaders(state);
    for (const value of cookies) c.header('Set-Cookie', value, { append: true });
    const noStore = cookies.length > 0 || Boolean(state.record?.userId);
    if (noStore && c.res.headers.get('Cache-Control') !== NO_STORE) c.header('Cache-Control', NO_STORE);
    if (state.loggedOut) c.header('Clear-Site-Data', CLEAR_SITE_DATA);
  };

  const middleware = createMiddleware<Env<Data>>(async (c, next) => {
    if (c.get('session')) return next();
    const info: RequestInfo = {
      cookieHeader: c.req.header('cookie'),
      secure: isSecure(c, proxy),
      ip: ipOf(c),
      userAgent: c.req.header('user-agent'),
      request: c,
      path: c.req.path,
    };
    let state: SessionState;
    try {
      state = await engine.load(info);
    } catch (error) {
      if (error instanceof SessionStoreError) return onStoreError(error, c);
      throw error;
    }
    if (state.throttled) {
      // S44: this address sent too many invalid session cookies; answered before any store call,
      // and the bad cookie is cleared so the next request reaches the sign-in page.
      const response = c.text('Too Many Requests', 429, { 'Retry-After': '60', 'Cache-Control': NO_STORE });
      for (const value of engine.cookieHeaders(state)) response.headers.append('Set-Cookie', value);
      return response;
    }
    const bound: SessionBinding = { engine, state, storeFailure: null, inflight: new Set() };
    c.set('session', new HonoSession<Data>(bound));
    // Known before the handler: responses made through `c` carry it from the start (applyHeaders).
    if (state.record?.userId) c.header('Cache-Control', NO_STORE);
    await next();
    if (bound.inflight.size > 0) await Promise.allSettled([...bound.inflight]);
    answerSessionError(c);
    const failure = bound.storeFailure ?? (c.error instanceof SessionStoreError ? c.error : null);
    if (failure) return answer(c, failure);
    try {
      if (engine.needsCommit(state)) await engine.commit(state);
    } catch (error) {
      if (error instanceof SessionStoreError) return answer(c, error);
      // A refused session limit (409) or a bad generateHandle: the application's onError decides.
      throw error;
    }
    applyHeaders(c, state);
    return undefined;
  });

  return Object.assign(middleware, { engine, store: engine.options.store, on: engine.on });
}

/**
 * A session error that carries an HTTP status (a rotation that lost a race to another tab, 409; a
 * lifecycle call on a session that is not signed in, 401) is answered with that status when Hono's
 * default handler made it a 500; an application `onError` that answered otherwise is left alone.
 */
function answerSessionError(c: Context): void {
  const error = c.error as { status?: unknown; expose?: unknown } | undefined;
  if (!(error instanceof SessionStateError) || c.res.status !== 500) return;
  const status =
    typeof error.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 0;
  if (!status) return;
  c.res = new Response(status === 409 ? 'Conflict' : 'Unauthorized', {
    status,
    headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': NO_STORE },
  });
}
