import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SessionEngine } from '../core/engine.js';
import { SessionStateError } from '../core/errors.js';
import type { SessionState } from '../core/lifecycle/state.js';
import { createCsrfToken } from '../core/policies/csrf.js';
import {
  csrfFieldHtml,
  csrfGate,
  csrfMetaHtml,
  csrfRefusal,
  reportCsrf,
} from '../core/policies/csrf-flow.js';
import { varyWithOrigin } from '../core/policies/csrf-options.js';
import { type CsrfOptions, checkToken, header, mediaType, resolve } from '../node-adapter/csrf-check.js';
import { bindingOf, type Session } from '../session-api/session.js';

export type { CsrfOptions, CsrfRejectReason } from '../node-adapter/csrf-check.js';

type Request = IncomingMessage & {
  session?: Session | null;
  body?: unknown;
  originalUrl?: string;
  csrfToken?: () => string;
};
type Next = (error?: unknown) => void;

declare global {
  namespace Express {
    interface Request {
      /** A fresh masked CSRF token for the current session; creates a pre-session when anonymous. */
      csrfToken(): string;
    }
  }
}

const fieldNames = new WeakMap<IncomingMessage, string>();

function appendVary(res: ServerResponse): void {
  const vary = varyWithOrigin(res.getHeader('Vary'));
  if (vary) res.setHeader('Vary', vary);
}

function refuse(req: IncomingMessage, res: ServerResponse, status: 403 | 415, api: boolean): void {
  const { contentType, body } = csrfRefusal(status, api, mediaType(req), header(req, 'accept') ?? '');
  res.statusCode = status;
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Type', contentType);
  res.end(body);
}

function bound(req: Request): { engine: SessionEngine; state: SessionState } {
  if (!req.session) throw new SessionStateError('csrf() needs session() to run before it');
  return bindingOf(req.session);
}

/**
 * CSRF defence in layers (OWASP CSRF cheat sheet): a Fetch-Metadata/Origin resource-isolation
 * policy on every request, then, on unsafe methods, a synchronizer token bound to the current
 * session. Place it after `session()` and the body parsers. It installs `req.csrfToken()`.
 *
 * Tokens are read from the header, or, only when there is no such header and the body is a
 * urlencoded or multipart form, from the form field: never from a cookie or the query string.
 *
 * @throws SessionConfigError naming the option when `origins` or another option is invalid.
 * @example
 * app.use(session({ secret }));
 * app.use(express.json(), express.urlencoded({ extended: false }));
 * app.use(csrf({ origins: ['https://app.test'], isStrict: (req) => req.url.startsWith('/admin') }));
 * app.get('/login', (req, res) => res.send(`<form method="post">${csrfField(req)}…</form>`));
 */
export function csrf(options: CsrfOptions): (req: IncomingMessage, res: ServerResponse, next: Next) => void {
  const config = resolve(options);

  return (req: Request, res, next) => {
    let engine: SessionEngine;
    let state: SessionState;
    try {
      ({ engine, state } = bound(req));
    } catch (error) {
      next(error);
      return;
    }
    req.csrfToken = () => {
      const current = bound(req);
      return createCsrfToken(current.engine.csrfSecretOf(current.state));
    };
    fieldNames.set(req, config.fieldName);

    const gate = csrfGate(
      config,
      req,
      (req.method ?? 'GET').toUpperCase(),
      (name) => header(req, name),
      state,
    );
    if (gate.vary) appendVary(res);
    const verdict = gate.refused ?? (gate.unsafe ? checkToken(req, state, config, gate.api) : null);
    if (verdict === null) {
      next();
      return;
    }
    reportCsrf(engine, state, verdict, config.reportOnly);
    if (config.reportOnly) next();
    else refuse(req, res, verdict === 'content-type' ? 415 : 403, gate.api);
  };
}

function tokenOf(req: IncomingMessage): string {
  const issue = (req as Request).csrfToken;
  if (typeof issue !== 'function') throw new SessionStateError('csrfField/csrfMeta need csrf() to run first');
  return issue();
}

/**
 * A hidden form field with a fresh token, for server-rendered forms.
 *
 * @example
 * res.send(`<form method="post" action="/login">${csrfField(req)}<button>Sign in</button></form>`);
 */
export function csrfField(req: IncomingMessage): string {
  const name = fieldNames.get(req) ?? '_csrf';
  return csrfFieldHtml(name, tokenOf(req));
}

/**
 * A `<meta name="csrf-token">` tag with a fresh token, for scripts that send it in the header.
 *
 * @example
 * res.send(`<head>${csrfMeta(req)}</head>`);
 * // fetch('/api/x', { method: 'POST', headers: { 'x-csrf-token': document.querySelector('meta[name=csrf-token]').content } })
 */
export function csrfMeta(req: IncomingMessage): string {
  return csrfMetaHtml(tokenOf(req));
}
