import type { FastifyReply, FastifyRequest } from 'fastify';
import { createSessionEngine, type SessionEngine } from '../core/engine.js';
import { SessionConfigError, type SessionStoreError } from '../core/errors.js';
import type { UserIdOf } from '../core/lifecycle/identity.js';
import { passportUserId } from '../core/lifecycle/identity.js';
import type { SessionEngineOptions } from '../core/options.js';
import type { SessionStore } from '../core/store/store.js';
import { cookieOptions, type SessionCookieOptions } from '../session-api/cookie-options.js';
import { resolveStore } from '../session-api/store-option.js';

/** Options of the Fastify plugin: the engine's, with express-session's names where they differ. */
export interface FastifySessionOptions
  extends Omit<SessionEngineOptions, 'store' | 'cookie' | 'generateHandle' | 'secret'> {
  /** Cookie name (`cookieName` in @fastify/session). @default '__Host-id' over HTTPS, 'id' over HTTP */
  name?: string;
  /** String or array (first signs, all verify). Required in production. */
  secret?: string | string[] | undefined;
  /** A coatcheck store. @default a bounded MemoryStore (with a warning) */
  store?: SessionStore;
  /** Cookie attributes, as express-session's `cookie` option (`maxAge` in ms). */
  cookie?: SessionCookieOptions;
  /** Store sessions that hold no data. @default false (sessions are created lazily) */
  saveUninitialized?: boolean;
  /** Re-send the cookie on every response. @default false */
  rolling?: boolean;
  /** express-session's `genid`: makes the handle, `request.session.sessionId`. */
  genid?: (request: FastifyRequest) => string;
  /**
   * How a store failure is answered (S49: never an anonymous session in its place). `'error'`
   * hands the SessionStoreError to Fastify's error handler. A function sets the status and headers
   * on `reply` and returns the body.
   * @default a 503 with a generic body and `Retry-After: 5`
   */
  onStoreError?:
    | 'error'
    | ((error: SessionStoreError, request: FastifyRequest, reply: FastifyReply) => string | Buffer | null);
}

/**
 * Who a session belongs to when the application signs in through its data: @fastify/passport
 * writes the serialized user at `session.passport` (Passport itself at `session.passport.user`).
 */
export const fastifyPassportUserId: UserIdOf = (data) => {
  const value = data.passport;
  if (typeof value === 'string') return value.length > 0 ? value : null;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return passportUserId(data);
};

/** The default answer to a store failure: 503, a generic body, every other header dropped. */
export function answerUnavailable(_error: SessionStoreError, _request: FastifyRequest, reply: FastifyReply) {
  for (const name of Object.keys(reply.getHeaders())) reply.removeHeader(name);
  reply.code(503);
  reply.header('content-type', 'text/plain; charset=utf-8');
  reply.header('cache-control', 'no-store');
  reply.header('retry-after', '5');
  return 'Service Unavailable';
}

/** The engine and the adapter's own settings, validated once at registration. */
export function resolveFastifyOptions(options: FastifySessionOptions) {
  if (options === null || typeof options !== 'object') {
    throw new SessionConfigError('options', 'must be an object');
  }
  const warn = options.warn ?? ((message: string) => console.warn(message));
  const store = resolveStore(options.store, warn);
  const { genid, saveUninitialized = false, rolling = false } = options;
  if (genid !== undefined && typeof genid !== 'function') {
    throw new SessionConfigError('genid', 'must be a function');
  }
  const onStoreError = options.onStoreError ?? answerUnavailable;
  if (onStoreError !== 'error' && typeof onStoreError !== 'function') {
    throw new SessionConfigError('onStoreError', "must be 'error' or a function");
  }
  const {
    name: _name,
    cookie: _cookie,
    store: _store,
    genid: _genid,
    onStoreError: _onStoreError,
    saveUninitialized: _saveUninitialized,
    rolling: _rolling,
    secret,
    ...engineOptions
  } = options;
  const engine: SessionEngine = createSessionEngine({
    // @fastify/session's cookie is not express-session's: there is nothing to carry over.
    legacyCookieName: false,
    userIdOf: fastifyPassportUserId,
    ...engineOptions,
    ...(secret === undefined ? {} : { secret }),
    warn,
    store,
    cookie: cookieOptions(options.cookie, options.name),
    ...(genid ? { generateHandle: (request: unknown) => genid(request as FastifyRequest) } : {}),
  });
  return { engine, store, warn, onStoreError, saveUninitialized, rolling };
}
