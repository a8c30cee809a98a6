import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSessionEngine, type SessionEngine } from '../core/engine.js';
import { SessionConfigError, SessionStoreError } from '../core/errors.js';
import type { SessionEventListener } from '../core/events.js';
import type { SessionState } from '../core/state.js';
import type { SessionStore } from '../core/store.js';
import { ConnectStore } from '../stores/connect.js';
import {
  cookieOptions,
  isSecure,
  requestCookie,
  resolveStore,
  respondUnavailable,
  type SessionOptions,
} from './options.js';
import { collectData, Session, type SessionBinding } from './session.js';

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
  readonly engine: SessionEngine;
  readonly store: SessionStore;
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
  const onStoreError = options.onStoreError ?? respondUnavailable;
  const saveUninitialized = options.saveUninitialized ?? false;
  const rolling = options.rolling ?? false;
  const resave = options.resave ?? false;

  /**
   * Takes the handler's changes off `req.session` into the state; true when the store must be
   * written (or the session ended because the application deleted `req.session`).
   */
  function prepare(req: Request, state: SessionState): boolean {
    const current = req.session;
    if (current instanceof Session) {
      state.data = collectData(current);
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
    }
    return engine.needsCommit(state);
  }

  async function write(req: Request, state: SessionState): Promise<void> {
    if (req.session instanceof Session) await engine.commit(state);
    else await engine.logout(state);
  }

  async function commit(req: Request, state: SessionState): Promise<void> {
    if (prepare(req, state)) await write(req, state);
    finish(state);
  }

  function finish(state: SessionState): void {
    if (rolling && state.record && state.cookie === 'keep') state.cookie = 'set';
  }

  function applyHeaders(res: ServerResponse, state: SessionState): void {
    if (res.headersSent) return;
    const cookies = engine.cookieHeaders(state);
    for (const value of cookies) res.appendHeader('Set-Cookie', value);
    // S16: a cached response that sets a cookie or shows a signed-in page would serve the next user.
    if (cookies.length > 0 || state.record?.userId) res.setHeader('Cache-Control', 'no-store');
    // S28: logout clears what the browser cached; not "cookies", which would hit sibling subdomains.
    if (state.loggedOut) res.setHeader('Clear-Site-Data', '"cache", "storage"');
  }

  /**
   * express-session#360: the store write must finish before any byte of the response leaves. The
   * first write or end waits for the commit; later ones queue behind it in order. When there is
   * nothing to write (most reads), the response goes out at once, without a turn of the event loop.
   */
  function holdResponse(req: Request, res: ServerResponse, state: SessionState, bound: SessionBinding): void {
    const write_ = res.write;
    const end = res.end;
    let committed: Promise<boolean> | null = null;
    const restore = () => {
      res.write = write_;
      res.end = end;
    };
    const fail = (error: unknown) => {
      restore();
      if (error instanceof SessionStoreError) onStoreError(error, req, res);
      else {
        warn(`coatcheck: session commit failed: ${String(error)}`);
        respondUnavailable(new SessionStoreError('commit', { cause: error }), req, res);
      }
      return false;
    };
    /** Runs `proceed` once the session is written; true when it could run at once. */
    const afterCommit = (proceed: () => void): boolean => {
      if (!committed) {
        if (bound.storeFailure) committed = Promise.reject(bound.storeFailure);
        else if (!prepare(req, state)) {
          finish(state);
          applyHeaders(res, state);
          committed = Promise.resolve(true);
          return true;
        } else {
          committed = write(req, state).then(() => {
            finish(state);
            applyHeaders(res, state);
            return true;
          });
        }
        committed = committed.catch(fail);
      }
      void committed.then((ok) => {
        if (ok) proceed();
      });
      return false;
    };
    res.write = function (this: ServerResponse, ...args: Parameters<typeof write_>) {
      if (afterCommit(() => write_.apply(res, args))) {
        restore();
        return write_.apply(res, args);
      }
      return true;
    } as typeof write_;
    res.end = function (this: ServerResponse, ...args: Parameters<typeof end>) {
      const proceed = () => {
        restore();
        end.apply(res, args);
      };
      if (afterCommit(proceed)) proceed();
      return res;
    } as typeof end;
  }

  const middleware = (req: Request, res: ServerResponse, next: Next): void => {
    if (req.session) {
      next();
      return;
    }
    const info = {
      cookieHeader: req.headers.cookie,
      secure: isSecure(req, proxy),
      ip: req.ip ?? req.socket.remoteAddress,
      userAgent: req.headers['user-agent'],
      requestId: typeof req.id === 'string' ? req.id : undefined,
      request: req,
      ...requestCookie(req, options.cookie, engine.options.cookie),
    };
    engine.load(info).then(
      (state) => {
        if (state.throttled) {
          // S44: this address sent too many invalid session cookies; answered before any store call.
          res.statusCode = 429;
          res.setHeader('Content-Type', 'text/plain; charset=utf-8');
          res.setHeader('Retry-After', '60');
          res.end('Too Many Requests');
          return;
        }
        const bind = (target: Session) => {
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
        };
        const binding: SessionBinding = {
          engine,
          state,
          storeFailure: null,
          replace: bind,
          commit: async () => {
            await commit(req, state);
          },
        };
        bind(new Session(binding));
        req.sessionStore = store;
        holdResponse(req, res, state, binding);
        next();
      },
      (error: unknown) => {
        if (error instanceof SessionStoreError) onStoreError(error, req, res);
        else next(error);
      },
    );
  };

  return Object.assign(middleware, { engine, store, on: engine.on }) as SessionMiddleware;
}
