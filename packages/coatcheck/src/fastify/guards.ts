import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import {
  metaOfRequest,
  type RequireAuthOptions,
  type RequireFreshAuthOptions,
  type RequireStepUpOptions,
} from '../node-adapter/guard-options.js';
import { contextOf } from './plugin.js';

export type {
  RequireAuthOptions,
  RequireFreshAuthOptions,
  RequireStepUpOptions,
} from '../node-adapter/guard-options.js';

// The same statuses and bodies as the Express guards: clients and tests see one API.
const MESSAGES: Record<string, string> = {
  unauthenticated: 'Sign in to continue.',
  forbidden: 'You do not have access to this.',
  reauth_required: 'Confirm your password to continue.',
  step_up_required: 'Confirm it is you with your second factor to continue.',
};

function reject(reply: FastifyReply, status: number, error: string, extra: Record<string, unknown> = {}) {
  return reply
    .code(status)
    .header('content-type', 'application/json; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(JSON.stringify({ error, message: MESSAGES[error], ...extra }));
}

/** Sends a browser's page load to `to` with a `returnTo`; null when the request is not one. */
function redirect(request: FastifyRequest, reply: FastifyReply, to: string | undefined) {
  const html = (request.headers.accept ?? '').includes('text/html');
  if (!to || !html || (request.method !== 'GET' && request.method !== 'HEAD')) return null;
  return reply
    .code(303)
    .header('location', `${to}?returnTo=${encodeURIComponent(request.url)}`)
    .send();
}

function now(request: FastifyRequest): number {
  return contextOf(request)?.binding.engine.options.now() ?? Date.now();
}

/**
 * A `preHandler` letting signed-in requests through; others get 401 JSON, or a 303 to
 * `redirectTo` for a browser's page load.
 *
 * @example
 * app.get('/account', { preHandler: requireAuth() }, handler);
 */
export function requireAuth(options: RequireAuthOptions = {}): preHandlerAsyncHookHandler {
  return async (request, reply) => {
    if (metaOfRequest(request)?.userId) return;
    return redirect(request, reply, options.redirectTo) ?? reject(reply, 401, 'unauthenticated');
  };
}

/** Options of {@link requireRole}. */
export interface RequireRoleOptions {
  /** Reads the user's roles. @default `session.roles`, or `[session.role]` */
  rolesOf?: (request: FastifyRequest) => readonly string[] | Promise<readonly string[]>;
}

function defaultRoles(request: FastifyRequest): readonly string[] {
  const data = request.session as unknown as { roles?: unknown; role?: unknown } | null;
  if (Array.isArray(data?.roles)) return data.roles.filter((r): r is string => typeof r === 'string');
  return typeof data?.role === 'string' ? [data.role] : [];
}

/** A `preHandler` letting through signed-in users holding one of `roles`; 401 when signed out, 403 otherwise. */
export function requireRole(
  roles: string | readonly string[],
  options: RequireRoleOptions = {},
): preHandlerAsyncHookHandler {
  const wanted = [roles].flat();
  const rolesOf = options.rolesOf ?? defaultRoles;
  return async (request, reply) => {
    if (!metaOfRequest(request)?.userId) return reject(reply, 401, 'unauthenticated');
    const held = await rolesOf(request);
    if (held.some((role) => wanted.includes(role))) return;
    return reject(reply, 403, 'forbidden');
  };
}

/**
 * A `preHandler` letting through sessions whose last authentication (login or `reauthenticate`) is
 * within `maxAgeMs` (S39); others get 401 `reauth_required`.
 */
export function requireFreshAuth(options: RequireFreshAuthOptions = {}): preHandlerAsyncHookHandler {
  const maxAgeMs = options.maxAgeMs ?? 300_000;
  if (!Number.isFinite(maxAgeMs) || maxAgeMs <= 0) throw new RangeError('maxAgeMs must be a positive number');
  return async (request, reply) => {
    const meta = metaOfRequest(request);
    if (!meta?.userId) return reject(reply, 401, 'unauthenticated');
    if (meta.authAt !== null && now(request) - meta.authAt <= maxAgeMs) return;
    return redirect(request, reply, options.redirectTo) ?? reject(reply, 401, 'reauth_required');
  };
}

/**
 * A `preHandler` letting through sessions that stepped up to `level` within `maxAgeMs` (S40);
 * others get 401 `{ error: 'step_up_required', level }`.
 */
export function requireStepUp(options: RequireStepUpOptions = {}): preHandlerAsyncHookHandler {
  const level = options.level ?? 2;
  const maxAgeMs = options.maxAgeMs ?? 300_000;
  if (!Number.isInteger(level) || level < 2) throw new RangeError('level must be an integer of at least 2');
  if (!Number.isFinite(maxAgeMs) || maxAgeMs <= 0) throw new RangeError('maxAgeMs must be a positive number');
  return async (request, reply) => {
    const meta = metaOfRequest(request);
    if (!meta?.userId) return reject(reply, 401, 'unauthenticated');
    if (meta.aal >= level && meta.stepUpAt !== null && now(request) - meta.stepUpAt <= maxAgeMs) return;
    return redirect(request, reply, options.redirectTo) ?? reject(reply, 401, 'step_up_required', { level });
  };
}
