// Over ~250 lines on purpose: the plugin's whole request cycle (load in onRequest, commit in onSend,
// the response hooks) around one per-request context object, read top to bottom.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { SessionEngine } from '../core/engine.js';
import { SessionStoreError } from '../core/errors.js';
import { identityChange } from '../core/lifecycle/identity.js';
import type { SessionState } from '../core/lifecycle/state.js';
import { createCsrfToken } from '../core/policies/csrf.js';
import { requestPath } from '../node-adapter/request-path.js';
import type { Cookie } from '../session-api/cookie.js';
import { takeData } from '../session-api/session.js';
import { type FastifySessionOptions, resolveFastifyOptions } from './options.js';
import { hasRouteHooks, runLast } from './route-hooks.js';
import { type FastifyBinding, FastifySession } from './session.js';

export type { FastifySessionOptions } from './options.js';

const NO_STORE = 'no-store';
// S28: the browser drops what it cached and stored for the site once the user has signed out.
const CLEAR_SITE_DATA = '"cache", "storage"';

/** What a request's context needs from its plugin registration: resolved once, shared by every request. */
interface PluginScope {
  engine: SessionEngine;
  commit(context: RequestContext): Promise<void>;
  warn(message: string): void;
}

/**
 * A request's session context and its binding in one object: the binding's methods live on the
 * prototype, so a request allocates no closures for them.
 */
class RequestContext implements FastifyBinding {
  readonly engine: SessionEngine;
  storeFailure: SessionStoreError | null = null;
  cookie?: Cookie;
  inflight?: Set<Promise<unknown>>;
  /** The session's headers went out (onSend ran, or `save()` wrote them on a hijacked reply). */
  answered = false;
  /** The commit of the first `onSend` (its failure, or null), awaited by a second send of the reply. */
  committed: Promise<{ error: unknown } | null> | undefined = undefined;
  /** The session's headers are on the reply (Set-Cookie is appended, so only once). */
  applied = false;
  /** The status of the first send, put back if an error handler changed it while the commit ran. */
  sentStatus = 0;
  /** The headers of an ended session (cleared cookie, Clear-Site-Data) are on the reply. */
  loggedOutApplied = false;
  /** The route's last onSend hook stored what the application's later hooks changed. */
  lateCommitted = false;
  /** The first send's commit has settled: its failure, or null (undefined while it runs). */
  firstOutcome: { error: unknown } | null | undefined = undefined;
  /** A `set()` after the last chance to store it was reported (once per request). */
  lateWriteReported = false;

  constructor(
    readonly state: SessionState,
    readonly request: FastifyRequest,
    readonly reply: FastifyReply,
    readonly scope: PluginScope,
  ) {
    this.engine = scope.engine;
  }

  /** The guards and the CSRF hook read the engine and state through the binding. */
  get binding(): FastifyBinding {
    return this;
  }

  current(): FastifySession {
    return this.request.session;
  }

  replace(): void {
    this.request.session = new FastifySession(this);
  }

  responseStarted(): boolean {
    return this.answered || this.reply.raw.headersSent;
  }

  writtenLate(): void {
    // Before the route's last onSend hook, a change is still stored (`commitLate`).
    // Read only here (a rare path): `request.routeOptions` builds an object on every access.
    if (!this.answered || this.lateWriteReported) return;
    if (!this.lateCommitted && hasRouteHooks(this.request)) return;
    this.lateWriteReported = true;
    this.scope.warn(
      'coatcheck: request.session.set() after the session was stored for this response; the change is not saved (see "Fastify" in the README)',
    );
  }

  async commit(): Promise<void> {
    await this.scope.commit(this);
    // After reply.hijack() no hook runs again: `save()` puts the headers on the raw response.
    const raw = this.reply.raw;
    if (this.reply.sent && !raw.headersSent) {
      applyHeaders(this.engine, this.state, (name, value) => raw.setHeader(name, value));
      this.answered = true;
    }
  }
}

