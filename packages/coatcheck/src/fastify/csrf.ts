import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { SessionStateError } from '../core/errors.js';
import {
  csrfFieldHtml,
  csrfGate,
  csrfMetaHtml,
  csrfRefusal,
  reportCsrf,
} from '../core/policies/csrf-flow.js';
import { varyWithOrigin } from '../core/policies/csrf-options.js';
import { pathMatcher } from '../core/policies/path-prefix.js';
import { type CsrfOptions, checkToken, header, mediaType, resolve } from '../node-adapter/csrf-check.js';
import { contextOf } from './plugin.js';

export type { CsrfRejectReason } from '../node-adapter/csrf-check.js';

/** Options of the CSRF hook: the Express middleware's, with Fastify requests in the predicates. */
export interface FastifyCsrfOptions extends Omit<CsrfOptions, 'isStrict' | 'isApi'> {
  /** Admin and step-up routes: an unsafe request stating no origin is refused (S59). @default none */
  isStrict?: (request: FastifyRequest) => boolean;
  /** JSON API routes: need `Content-Type: application/json` and the header token (S58). @default path under `/api/` */
  isApi?: (request: FastifyRequest) => boolean;
}

const fieldNames = new WeakMap<FastifyRequest, string>();

const isUnderApi = pathMatcher(['/api']);
const defaultIsApi = (request: FastifyRequest) => isUnderApi(request.url);

function appendVary(reply: FastifyReply): void {
  const vary = varyWithOrigin(reply.getHeader('vary'));
  if (vary) reply.header('vary', vary);
}

function refuse(request: FastifyRequest, reply: FastifyReply, status: 403 | 415, api: boolean) {
  const raw = request.raw;
  const { contentType, body } = csrfRefusal(status, api, mediaType(raw), header(raw, 'accept') ?? '');
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .header('content-type', contentType)
    .send(body);
}

/**
 * CSRF defence in layers, as the Express `csrf()` (OWASP CSRF cheat sheet): a Fetch-Metadata/Origin
 * policy on every request, then, on unsafe methods, a synchronizer token bound to the session, read
 * from the header or (forms only, when there is no header) the body field. Add it as a
 * `preValidation` or `preHandler` hook, so the body is parsed; `request.csrfToken()` issues tokens.
 *
 * @throws SessionConfigError naming the option when `origins` or another option is invalid.
 * @example
 * app.addHook('preValidation', csrfProtection({ origins: ['https://app.test'] }));
 */
export function csrfProtection(options: FastifyCsrfOptions): preHandlerAsyncHookHandler {
  const { isStrict, isApi, ...rest } = options ?? {};
  const config = resolve({
    ...rest,
    ...(isStrict ? { isStrict: (req: IncomingMessage) => isStrict(req as unknown as FastifyRequest) } : {}),
    isApi: (req: IncomingMessage) => (isApi ?? defaultIsApi)(req as unknown as FastifyRequest),
  } as CsrfOptions);

  return async (request, reply) => {
    const context = contextOf(request);
    if (!context) throw new SessionStateError('csrfProtection() needs the session plugin registered first');
    const { engine, state } = context.binding;
    fieldNames.set(request, config.fieldName);
    // The predicates and the token check read `headers`, `url` and `body`, which a Fastify request has.
    const req = request as unknown as IncomingMessage & { body?: unknown };
    const raw = request.raw;
    const gate = csrfGate(config, req, request.method.toUpperCase(), (name) => header(raw, name), state);
    if (gate.vary) appendVary(reply);
    const verdict = gate.refused ?? (gate.unsafe ? checkToken(req, state, config, gate.api) : null);
    if (verdict === null) return;
    reportCsrf(engine, state, verdict, config.reportOnly);
    if (config.reportOnly) return;
    return refuse(request, reply, verdict === 'content-type' ? 415 : 403, gate.api);
  };
}

/**
 * A hidden form field with a fresh token, for server-rendered forms.
 *
 * @example
 * reply.type('text/html').send(`<form method="post">${csrfField(request)}<button>Save</button></form>`);
 */
export function csrfField(request: FastifyRequest): string {
  const name = fieldNames.get(request) ?? '_csrf';
  return csrfFieldHtml(name, request.csrfToken());
}

/** A `<meta name="csrf-token">` tag with a fresh token, for scripts that send it in the header. */
export function csrfMeta(request: FastifyRequest): string {
  return csrfMetaHtml(request.csrfToken());
}
