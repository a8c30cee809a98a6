import { type Response, Router } from 'express';
import { consumeStepUpChallenge, issueStepUpChallenge } from '../challenges.js';
import type { AppContext } from '../context.js';
import { csrfTokenOf } from '../csrf.js';
import { signedInUser } from '../current-user.js';
import { STEP_UP_LEVEL, signedIn } from '../guards.js';
import { reportSignInFailure, reportStepUpFailure } from '../hardening.js';
import { noticeSignIn } from '../notify.js';
import { apiError, retryAfterSeconds } from '../respond.js';
import {
  clearPendingSignIn,
  completeStepUp,
  consumePendingChallenge,
  loginWithSecondFactor,
  pendingSignInOf,
  renewPendingChallenge,
} from '../second-factor.js';
import { sessionOf } from '../session-data.js';
import { normalizeTotpCode } from '../totp.js';
import { stringField } from '../validate.js';
import { publicUser } from './api.js';

/** Notifications returned by `GET /api/notifications`. */
const NOTIFICATIONS_RETURNED = 50;

/**
 * The JSON side of two-step sign-in, step-up (S40, S41) and security notifications (S38). Every
 * code is sent with the challenge the server handed to this session, and counts once.
 */
export function apiSecondFactor(ctx: AppContext): Router {
  const router = Router();
  const auth = signedIn('api');

  const throttled = (res: Response, retryAfterMs: number) => {
    res.set('Retry-After', String(retryAfterSeconds(retryAfterMs)));
    apiError(res, 429, 'too_many_attempts', 'Too many attempts; retry after the time in Retry-After.');
  };

  router.post('/login/totp', async (req, res) => {
    const now = ctx.now();
    const pending = pendingSignInOf(req, now);
    const given = stringField(req.body, 'challenge');
    if (!pending || !(await consumePendingChallenge(ctx.counter, req, { pending, given, now }))) {
      if (!pending) clearPendingSignIn(req);
      return apiError(res, 401, 'challenge_invalid', 'Sign in with your password again (POST /api/login).');
    }
    const user = await ctx.users.findById(pending.userId);
    if (!user?.totpSecret) {
      clearPendingSignIn(req);
      return apiError(res, 401, 'challenge_invalid', 'Sign in with your password again (POST /api/login).');
    }
    const result = await ctx.accounts.confirmTotp({
      user,
      code: normalizeTotpCode(stringField(req.body, 'code')),
      ip: req.ip ?? '',
      now,
    });
    if (!result.ok) {
      reportSignInFailure(ctx, req, result.reason);
      const challenge = renewPendingChallenge(req, pending, now);
      if (result.reason === 'throttled') return throttled(res, result.retryAfterMs);
      return apiError(res, 401, 'invalid_code', 'That code is not right.', { challenge });
    }
    await loginWithSecondFactor(req, user.id);
    ctx.dbsc?.offer(req, res);
    await noticeSignIn(ctx, req, user.id);
    res.json({ user: publicUser(user), csrfToken: csrfTokenOf(req) });
  });

  router.get('/step-up', auth, (req, res) => {
    if (!signedInUser(req).totpSecret) {
      return apiError(
        res,
        409,
        'two_step_not_enabled',
        'Set up an authenticator app first (on /account/two-step).',
      );
    }
    res.json({ challenge: issueStepUpChallenge(req, ctx.now()), level: STEP_UP_LEVEL });
  });

  router.post('/step-up', auth, async (req, res) => {
    const user = signedInUser(req);
    const now = ctx.now();
    const given = stringField(req.body, 'challenge');
    if (!(await consumeStepUpChallenge(ctx.counter, req, { given, now })) || !user.totpSecret) {
      return apiError(res, 401, 'challenge_invalid', 'Get a new challenge (GET /api/step-up) and try again.');
    }
    const result = await ctx.accounts.confirmTotp({
      user,
      code: normalizeTotpCode(stringField(req.body, 'code')),
      ip: req.ip ?? '',
      now,
    });
    if (!result.ok) reportStepUpFailure(ctx, req, result.reason, user.id);
    if (!result.ok && result.reason === 'throttled') return throttled(res, result.retryAfterMs);
    if (!result.ok) return apiError(res, 401, 'invalid_code', 'That code is not right.');
    await completeStepUp(req);
    const meta = sessionOf(req).meta;
    res.json({ aal: meta?.aal, stepUpAt: meta?.stepUpAt, csrfToken: csrfTokenOf(req) });
  });

  router.get('/notifications', auth, async (req, res) => {
    const userId = signedInUser(req).id;
    const [notifications, unread] = await Promise.all([
      ctx.notifications.list(userId, NOTIFICATIONS_RETURNED),
      ctx.notifications.countUnread(userId),
    ]);
    res.json({ notifications, unread });
  });

  router.post('/notifications/read', auth, async (req, res) => {
    const id = stringField(req.body, 'id');
    res.json({ marked: await ctx.notifications.markRead(signedInUser(req).id, ctx.now(), id || undefined) });
  });

  return router;
}
