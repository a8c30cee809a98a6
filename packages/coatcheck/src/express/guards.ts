import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  metaOfRequest,
  type RequireAuthOptions,
  type RequireFreshAuthOptions,
  type RequireStepUpOptions,
} from '../node-adapter/guard-options.js';
import { bindingOf, type Session } from '../session-api/session.js';

export type {
  RequireAuthOptions,
  RequireFreshAuthOptions,
  RequireStepUpOptions,
} from '../node-adapter/guard-options.js';

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
