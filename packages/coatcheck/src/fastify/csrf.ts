import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { SessionStateError } from '../core/errors.js';
import { varyWithOrigin } from '../core/policies/csrf-options.js';
import { pathMatcher } from '../core/policies/path-prefix.js';
import { isSafeMethod } from '../core/policies/request-origin.js';
import {
  type CsrfOptions,
  type CsrfRejectReason,
  checkToken,
  header,
  mediaType,
  resolve,
} from '../express/csrf.js';
import { contextOf } from './plugin.js';

export type { CsrfRejectReason } from '../express/csrf.js';

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
  const accept = header(raw, 'accept') ?? '';
  reply.code(status).header('cache-control', 'no-store');
  if (api || mediaType(raw) === 'application/json' || accept.includes('application/json')) {
    return reply
      .header('content-type', 'application/json; charset=utf-8')
      .send(JSON.stringify({ error: 'csrf' }));
  }
  const text = status === 415 ? 'Unsupported Media Type.' : 'Forbidden: the request failed the CSRF check.';
  const html = accept.includes('text/html');
  reply.header('content-type', `text/${html ? 'html' : 'plain'}; charset=utf-8`);
  return reply.send(
    html ? `<!doctype html><title>${status}</title><p>${text} Reload the page and try again.</p>` : text,
  );
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
    const method = request.method.toUpperCase();
    const unsafe = !isSafeMethod(method);
    const authenticated = Boolean(state.record?.userId);
    if (unsafe || authenticated) appendVary(reply);
    // The predicates and the token check read `headers`, `url` and `body`, which a Fastify request has.
    const req = request as unknown as IncomingMessage & { body?: unknown };
    const api = unsafe && config.isApi(req);
    const raw = request.raw;
    const decision = config.decide({
      method,
      secFetchSite: header(raw, 'sec-fetch-site'),
      secFetchMode: header(raw, 'sec-fetch-mode'),
      secFetchDest: header(raw, 'sec-fetch-dest'),
      origin: header(raw, 'origin'),
      referer: header(raw, 'referer'),
      authenticated,
      strict: unsafe && config.isStrict(req),
    });
    const verdict: CsrfRejectReason | null = !decision.allowed
      ? decision.reason
      : unsafe
        ? checkToken(req, state, config, api)
        : null;
    if (verdict === null) return;
    const { record, info } = state;
    engine.emit({
      type: config.reportOnly ? 'csrf.report_only' : 'csrf.reject',
      reason: verdict,
      handle: record?.handle,
      userId: record?.userId ?? null,
      ip: info.ip,
      userAgent: info.userAgent,
      requestId: info.requestId,
    });
    if (config.reportOnly) return;
    return refuse(request, reply, verdict === 'content-type' ? 415 : 403, api);
  };
}

function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/**
 * A hidden form field with a fresh token, for server-rendered forms.
 *
 * @example
 * reply.type('text/html').send(`<form method="post">${csrfField(request)}<button>Save</button></form>`);
 */
export function csrfField(request: FastifyRequest): string {
  const name = fieldNames.get(request) ?? '_csrf';
  return `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(request.csrfToken())}">`;
}

/** A `<meta name="csrf-token">` tag with a fresh token, for scripts that send it in the header. */
export function csrfMeta(request: FastifyRequest): string {
  return `<meta name="csrf-token" content="${escapeHtml(request.csrfToken())}">`;
}
