import { type Request, type Response, Router } from 'express';
import type { AppContext } from '../context.js';
import { signedInUser } from '../current-user.js';
import { adminOnly, signedIn, stepUp } from '../guards.js';
import { type AdminOutcome, setAccountDisabled } from '../operations.js';
import { apiError } from '../respond.js';
import { setFlash } from '../session-data.js';
import { renderMessage } from '../views.js';

/** Ends every session of every user, the acting admin's included (ASVS 7.4, the kill switch). */
function endAllSessions(ctx: AppContext, req: Request) {
  return ctx.sessions.engine.revokeAllSessions({ by: signedInUser(req).id });
}

const backToUsers = { href: '/admin', label: 'Back to users' };

/**
 * Admin pages for accounts as a whole: disable or enable an account (disabling ends its sessions)
 * and end every session there is. Like every admin write, each needs the role and a recent
 * second-factor step-up (S40).
 */
export function adminAccountPages(ctx: AppContext): Router {
  const router = Router();
  const guards = [signedIn('page'), adminOnly('page'), stepUp(ctx, 'page', '/admin')];

  const answer = (req: Request, res: Response, outcome: AdminOutcome, done: string) => {
    if (!outcome.ok && outcome.reason === 'self') {
      return renderMessage(req, res, 409, {
        title: 'Not your own account',
        text: 'Administrators cannot disable their own account; ask another administrator.',
        link: backToUsers,
      });
    }
    if (!outcome.ok) {
      return renderMessage(req, res, 404, {
        title: 'No such user',
        text: 'That user does not exist.',
        link: backToUsers,
      });
    }
    setFlash(req, `${outcome.user.email} ${done}.`);
    res.redirect(303, '/admin');
  };

  router.post('/admin/users/:id/disable', ...guards, async (req, res) => {
    const outcome = await setAccountDisabled(ctx, signedInUser(req), String(req.params.id), true);
    answer(req, res, outcome, `is disabled; ${outcome.ok ? outcome.sessionsEnded : 0} sessions ended`);
  });

  router.post('/admin/users/:id/enable', ...guards, async (req, res) => {
    answer(
      req,
      res,
      await setAccountDisabled(ctx, signedInUser(req), String(req.params.id), false),
      'can sign in again',
    );
  });

  router.post('/admin/sessions/end-all', ...guards, async (req, res) => {
    await endAllSessions(ctx, req);
    // This session ended too: the next page is the sign-in page.
    res.redirect(303, '/login?notice=signedout');
  });

  return router;
}

/** The same over JSON, under /api/admin. */
export function apiAdminAccounts(ctx: AppContext): Router {
  const router = Router();
  router.use(signedIn('api'), adminOnly('api'), stepUp(ctx, 'api'));

  const answer = (res: Response, outcome: AdminOutcome) => {
    if (!outcome.ok && outcome.reason === 'self') {
      return apiError(res, 409, 'own_account', 'Administrators cannot disable their own account.');
    }
    if (!outcome.ok) return apiError(res, 404, 'not_found', 'No user has that id.');
    res.json({
      userId: outcome.user.id,
      disabled: outcome.user.disabledAt !== null,
      sessionsEnded: outcome.sessionsEnded,
    });
  };

  router.post('/users/:id/disable', async (req, res) => {
    answer(res, await setAccountDisabled(ctx, signedInUser(req), String(req.params.id), true));
  });

  router.post('/users/:id/enable', async (req, res) => {
    answer(res, await setAccountDisabled(ctx, signedInUser(req), String(req.params.id), false));
  });

  router.post('/sessions/end-all', async (req, res) => {
    res.json(await endAllSessions(ctx, req));
  });

  return router;
}
