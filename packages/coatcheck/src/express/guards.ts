import type { IncomingMessage, ServerResponse } from 'node:http';
import { bindingOf, Session, sessionMetaOf } from './session.js';

/** The record's view of the request's session (a data key named `meta` cannot hide it); Fastify's guards use it too. */
export function metaOfRequest(req: { session?: Session | null }) {
  return req.session instanceof Session ? sessionMetaOf(req.session) : null;
}

type Request = IncomingMessage & { session?: Session | null; originalUrl?: string };
type Next = (error?: unknown) => void;
type Handler = (req: IncomingMessage, res: ServerResponse, next: Next) => void;

function wantsHtml(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').includes('text/html');
}

const MESSAGES: Record<string, string> = {
  unauthenticated: 'Sign in to continue.',
  forbidden: 'You do not have access to this.',
  reauth_required: 'Confirm your password to continue.',
  step_up_required: 'Confirm it is you with your second factor to continue.',
};

function reject(
  res: ServerResponse,
  status: number,
  error: string,
  extra: Record<string, unknown> = {},
): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(JSON.stringify({ error, message: MESSAGES[error], ...extra }));
}

/** Options of {@link requireAuth}. */
export interface RequireAuthOptions {
  /** Where browsers (Accept: text/html) are sent; other clients get 401 JSON. */
  redirectTo?: string;
}

/** Sends a browser's page load to `to` with a `returnTo`; false when the request is not one. */
function redirected(req: Request, res: ServerResponse, to: string | undefined): boolean {
  if (!to || !wantsHtml(req) || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
  res.statusCode = 303;
  res.setHeader('Location', `${to}?returnTo=${encodeURIComponent(req.originalUrl ?? req.url ?? '/')}`);
  res.end();
  return true;
}

/** Lets signed-in requests through; others get 401, or a redirect to the login page. */
export function requireAuth(options: RequireAuthOptions = {}): Handler {
  return (req: Request, res, next) => {
    if (metaOfRequest(req)?.userId) return next();
    if (redirected(req, res, options.redirectTo)) return undefined;
    reject(res, 401, 'unauthenticated');
    return undefined;
  };
}

/** Options of {@link requireRole}. */
export interface RequireRoleOptions {
  /** Reads the user's roles. @default `req.session.roles`, or `[req.session.role]` */
  rolesOf?: (req: IncomingMessage) => readonly string[] | Promise<readonly string[]>;
}

function defaultRoles(req: Request): readonly string[] {
  const session = req.session as unknown as { roles?: unknown; role?: unknown } | undefined;
  if (Array.isArray(session?.roles)) return session.roles.filter((r): r is string => typeof r === 'string');
  return typeof session?.role === 'string' ? [session.role] : [];
}

/** Lets through signed-in users holding one of `roles`; 401 when signed out, 403 otherwise. */
export function requireRole(roles: string | readonly string[], options: RequireRoleOptions = {}): Handler {
  const wanted = [roles].flat();
  const rolesOf = options.rolesOf ?? defaultRoles;
  return (req: Request, res, next) => {
    if (!metaOfRequest(req)?.userId) return reject(res, 401, 'unauthenticated');
    Promise.resolve(rolesOf(req)).then(
      (held) => (held.some((role) => wanted.includes(role)) ? next() : reject(res, 403, 'forbidden')),
      next,
    );
    return undefined;
  };
}

/** Options of {@link requireFreshAuth} (S39: full re-authentication before sensitive changes). */
export interface RequireFreshAuthOptions {
  /** How long ago the last full authentication may be. @default 300_000 (5 min) */
  maxAgeMs?: number;
  /** Where browsers (Accept: text/html, GET) are sent to re-authenticate; others get 401 JSON. */
  redirectTo?: string;
}

/**
 * Lets through sessions whose last authentication (login or `reauthenticate`) is recent enough
 * (S39). Freshness counts from `authAt`, never from session creation (better-auth#7472).
 */
export function requireFreshAuth(options: RequireFreshAuthOptions = {}): Handler {
  const maxAgeMs = options.maxAgeMs ?? 300_000;
  if (!Number.isFinite(maxAgeMs) || maxAgeMs <= 0) throw new RangeError('maxAgeMs must be a positive number');
  return (req: Request, res, next) => {
    const meta = metaOfRequest(req);
    if (!meta?.userId) return reject(res, 401, 'unauthenticated');
    const now = req.session ? bindingOf(req.session).engine.options.now() : Date.now();
    if (meta.authAt !== null && now - meta.authAt <= maxAgeMs) return next();
    if (redirected(req, res, options.redirectTo)) return undefined;
    reject(res, 401, 'reauth_required');
    return undefined;
  };
}

/** Options of {@link requireStepUp} (S40). */
export interface RequireStepUpOptions {
  /** The assurance level required: 2 for one factor beyond the password. @default 2 */
  level?: number;
  /** How long ago the step-up may be. @default 300_000 (5 min) */
  maxAgeMs?: number;
  /** Where browsers (Accept: text/html, GET) are sent to step up; others get 401 JSON. */
  redirectTo?: string;
}

/**
 * Lets through sessions that stepped up to `level` within `maxAgeMs` (S40): both facts live only
 * in the server-side record, set by `req.session.stepUp(level)` or a login with `{ aal }`.
 * Others get 401 `{ error: 'step_up_required', level }`.
 */
export function requireStepUp(options: RequireStepUpOptions = {}): Handler {
  const level = options.level ?? 2;
  const maxAgeMs = options.maxAgeMs ?? 300_000;
  if (!Number.isInteger(level) || level < 2) throw new RangeError('level must be an integer of at least 2');
  if (!Number.isFinite(maxAgeMs) || maxAgeMs <= 0) throw new RangeError('maxAgeMs must be a positive number');
  return (req: Request, res, next) => {
    const meta = metaOfRequest(req);
    if (!meta?.userId) return reject(res, 401, 'unauthenticated');
    const now = req.session ? bindingOf(req.session).engine.options.now() : Date.now();
    if (meta.aal >= level && meta.stepUpAt !== null && now - meta.stepUpAt <= maxAgeMs) return next();
    if (redirected(req, res, options.redirectTo)) return undefined;
    reject(res, 401, 'step_up_required', { level });
    return undefined;
  };
}
