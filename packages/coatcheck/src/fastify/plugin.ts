import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { SessionStoreError } from '../core/errors.js';
import type { SessionState } from '../core/lifecycle/state.js';
import { createCsrfToken } from '../core/policies/csrf.js';
import { requestPath } from '../express/options.js';
import { collectData } from '../express/session.js';
import { type FastifySessionOptions, resolveFastifyOptions } from './options.js';
import { type FastifyBinding, FastifySession } from './session.js';

export type { FastifySessionOptions } from './options.js';

const NO_STORE = 'no-store';
// S28: the browser drops what it cached and stored for the site once the user has signed out.
const CLEAR_SITE_DATA = '"cache", "storage"';

interface RequestContext {
  state: SessionState;
  binding: FastifyBinding;
  /** The session's headers went out (onSend ran, or `save()` wrote them on a hijacked reply). */
  answered: boolean;
  /** The commit of the first `onSend` (its failure, or null), awaited by a second send of the reply. */
  committed?: Promise<{ error: unknown } | null>;
  /** The session's headers are on the reply (Set-Cookie is appended, so only once). */
  applied?: boolean;
}

const contexts = new WeakMap<FastifyRequest, RequestContext>();

/** The engine state behind a request's session: for the guards and the CSRF hook. */
export function contextOf(request: FastifyRequest): RequestContext | undefined {
  return contexts.get(request);
}

async function coatcheckSession(fastify: FastifyInstance, options: FastifySessionOptions) {
  const { engine, store, warn, onStoreError, saveUninitialized, rolling } = resolveFastifyOptions(options);

  fastify.decorate('sessionEngine', engine);
  fastify.decorateRequest('session', null as never);
  fastify.decorateRequest('sessionStore', { getter: () => store });
  fastify.decorateRequest('csrfToken', function csrfToken(this: FastifyRequest) {
    const context = contexts.get(this);
    if (!context) throw new TypeError('csrfToken() needs a request with a session');
    return createCsrfToken(engine.csrfSecretOf(context.state));
  });

  /** Takes the handler's changes into the state; true when the store must be written. */
  function prepare(request: FastifyRequest, state: SessionState): boolean {
    // A handler that replaced `request.session` with something else leaves the data as it was.
    if (request.session instanceof FastifySession) state.data = collectData(request.session);
    if (saveUninitialized && !state.record) state.forceSave = true;
    return engine.needsCommit(state);
  }

  async function commit(request: FastifyRequest, context: RequestContext): Promise<void> {
    const { state, binding } = context;
    // A lifecycle call the handler did not await (`request.session.destroy(); reply.redirect()`)
    // ends before anything is collected, so the data it ended is never written back.
    if (binding.inflight?.size) await Promise.allSettled([...binding.inflight]);
    if (binding.storeFailure) throw binding.storeFailure;
    if (prepare(request, state)) await engine.commit(state);
    if (rolling && state.record && state.cookie === 'keep') state.cookie = 'set';
  }

  function sessionHeaders(state: SessionState): Record<string, string | string[]> {
    const cookies = engine.cookieHeaders(state);
    const headers: Record<string, string | string[]> = {};
    if (cookies.length > 0) headers['set-cookie'] = cookies;
    if (cookies.length > 0 || state.record?.userId) headers['cache-control'] = NO_STORE;
    if (state.loggedOut) headers['clear-site-data'] = CLEAR_SITE_DATA;
    return headers;
  }

  /** A store failure's answer as a payload; any other error goes to Fastify's error handler. */
  function answerError(error: unknown, request: FastifyRequest, reply: FastifyReply) {
    if (!(error instanceof SessionStoreError) || onStoreError === 'error') throw error;
    return onStoreError(error, request, reply);
  }

  fastify.addHook('onRequest', async (request, reply) => {
    if (contexts.has(request)) return undefined;
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
    const binding: FastifyBinding = {
      engine,
      state,
      storeFailure: null,
      current: () => request.session,
      replace: () => {
        request.session = new FastifySession(binding);
      },
      commit: async () => {
        await commit(request, context);
        // After reply.hijack() no hook runs again: `save()` puts the headers on the raw response.
        if (reply.sent && !reply.raw.headersSent) {
          for (const [name, value] of Object.entries(sessionHeaders(state))) reply.raw.setHeader(name, value);
          context.answered = true;
        }
      },
    };
    const context: RequestContext = { state, binding, answered: false };
    contexts.set(request, context);
    request.session = new FastifySession(binding);
    return undefined;
  });

  // express-session#360: the store is written before the response leaves, so the next request
  // (a redirect's target) reads what this one wrote.
  fastify.addHook('onSend', async (request, reply, payload) => {
    const context = contexts.get(request);
    if (!context || (context.answered && context.committed === undefined)) return payload;
    // A second send while the first one's commit runs (an async hook that called reply.send() or
    // reply.redirect() without returning the reply lets the route handler send too) waits for the
    // same commit: whichever response leaves carries the session's headers, never before the write.
    const first = context.committed === undefined;
    context.answered = true;
    context.committed ??= commit(request, context).then(
      () => null,
      (error: unknown) => ({ error }),
    );
    const failure = await context.committed;
    if (failure) return first ? answerError(failure.error, request, reply) : payload;
    if (!context.applied) {
      context.applied = true;
      for (const [name, value] of Object.entries(sessionHeaders(context.state))) reply.header(name, value);
    }
    return payload;
  });

  fastify.addHook('onResponse', async (request) => {
    const context = contexts.get(request);
    if (context && !context.answered && prepare(request, context.state)) {
      warn('coatcheck: a response bypassed onSend; call request.session.save() before writing to reply.raw');
    }
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