/** Puts the session's headers on a response through `set` (Set-Cookie, Cache-Control, Clear-Site-Data). */
function applyHeaders(
  engine: SessionEngine,
  state: SessionState,
  set: (name: string, value: string | string[]) => unknown,
): void {
  const cookies = engine.cookieHeaders(state);
  if (cookies.length > 0) set('set-cookie', cookies);
  if (cookies.length > 0 || state.record?.userId) set('cache-control', NO_STORE);
  if (state.loggedOut) set('clear-site-data', CLEAR_SITE_DATA);
}

/**
 * Takes off the reply the cookies of the same names as `replacing` that an earlier write set: a
 * session created and ended within one request (destroy() in a later onSend hook) then sends only
 * the cookie that clears it, not the new one before it.
 */
function dropCookies(reply: FastifyReply, replacing: string | string[]): void {
  const current = reply.getHeader('set-cookie');
  if (current === undefined) return;
  const nameOf = (cookie: string) => cookie.slice(0, cookie.indexOf('='));
  const names = new Set([replacing].flat().map(nameOf));
  const kept = [current]
    .flat()
    .map(String)
    .filter((cookie) => !names.has(nameOf(cookie)));
  reply.removeHeader('set-cookie');
  if (kept.length > 0) reply.header('set-cookie', kept);
}

// A decorated request field, not a WeakMap entry: a plain store per request, nothing for the GC
// to trace as an ephemeron. A symbol, so it never shows among the request's own keys.
const CONTEXT = Symbol('coatcheck.context');
type WithContext = { [CONTEXT]?: RequestContext | null };

/** The engine state behind a request's session: for the guards and the CSRF hook. */
export function contextOf(request: FastifyRequest): RequestContext | undefined {
  return (request as WithContext)[CONTEXT] ?? undefined;
}

/** A settled commit with nothing to report: shared, so a read that writes nothing allocates no promise. */
const NOTHING_FAILED = Promise.resolve(null);

