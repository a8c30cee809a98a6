// Over ~250 lines on purpose: `session()` is express-session's one factory, a closure over its resolved
// options that a reader follows from load to commit; the response hold, options and Session live apart.
import { type IncomingMessage, ServerResponse } from 'node:http';
import { createSessionEngine, type SessionEngine } from '../core/engine.js';
import { SessionConfigError, SessionStoreError } from '../core/errors.js';
import type { SessionEventListener } from '../core/events.js';
import { identityChange } from '../core/lifecycle/identity.js';
import type { SessionState } from '../core/lifecycle/state.js';
import { cookieLifetimeOf } from '../core/store/record.js';
import type { SessionStore } from '../core/store/store.js';
import { cookieOptions } from '../session-api/cookie-options.js';
import { belongsTo, collectData, Session, type SessionBinding, takeData } from '../session-api/session.js';
import { SessionStoreApi } from '../session-api/session-store-api.js';
import { resolveStore } from '../session-api/store-option.js';
import { ConnectStore } from '../stores/connect.js';
import { makeDictionary } from './held-response.js';
import { isSecure, requestCookie, respondError, respondUnavailable, type SessionOptions } from './options.js';
import { holdResponse } from './response-hold.js';
import { applySessionHeaders, type MinimalResponse, type SessionHeaders } from './session-headers.js';

export type { SessionCookieOptions, SessionOptions } from './options.js';

type Request = IncomingMessage & {
  session?: Session | null;
  sessionID?: string;
  sessionStore?: SessionStore;
  secure?: boolean;
  ip?: string;
  id?: unknown;
};
type Next = (error?: unknown) => void;

/** The middleware, with the engine and its event subscription attached. */
export interface SessionMiddleware {
  (req: IncomingMessage, res: ServerResponse, next: Next): void;
  /** The session engine behind the middleware: device lists and revocation outside a request. */
  readonly engine: SessionEngine;
  /** The store sessions are kept in. */
  readonly store: SessionStore;
  /** Subscribes to session events (S47); returns the unsubscribe function. */
  on(listener: SessionEventListener): () => void;
}

/**
 * express-session's middleware on coatcheck's engine. Switching is one import:
 *
 * @example
 * import session from 'coatcheck/express';
 * app.use(session({ secret: process.env.SESSION_SECRET, store: new SqliteStore({ path: 'sessions.db' }) }));
 */
