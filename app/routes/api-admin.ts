import { Router } from 'express';
import type { AppContext } from '../context.js';
import { signedInUser } from '../current-user.js';
import { adminOnly, signedIn, stepUp } from '../guards.js';
import { notifyUser } from '../notify.js';
import { changeRole, listUsers, resetTwoStep, revokeUserSessions } from '../operations.js';
import { apiError } from '../respond.js';
import { ROLES, type Role } from '../users/repository.js';
import { stringField } from '../validate.js';
import { ADMIN_PAGE_SIZE, ADMIN_RESET_TEXT } from './admin-pages.js';

/** Admin operations over JSON; every write needs a recent second-factor step-up as well as the role (S40). */
export function apiAdmin(ctx: AppContext): Router {
  const router = Router();
  router.use(signedIn('api'), adminOnly('api'));
  const steppedUp = stepUp(ctx, 'api');

  router.get('/users', async (req, res) => {
    const page = Math.max(1, Math.min(10_000, Number.parseInt(String(req.query.page ?? '1'), 10) || 1));
    res.json({ page, pageSize: ADMIN_PAGE_SIZE, ...(await listUsers(ctx, page, ADMIN_PAGE_SIZE)) });
  });

  router.post('/users/:id/revoke-sessions', steppedUp, async (req, res) => {
    const outcome = await revokeUserSessions(ctx, signedInUser(req), String(req.params.id));
    if (!outcome.ok) return apiError(res, 404, 'not_found', 'No user has that id.');
    res.json({ userId: outcome.user.id, sessionsEnded: outcome.sessionsEnded });
  });

  router.post('/users/:id/role', steppedUp, async (req, res) => {
    const role = stringField(req.body, 'role');
    if (!ROLES.includes(role as Role)) {
      return apiError(res, 400, 'invalid_role', `role must be one of: ${ROLES.join(', ')}.`);
    }
    const outcome = await changeRole(ctx, signedInUser(req), String(req.params.id), role as Role);
    if (!outcome.ok && outcome.reason === 'self') {
      return apiError(res, 409, 'own_role', 'Administrators cannot change their own role.');
    }
    if (!outcome.ok) return apiError(res, 404, 'not_found', 'No user has that id.');
    res.json({ userId: outcome.user.id, role: outcome.user.role, sessionsEnded: outcome.sessionsEnded });
  });

  router.post('/users/:id/two-step/disable', steppedUp, async (req, res) => {
    const outcome = await resetTwoStep(ctx, signedInUser(req), String(req.params.id));
    if (!outcome.ok && outcome.reason === 'self') {
      return apiError(res, 409, 'own_two_step', 'Turn off your own two-step sign-in on your account.');
    }
    if (!outcome.ok && outcome.reason === 'no_two_step') {
      return apiError(res, 409, 'no_two_step', 'That user does not use two-step sign-in.');
    }
    if (!outcome.ok) return apiError(res, 404, 'not_found', 'No user has that id.');
    await notifyUser(ctx, req, outcome.user.id, 'totp_disabled', ADMIN_RESET_TEXT);
    res.json({ userId: outcome.user.id, twoStep: false, sessionsEnded: outcome.sessionsEnded });
  });

  return router;
}
