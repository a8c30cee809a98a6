import type { IncomingMessage } from 'node:http';
import type { SessionState } from '../core/lifecycle/state.js';
import { csrfTokenSource, csrfTokenVerdict, formField, mediaTypeOf } from '../core/policies/csrf-flow.js';
import {
  type CsrfOptions as CoreCsrfOptions,
  type CsrfRejectReason,
  resolveCsrfOptions,
} from '../core/policies/csrf-options.js';
import { pathMatcher } from '../core/policies/path-prefix.js';

type Request = IncomingMessage & { body?: unknown; originalUrl?: string };

/** Options of the CSRF middleware (`CsrfOptions` of `coatcheck`, over Node's request). */
export type CsrfOptions = CoreCsrfOptions<IncomingMessage>;
export type { CsrfRejectReason };

/** A request header as one string (repeated ones joined, as Node joins most). */
export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The request body's media type, lower-case, without parameters. */
export function mediaType(req: IncomingMessage): string {
  return mediaTypeOf(header(req, 'content-type'));
}

const urlOf = (req: IncomingMessage) => (req as Request).originalUrl ?? req.url ?? '/';

// Express matches routes case-insensitively by default, so '/API/x' reaches '/api/x' handlers.
const isUnderApi = pathMatcher(['/api']);
const defaultIsApi = (req: IncomingMessage) => isUnderApi(urlOf(req));

/** Validates the CSRF options once (the Express middleware and the Fastify hook). */
export function resolve(options: CsrfOptions) {
  return resolveCsrfOptions(options, defaultIsApi, urlOf);
}

export type Config = ReturnType<typeof resolve>;

/** The token check of an unsafe request that passed the origin policy; null when it passes. */
export function checkToken(
  req: Request,
  state: SessionState,
  config: Config,
  api: boolean,
): CsrfRejectReason | null {
  const fromHeader = header(req, config.headerName);
  const source = csrfTokenSource(api, mediaType(req), fromHeader !== undefined);
  if (source === 'content-type') return 'content-type';
  const token =
    source === 'header' ? fromHeader : source === 'form' ? formField(req.body, config.fieldName) : undefined;
  return csrfTokenVerdict(state, token);
}