async function coatcheckSession(fastify: FastifyInstance, options: FastifySessionOptions) {
  const { engine, store, warn, onStoreError, saveUninitialized, rolling } = resolveFastifyOptions(options);

  fastify.decorate('sessionEngine', engine);
  fastify.decorateRequest('session', null as never);
  fastify.decorateRequest(CONTEXT as unknown as string, null);
  fastify.decorateRequest('sessionStore', { getter: () => store });
  fastify.decorateRequest('csrfToken', function csrfToken(this: FastifyRequest) {
    const context = contextOf(this);
    if (!context) throw new TypeError('csrfToken() needs a request with a session');
    return createCsrfToken(engine.csrfSecretOf(context.state));
  });

  /** Takes the handler's changes into the state; true when the store must be written. */
  function prepare(request: FastifyRequest, state: SessionState): boolean {
    // A handler that replaced `request.session` with something else leaves the data as it was.
    if (request.session instanceof FastifySession) takeData(request.session, state);
    if (saveUninitialized && !state.record) state.forceSave = true;
    return engine.needsCommit(state);
  }

  /** After the write: a rolling session sends its cookie again. */
  function settleCookie(state: SessionState): void {
    if (rolling && state.record && state.cookie === 'keep') state.cookie = 'set';
  }

  async function commit(context: RequestContext): Promise<void> {
    const { state } = context;
    // A lifecycle call the handler did not await (`request.session.destroy(); reply.redirect()`)
    // ends before anything is collected, so the data it ended is never written back.
    if (context.inflight?.size) await Promise.allSettled([...context.inflight]);
    if (context.storeFailure) throw context.storeFailure;
    if (prepare(context.request, state)) await engine.commit(state);
    settleCookie(state);
  }

  const scope: PluginScope = { engine, commit, warn };

  /** A store failure's answer as a payload; any other error goes to Fastify's error handler. */
  function answerError(error: unknown, request: FastifyRequest, reply: FastifyReply) {
    if (!(error instanceof SessionStoreError) || onStoreError === 'error') throw error;
    return onStoreError(error, request, reply);
  }

  fastify.addHook('onRequest', async (request, reply) => {
    if (contextOf(request)) return undefined;
    const info = {
      // Read raw, whether or not @fastify/cookie parsed it too: one cookie, one reading (S18).
      cookieHeader: request.headers.cookie,
      secure: request.protocol === 'https',
      ip: request.ip,
      userAgent: request.headers['user-agent'],
      requestId: request.id,
      request,
      path: requestPath(request.raw),
    };
    let state: SessionState;
    try {
      state = await engine.load(info);
    } catch (error) {
      const body = answerError(error, request, reply);
      return reply.send(body);
    }
    if (state.throttled) {
      // S44: this address sent too many invalid session cookies; answered before any store call.
      return reply
        .code(429)
        .header('content-type', 'text/plain; charset=utf-8')
        .header('retry-after', '60')
        .send('Too Many Requests');
    }
    const context = new RequestContext(state, request, reply, scope);
    (request as WithContext)[CONTEXT] = context;
    request.session = new FastifySession(context);
    return undefined;
  });

  /** Settles the first send's commit; a read with nothing to write settles at once, without a promise chain. */
  function settle(context: RequestContext): Promise<{ error: unknown } | null> {
    const { state } = context;
    let written: Promise<void>;
    try {
      if (context.inflight?.size || context.storeFailure) written = commit(context);
      else if (prepare(context.request, state))
        written = engine.commit(state).then(() => settleCookie(state));
      else {
        settleCookie(state);
        return NOTHING_FAILED;
      }
    } catch (error) {
      return Promise.resolve({ error });
    }
    return written.then(
      () => null,
      (error: unknown) => ({ error }),
    );
  }

  function finishSend(
    context: RequestContext,
    reply: FastifyReply,
    failure: { error: unknown } | null,
    first: boolean,
    payload: unknown,
  ): unknown {
    if (failure) return first ? answerError(failure.error, context.request, reply) : payload;
    if (!context.applied) {
      context.applied = true;
      context.loggedOutApplied = context.state.loggedOut;
      applyHeaders(engine, context.state, (name, value) => reply.header(name, value));
    }
    return payload;
  }

  // express-session#360: the store is written before the response leaves, so the next request
  // (a redirect's target) reads what this one wrote. A callback hook, not an async one: a read
  // that writes nothing answers synchronously.
  function commitOnSend(
    request: FastifyRequest,
    reply: FastifyReply,
    payload: unknown,
    done: (error: Error | null, payload?: unknown) => void,
  ): void {
    const context = contextOf(request);
    if (!context || (context.answered && context.committed === undefined)) {
      done(null, payload);
      return;
    }
    // A second send while the first one's commit runs (an async hook that called reply.send() or
    // reply.redirect() without returning the reply lets the route handler send too) waits for the
    // same commit: whichever response leaves carries the session's headers, never before the write.
    const first = context.committed === undefined;
    if (first) context.sentStatus = reply.statusCode;
    context.answered = true;
    context.committed ??= settle(context);
    const finish = (failure: { error: unknown } | null) => {
      context.firstOutcome = failure;
      try {
        // Without the wait, a throw after send could not change the status of what went out.
        if (first && !failure) reply.code(context.sentStatus);
        done(null, finishSend(context, reply, failure, first, payload));
      } catch (error) {
        done(error as Error);
      }
    };
    if (context.committed === NOTHING_FAILED) finish(null);
    // The commit never rejects (its failure is its value) and finish reports its own errors to done.
    else void context.committed.then(finish);
  }

  function checkBypass(request: FastifyRequest, _reply: FastifyReply, done: () => void): void {
    const context = contextOf(request);
    if (context && !context.answered && prepare(request, context.state)) {
      warn('coatcheck: a response bypassed onSend; call request.session.save() before writing to reply.raw');
    }
    // The response is out: a route's own onResponse after the instance-level one does not warn again.
    if (context) context.answered = true;
    done();
  }

  /**
   * The route's last onSend hook: what the application's onSend hooks after the plugin changed is
   * stored too, as a plain write of the stored session. A change that would need a new cookie
   * (a first write, a sign-in through `userIdOf`) is reported instead: the commit's cookie is
   * already on the reply. A failed write is answered as the first one's is, never a silent loss.
   */
  function commitLate(
    request: FastifyRequest,
    reply: FastifyReply,
    payload: unknown,
    done: (error: Error | null, payload?: unknown) => void,
  ): void {
    const context = contextOf(request);
    if (!context || context.lateCommitted || context.committed === undefined) {
      done(null, payload);
      return;
    }
    context.lateCommitted = true;
    const { state } = context;
    const late = (failure: { error: unknown } | null) => {
      if (failure || context.storeFailure) return null;
      // A later hook ended the session (`destroy()`): the reply's head is not out yet, so the
      // cookie is cleared here as it is after a destroy in the handler.
      if (state.loggedOut && !context.loggedOutApplied) {
        context.loggedOutApplied = true;
        applyHeaders(engine, state, (name, value) => {
          if (name === 'set-cookie') dropCookies(reply, value);
          reply.header(name, value);
        });
        return null;
      }
      if (state.endedElsewhere) return null;
      if (!(request.session instanceof FastifySession) || !prepare(request, state)) return null;
      const { record } = state;
      if (!record || identityChange(engine.options.userIdOf, record, state.data, state.dataText)) {
        warn(
          'coatcheck: a hook after the session was stored changed it in a way that needs a new cookie; the change is not saved (see "Fastify" in the README)',
        );
        return null;
      }
      return engine.commit(state);
    };
    const store = (failure: { error: unknown } | null) => {
      let written: Promise<void> | null;
      try {
        written = late(failure);
      } catch (error) {
        written = Promise.reject(error);
      }
      if (!written) done(null, payload);
      else
        written.then(
          () => done(null, payload),
          (error: unknown) => {
            // Answered as the first write's failure is (a store failure: 503 by default).
            try {
              done(null, answerError(error, request, reply));
            } catch (unanswered) {
              done(unanswered as Error);
            }
          },
        );
    };
    // Settled by now when this route's first onSend ran: then without a turn, so this send keeps
    // its place before a second one (an error handler's) that waits for the same commit.
    if (context.firstOutcome !== undefined) store(context.firstOutcome);
    else void context.committed.then(store);
  }

  fastify.addHook('onRoute', (route) => runLast(route, { onSend: commitLate, onResponse: checkBypass }));
  // First among the onSend hooks after the plugin, as @fastify/session stores: an application hook
  // that throws on every send cannot keep the session's write or its cookie from the response.
  fastify.addHook('onSend', commitOnSend);
  // The 404 handler and routes added before the plugin have only the instance-level hooks.
  fastify.addHook('onResponse', (request, reply, done) => {
    // A route whose last onSend ran has its own onResponse (`runLast`), which checks.
    if (contextOf(request)?.lateCommitted) done();
    else checkBypass(request, reply, done);
  });
}

/**
 * Server-side sessions for Fastify 5: `request.session` with @fastify/session's API on coatcheck's
 * engine. Loaded in `onRequest`, written in `onSend` before the response leaves.
 *
 * @throws SessionConfigError at registration naming a bad option.
 * @example
 * await app.register(session, { secret: process.env.SESSION_SECRET, store: new SqliteStore({ path: 'sessions.db' }) });
 * app.post('/login', async (request) => { await request.session.login(user.id); return { ok: true }; });
 */
export const session = fp(coatcheckSession, { fastify: '5.x', name: 'coatcheck' });
