import { Router } from 'express';
import type { AppContext } from '../context.js';
import { signedInUser } from '../current-user.js';
import { adminOnly, hasFreshStepUp, signedIn, stepUp } from '../guards.js';
import { notifyUser } from '../notify.js';
import { changeRole, listUsers, resetTwoStep, revokeUserSessions } from '../operations.js';
import { setFlash } from '../session-data.js';
import { ROLES, type Role } from '../users/repository.js';
import { stringField } from '../validate.js';
import { renderMessage, renderPage } from '../views.js';

/** Users per admin page. */
export const ADMIN_PAGE_SIZE = 50;

/**
 * Admin pages: users with their session counts, sign out a user everywhere, change a role. Reading
 * needs the role; every action also needs a step-up with the authenticator app.
 */
export function adminPages(ctx: AppContext): Router {
  const router = Router();
  const guards = [signedIn('page'), adminOnly('page')];
  // S40: every admin write needs a recent second-factor step-up, not only a fresh password.
  const steppedUp = stepUp(ctx, 'page', '/admin');

  const notFound = (req: Parameters<typeof renderMessage>[0], res: Parameters<typeof renderMessage>[1]) =>
    renderMessage(req, res, 404, {
      title: 'No such user',
      text: 'That user does not exist (any more).',
      link: { href: '/admin', label: 'Back to users' },
    });

  router.get('/admin', ...guards, async (req, res) => {
    const page = Math.max(1, Math.min(10_000, Number.parseInt(String(req.query.page ?? '1'), 10) || 1));
    const { users, total } = await listUsers(ctx, page, ADMIN_PAGE_SIZE);
    renderPage(req, res, 'admin', {
      title: 'Users',
      users,
      total,
      page,
      pages: Math.max(1, Math.ceil(total / ADMIN_PAGE_SIZE)),
      roles: ROLES,
      enrolled: Boolean(signedInUser(req).totpSecret),
      steppedUp: hasFreshStepUp(ctx, req),
    });
  });

  router.post('/admin/users/:id/revoke', ...guards, steppedUp, async (req, res) => {
    const admin = signedInUser(req);
    const outcome = await revokeUserSessions(ctx, admin, String(req.params.id));
    if (!outcome.ok) return notFound(req, res);
    if (outcome.user.id === admin.id) return res.redirect(303, '/login?notice=signedout');
    setFlash(req, `Signed out ${outcome.user.email} everywhere (${outcome.sessionsEnded} sessions).`);
    res.redirect(303, '/admin');
  });

  router.post('/admin/users/:id/role', ...guards, steppedUp, async (req, res) => {
    const role = stringField(req.body, 'role');
    if (!ROLES.includes(role as Role)) {
      return renderMessage(req, res, 400, {
        title: 'Unknown role',
        text: `Choose one of: ${ROLES.join(', ')}.`,
        link: { href: '/admin', label: 'Back to users' },
      });
    }
    const outcome = await changeRole(ctx, signedInUser(req), String(req.params.id), role as Role);
    if (!outcome.ok && outcome.reason === 'self') {
      return renderMessage(req, res, 409, {
        title: 'Not your own role',
        text: 'Administrators cannot change their own role; ask another administrator.',
        link: { href: '/admin', label: 'Back to users' },
      });
    }
    if (!outcome.ok) return notFound(req, res);
    setFlash(
      req,
      `${outcome.user.email} is now ${role === 'admin' ? 'an admin' : 'a user'}; they were signed out.`,
    );
    res.redirect(303, '/admin');
  });

  router.post('/admin/users/:id/two-step/disable', ...guards, steppedUp, async (req, res) => {
    const outcome = await resetTwoStep(ctx, signedInUser(req), String(req.params.id));
    if (!outcome.ok && outcome.reason === 'self') {
      return renderMessage(req, res, 409, {
        title: 'Use your account page',
        text: 'Turn off your own two-step sign-in on your account page.',
        link: { href: '/account/two-step', label: 'Two-step sign-in' },
      });
    }
    if (!outcome.ok && outcome.reason === 'no_two_step') {
      setFlash(req, 'That user does not use two-step sign-in.');
      return res.redirect(303, '/admin');
    }
    if (!outcome.ok) return notFound(req, res);
    await notifyUser(ctx, req, outcome.user.id, 'totp_disabled', ADMIN_RESET_TEXT);
    setFlash(req, `Two-step sign-in turned off for ${outcome.user.email}; they were signed out.`);
    res.redirect(303, '/admin');
  });

  return router;
}

/** What a user reads after an administrator turned their two-step sign-in off. */
export const ADMIN_RESET_TEXT =
  'An administrator turned off two-step sign-in for your account. Set it up again from your account page.';
