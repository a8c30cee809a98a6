import { requireAuth, requireFreshAuth, requireRole, requireStepUp } from 'coatcheck/express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AppContext } from './context.js';
import { currentUser } from './current-user.js';
import { apiError } from './respond.js';
import { sessionOf } from './session-data.js';
import { renderMessage } from './views.js';

/**
 * The library's guards decide; these wrappers only choose how a refusal looks (a redirect or a
 * page for people, `{ error, message }` for the API) before handing over to them.
 */
type Kind = 'page' | 'api';

const isRead = (req: Request) => req.method === 'GET' || req.method === 'HEAD';

function loginRedirect(req: Request, res: Response): void {
  // A form posted after the session ended cannot be replayed: go back to the page it came from.
  res.redirect(303, isRead(req) ? `/login?returnTo=${encodeURIComponent(req.originalUrl)}` : '/login');
}

/** Signed-in users only: others are sent to the sign-in page, or get 401 from the API. */
export function signedIn(kind: Kind): RequestHandler {
  const guard = requireAuth(kind === 'page' ? { redirectTo: '/login' } : {}) as RequestHandler;
  return (req, res, next) => {
    if (!currentUser(req)) {
      if (kind === 'api') return apiError(res, 401, 'unauthenticated', 'Sign in first.');
      return loginRedirect(req, res);
    }
    guard(req, res, next);
  };
}

/** Admins only (role read from the user store, never from anything the client sends); 403 otherwise. */
export function adminOnly(kind: Kind): RequestHandler {
  const guard = requireRole('admin', {
    rolesOf: (req) => {
      const user = currentUser(req);
      return user ? [user.role] : [];
    },
  }) as RequestHandler;
  return (req, res, next) => {
    if (currentUser(req)?.role !== 'admin') {
      if (kind === 'api') return apiError(res, 403, 'forbidden', 'Only administrators may do this.');
      return renderMessage(req, res, 403, {
        title: 'Not allowed',
        text: 'This page is for administrators only.',
        link: { href: '/dashboard', label: 'Back to your dashboard' },
      });
    }
    guard(req, res, next);
  };
}

/**
 * A recent full authentication (S39): older than `maxAgeMs`, people are sent to re-enter their
 * password and come back; the API answers 401 `reauth_required`.
 */
export function freshAuth(
  kind: Kind,
  maxAgeMs: number,
  returnTo?: string,
  now: () => number = Date.now,
): RequestHandler {
  const guard = requireFreshAuth({ maxAgeMs, redirectTo: '/reauth' }) as RequestHandler;
  return (req: Request, res: Response, next: NextFunction) => {
    const authAt = sessionOf(req).meta?.authAt ?? null;
    if (authAt === null || now() - authAt > maxAgeMs) {
      if (kind === 'api') {
        return apiError(res, 401, 'reauth_required', 'Confirm your password first (POST /api/reauth).');
      }
      const back = isRead(req) ? req.originalUrl : (returnTo ?? req.originalUrl);
      return res.redirect(303, `/reauth?returnTo=${encodeURIComponent(back)}`);
    }
    guard(req, res, next);
  };
}

/** The assurance level highly sensitive actions need: a password and an authenticator code. */
export const STEP_UP_LEVEL = 2;

/** Whether this session completed a level-2 step-up within `stepUpMaxAgeMs` (server clock). */
export function hasFreshStepUp(ctx: AppContext, req: Request): boolean {
  const meta = sessionOf(req).meta;
  if (!meta || meta.aal < STEP_UP_LEVEL || meta.stepUpAt === null) return false;
  return ctx.now() - meta.stepUpAt <= ctx.config.stepUpMaxAgeMs;
}

/**
 * A second-factor step-up within `ctx.config.stepUpMaxAgeMs` (S40), counted from `stepUpAt` in the
 * session record. Page loads are sent to `/step-up` and back; a form posted without one gets a 401
 * page saying what to do (set up an authenticator first, or confirm a code); the API answers 401
 * `{ error: 'step_up_required', level: 2 }`.
 */
export function stepUp(ctx: AppContext, kind: Kind, returnTo = '/dashboard'): RequestHandler {
  const guard = requireStepUp({
    level: STEP_UP_LEVEL,
    maxAgeMs: ctx.config.stepUpMaxAgeMs,
    redirectTo: '/step-up',
  }) as unknown as RequestHandler;
  return (req: Request, res: Response, next: NextFunction) => {
    if (hasFreshStepUp(ctx, req)) return guard(req, res, next);
    if (kind === 'api') {
      return apiError(
        res,
        401,
        'step_up_required',
        'Confirm with your authenticator first (GET then POST /api/step-up).',
        { level: STEP_UP_LEVEL },
      );
    }
    const enrolled = Boolean(currentUser(req)?.totpSecret);
    if (isRead(req) && enrolled) {
      return res.redirect(303, `/step-up?returnTo=${encodeURIComponent(req.originalUrl)}`);
    }
    return renderMessage(req, res, 401, {
      title: 'Confirm with your authenticator',
      text: enrolled
        ? 'This action needs a code from your authenticator app, entered in the last few minutes.'
        : 'This action needs two-step sign-in. Set up an authenticator app first, then try again.',
      link: enrolled
        ? { href: `/step-up?returnTo=${encodeURIComponent(returnTo)}`, label: 'Enter a code' }
        : { href: '/account/two-step', label: 'Set up an authenticator app' },
    });
  };
}