export function session(options: SessionOptions = {}): SessionMiddleware {
  const warn = options.warn ?? ((message: string) => console.warn(message));
  const store = resolveStore(options.store, warn);
  const { genid, unset = 'keep', proxy } = options;
  if (unset !== 'keep' && unset !== 'destroy')
    throw new SessionConfigError('unset', "must be 'keep' or 'destroy'");
  if (genid !== undefined && typeof genid !== 'function')
    throw new SessionConfigError('genid', 'must be a function');
  const engine = createSessionEngine({
    ...options,
    warn,
    store,
    cookie: cookieOptions(options.cookie, options.name),
    ...(genid ? { generateHandle: (request: unknown) => genid(request as IncomingMessage) } : {}),
    ...(options.legacy === undefined && store instanceof ConnectStore ? { legacy: store } : {}),
  });
  // express-session's store API on `req.sessionStore`, whatever the store (`get(sid, cb)` and co.).
  const storeApi: SessionStore =
    store instanceof SessionStoreApi || store instanceof ConnectStore
      ? store
      : new SessionStoreApi(store, engine.options.now);
  const onStoreError = options.onStoreError ?? respondUnavailable;
  if (onStoreError !== 'next' && typeof onStoreError !== 'function')
    throw new SessionConfigError('onStoreError', "must be 'next' or a function");
  const saveUninitialized = options.saveUninitialized ?? false;
  const rolling = options.rolling ?? false;
  const resave = options.resave ?? false;

  /**
   * The Session this middleware stores for the request: `req.session` when it is one this
   * middleware handed out (or made by `regenerate`); while a second session middleware's Session
   * is there instead, the one this middleware handed out last, whose changes (through a reference
   * the application kept) are stored as usual; null when the application unset `req.session`.
   */
  function sessionOf(req: Request, bound: SessionBinding): Session | null {
    const current = req.session;
    if (!(current instanceof Session)) return null;
    return belongsTo(current, bound.state) ? current : (bound.session ?? null);
  }

  /**
   * Takes the handler's changes off the request's Session into the state; true when the store
   * must be written (or the session ended because the application deleted `req.session`).
   */
  function prepare(req: Request, bound: SessionBinding): boolean {
    const { state } = bound;
    const current = sessionOf(req, bound);
    if (current) {
      takeData(current, state);
    } else {
      return unset === 'destroy';
    }
    if (saveUninitialized && !state.record) state.forceSave = true;
    if (resave && state.record && !state.pendingMeta) {
      const at = engine.options.now();
      state.pendingMeta = {
        lastSeenAt: at,
        idleExpiresAt: Math.min(at + engine.options.idleTimeoutMs, state.record.absoluteExpiresAt),
      };
      // The store's expiry moved forward: a persistent cookie moves with it, or an active user's
      // browser drops the cookie at its first Max-Age and signs them out.
      const persistent = cookieLifetimeOf(state.record, engine.options.cookie.defaultLifetimeMs) !== null;
      if (persistent && state.cookieValue && state.cookie === 'keep') state.cookie = 'set';
    }
    return engine.needsCommit(state);
  }

  async function write(req: Request, bound: SessionBinding): Promise<void> {
    if (sessionOf(req, bound)) await engine.commit(bound.state);
    else await engine.logout(bound.state);
  }

  async function commit(req: Request, bound: SessionBinding): Promise<void> {
    if (prepare(req, bound)) await write(req, bound);
    finish(bound.state);
  }

  function finish(state: SessionState): void {
    if (rolling && state.record && state.cookie === 'keep') state.cookie = 'set';
  }

  function sessionHeaders(state: SessionState): SessionHeaders {
    const cookies = engine.cookieHeaders(state);
    return {
      cookies,
      noStore: cookies.length > 0 || Boolean(state.record?.userId),
      clearSiteData: state.loggedOut,
    };
  }

  /**
   * Answers a failed commit. A store failure is answered as configured (503 by default); any other
   * error (a concurrent-session limit with `'refuse'`, 409; a bad `genid`) goes to `next(err)`, as
   * express-session hands its save errors on, so its own status decides.
   */
  function answerCommitError(error: unknown, req: Request, res: MinimalResponse, next: Next): void {
    if (!(error instanceof SessionStoreError)) next(error);
    else if (onStoreError === 'next') next(error);
    else onStoreError(error, req, res as ServerResponse);
  }

  /** Holds the response until the session is stored (express-session#360), whatever writes it. */
  function hold(req: Request, res: MinimalResponse, state: SessionState, bound: SessionBinding, next: Next) {
    const commitNow = (): Promise<void> | null => {
      if (bound.storeFailure) return Promise.reject(bound.storeFailure);
      if (!prepare(req, bound)) {
        finish(state);
        return null;
      }
      return write(req, bound).then(() => finish(state));
    };
    holdResponse(res, {
      owner: engine,
      commit: () => {
        // A lifecycle call the handler did not await (`req.session.destroy(); res.redirect()`) ends
        // before anything is collected, so the data it ended is never written back.
        const running = bound.inflight;
        if (!running?.size) return commitNow();
        return Promise.allSettled([...running]).then(() => commitNow() ?? undefined);
      },
      recommit: () => {
        // Data changed after the head went out (between `write` and `end`), as express-session saves
        // it at `end`. Only a plain write of a stored session: no cookie can be sent any more, so
        // nothing that would rotate or create one.
        const { record } = state;
        const current = sessionOf(req, bound);
        if (!record || !current || state.endedElsewhere || bound.storeFailure) return null;
        // One copy of the data, not `prepare`'s: `resave` must not renew a second time per request.
        state.data = collectData(current);
        if (!engine.needsCommit(state)) return null;
        if (identityChange(engine.options.userIdOf, record, state.data, state.dataText)) return null;
        return engine.commit(state);
      },
      headers: () => sessionHeaders(state),
      fail: (error) => answerCommitError(error, req, res, next),
      warn,
    });
  }

  const middleware = (req: Request, res: ServerResponse, next: Next): void => {
    // First: every read below (and Express's getters behind req.ip and req.secure) is a lookup
    // through the request, and req.session goes on it later.
    makeDictionary(req, 'url');
    if (req.session) {
      next();
      return;
    }
    let cookie: ReturnType<typeof requestCookie>;
    try {
      cookie = requestCookie(req, options.cookie, engine.options.cookie);
    } catch (error) {
      // A `cookie` function that throws or returns nonsense is a request error, never a thrown
      // exception in a caller that does not catch (engine.io's middleware chain).
      next(error);
      return;
    }
    const info = {
      cookieHeader: req.headers.cookie,
      secure: isSecure(req, proxy),
      ip: req.ip ?? req.socket?.remoteAddress,
      userAgent: req.headers['user-agent'],
      requestId: typeof req.id === 'string' ? req.id : undefined,
      request: req,
      ...cookie,
    };
    // engine.io's WebSocket upgrade hands a stand-in response that is never written: the session's
    // headers go on it as soon as they are known, and it is ended only to refuse the handshake.
    const standIn = !(res instanceof ServerResponse);
    engine
      .load(info)
      .then(
        (state) => {
          if (state.throttled) {
            // S44: this address sent too many cookies this server did not sign; answered before any
            // store call, and the cookie is cleared so the client's next request is anonymous.
            applySessionHeaders(res, sessionHeaders(state), engine);
            res.statusCode = 429;
            res.setHeader('Content-Type', 'text/plain; charset=utf-8');
            res.setHeader('Retry-After', '60');
            res.end('Too Many Requests');
            return;
          }
          const bind = (target: Session) => {
            binding.session = target;
            req.session = target;
            if (state.record) req.sessionID = state.record.handle;
            else {
              // Anonymous: a handle is only minted if the application asks for it.
              Object.defineProperty(req, 'sessionID', {
                get: () => engine.handleOf(state),
                set: (value: string) =>
                  Object.defineProperty(req, 'sessionID', {
                    value,
                    writable: true,
                    configurable: true,
                    enumerable: true,
                  }),
                configurable: true,
                enumerable: true,
              });
            }
            if (standIn) applySessionHeaders(res, sessionHeaders(state), engine);
          };
          const binding: SessionBinding = {
            engine,
            state,
            storeFailure: null,
            replace: bind,
            // The handler's view while held: true from its first send call on.
            responseStarted: () => res.headersSent === true,
            commit: async () => {
              await commit(req, binding);
              if (standIn) applySessionHeaders(res, sessionHeaders(state), engine);
            },
          };
          bind(new Session(binding));
          req.sessionStore = storeApi;
          hold(req, res, state, binding, next);
          next();
        },
        (error: unknown) => {
          if (error instanceof SessionStoreError && onStoreError !== 'next') onStoreError(error, req, res);
          else next(error);
        },
      )
      .catch((error: unknown) => {
        // Only a throwing `next` (a framework or handler bug) gets here: answered, never a crashed process.
        warn(`coatcheck: the request failed after the session was loaded: ${String(error)}`);
        if (!res.headersSent) respondError(res, 500, 'Internal Server Error');
      });
  };

  return Object.assign(middleware, { engine, store, on: engine.on }) as SessionMiddleware;
}
