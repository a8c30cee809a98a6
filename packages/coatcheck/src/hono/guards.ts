import type { Context, MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { SessionMeta } from '../core/lifecycle/meta.js';
import type { Env } from './middleware.js';
import { bindingOf, type HonoSession } from './session.js';

const MESSAGES: Record<string, string> = {
  unauthenticated: 'Sign in to continue.',
  forbidden: 'You do not have access to this.',
  reauth_required: 'Confirm your password to continue.',
  step_up_required: 'Confirm it is you with your second factor to continue.',
};

type Guard = MiddlewareHandler<Env>;
type Status = 401 | 403;

function reject(c: Context, status: Status, error: string, extra: Record<string, unknown> = {}): Response {
  c.header('Cache-Control', 'no-store');
  return c.json({ error, message: MESSAGES[error], ...extra }, status);
}

/** The session, or a clear error when the guard runs without the session middleware before it. */
function sessionOf(c: Context<Env>): HonoSession {
  const found = c.get('session');
  if (!found) throw new TypeError('coatcheck/hono guards need session() to run before them');
  return found;
}

/** Sends a browser's page load to `to` with a `returnTo`; null when the request is not one. */
function redirected(c: Context, to: string | undefined): Response | null {
  const html = (c.req.header('accept') ?? '').includes('text/html');
  if (!to || !html || (c.req.method !== 'GET' && c.req.method !== 'HEAD')) return null;
  const url = new URL(c.req.url);
  return c.redirect(`${to}?returnTo=${encodeURIComponent(url.pathname + url.search)}`, 303);
}

/** Options of {@link requireAuth}. */
export interface RequireAuthOptions {
  /** Where browsers (Accept: text/html, GET) are sent; other clients get 401 JSON. */
  redirectTo?: string;
}

/** Lets signed-in requests through; others get 401 `{ error: 'unauthenticated' }`, or a redirect. */
export function requireAuth(options: RequireAuthOptions = {}): Guard {
  return createMiddleware<Env>(async (c, next) => {
    if (sessionOf(c).meta?.userId) return next();
    return redirected(c, options.redirectTo) ?? reject(c, 401, 'unauthenticated');
  });
}

/** Options of {@link requireRole}. */
export interface RequireRoleOptions {
  /** Reads the user's roles. @default the session's `roles` data, or `[role]` */
  rolesOf?: (c: Context<Env>) => readonly string[] | Promise<readonly string[]>;
}

function defaultRoles(c: Context<Env>): readonly string[] {
  const current = sessionOf(c);
  const roles = current.get('roles');
  if (Array.isArray(roles)) return roles.filter((role): role is string => typeof role === 'string');
  const role = current.get('role');
  return typeof role === 'string' ? [role] : [];
}

/** Lets through signed-in users holding one of `roles`; 401 when signed out, 403 otherwise. */
export function requireRole(roles: string | readonly string[], options: RequireRoleOptions = {}): Guard {
  const wanted = [roles].flat();
  const rolesOf = options.rolesOf ?? defaultRoles;
  return createMiddleware<Env>(async (c, next) => {
    if (!sessionOf(c).meta?.userId) return reject(c, 401, 'unauthenticated');
    const held = await rolesOf(c);
    return held.some((role) => wanted.includes(role)) ? next() : reject(c, 403, 'forbidden');
  });
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number`);
  return value;
}

/** A signed-in session's meta and the engine's clock, or null when signed out. */
function signedIn(c: Context<Env>): { meta: SessionMeta; now: number } | null {
  const current = sessionOf(c);
  const meta = current.meta;
  return meta?.userId ? { meta, now: bindingOf(current).engine.options.now() } : null;
}

/** Options of {@link requireFreshAuth} (S39: full re-authentication before sensitive changes). */
export interface RequireFreshAuthOptions {
  /** How long ago the last full authentication may be, in ms. @default 300_000 (5 min) */
  maxAgeMs?: number;
  /** Where browsers (Accept: text/html, GET) are sent to re-authenticate; others get 401 JSON. */
  redirectTo?: string;
}

/**
 * Lets through sessions whose last authentication (login or `reauthenticate`) is recent enough
 * (S39); freshness counts from `authAt`, never from session creation (better-auth#7472).
 */
export function requireFreshAuth(options: RequireFreshAuthOptions = {}): Guard {
  const maxAgeMs = positive('maxAgeMs', options.maxAgeMs ?? 300_000);
  return createMiddleware<Env>(async (c, next) => {
    const found = signedIn(c);
    if (!found) return reject(c, 401, 'unauthenticated');
    const { meta, now } = found;
    if (meta.authAt !== null && now - meta.authAt <= maxAgeMs) return next();
    return redirected(c, options.redirectTo) ?? reject(c, 401, 'reauth_required');
  });
}

/** Options of {@link requireStepUp} (S40). */
export interface RequireStepUpOptions {
  /** The assurance level required: 2 for one factor beyond the password. @default 2 */
  level?: number;
  /** How long ago the step-up may be, in ms. @default 300_000 (5 min) */
  maxAgeMs?: number;
  /** Where browsers (Accept: text/html, GET) are sent to step up; others get 401 JSON. */
  redirectTo?: string;
}

/**
 * Lets through sessions that stepped up to `level` within `maxAgeMs` (S40); others get 401
 * `{ error: 'step_up_required', level }`.
 */
export function requireStepUp(options: RequireStepUpOptions = {}): Guard {
  const level = options.level ?? 2;
  const maxAgeMs = positive('maxAgeMs', options.maxAgeMs ?? 300_000);
  if (!Number.isInteger(level) || level < 2) throw new RangeError('level must be an integer of at least 2');
  return createMiddleware<Env>(async (c, next) => {
    const found = signedIn(c);
    if (!found) return reject(c, 401, 'unauthenticated');
    const { meta, now } = found;
    if (meta.aal >= level && meta.stepUpAt !== null && now - meta.stepUpAt <= maxAgeMs) return next();
    return redirected(c, options.redirectTo) ?? reject(c, 401, 'step_up_required', { level });
  });
}
