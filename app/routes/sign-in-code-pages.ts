import { type Request, type Response, Router } from 'express';
import type { AppContext } from '../context.js';
import { currentUser } from '../current-user.js';
import { reportSignInFailure } from '../hardening.js';
import { noticeSignIn } from '../notify.js';
import { describeWait, retryAfterSeconds } from '../respond.js';
import {
  clearPendingSignIn,
  consumePendingChallenge,
  loginWithSecondFactor,
  pendingSignInOf,
  renewPendingChallenge,
} from '../second-factor.js';
import { normalizeTotpCode } from '../totp.js';
import { stringField } from '../validate.js';
import { renderMessage, renderPage } from '../views.js';

/** The second step of signing in for users with an authenticator app: the code page. */
export function signInCodePages(ctx: AppContext): Router {
  const router = Router();

  const expired = (req: Request, res: Response) =>
    renderMessage(req, res, 401, {
      title: 'Sign in again',
      text: 'This sign-in has expired or was not started in this browser. Enter your email and password again.',
      link: { href: '/login', label: 'Sign in' },
    });

  router.get('/login/code', (req, res) => {
    if (currentUser(req)) return res.redirect(303, '/dashboard');
    const pending = pendingSignInOf(req, ctx.now());
    if (!pending) {
      clearPendingSignIn(req);
      return res.redirect(303, '/login?notice=codeexpired');
    }
    const challenge = renewPendingChallenge(req, pending, ctx.now());
    renderPage(req, res, 'signin-code', { title: 'Enter your code', challenge }, { form: true });
  });

  router.post('/login/code', async (req, res) => {
    const now = ctx.now();
    const pending = pendingSignInOf(req, now);
    // S41: the code counts only with the challenge this session was served, once, before it expires.
    const given = stringField(req.body, 'challenge');
    if (!pending || !(await consumePendingChallenge(ctx.counter, req, { pending, given, now }))) {
      if (!pending) clearPendingSignIn(req);
      return expired(req, res);
    }
    const form = (status: number, error: string) =>
      renderPage(
        req,
        res,
        'signin-code',
        { title: 'Enter your code', challenge: renewPendingChallenge(req, pending, now), error },
        { form: true, status },
      );
    const user = await ctx.users.findById(pending.userId);
    if (!user?.totpSecret) {
      clearPendingSignIn(req);
      return expired(req, res);
    }
    const result = await ctx.accounts.confirmTotp({
      user,
      code: normalizeTotpCode(stringField(req.body, 'code')),
      ip: req.ip ?? '',
      now,
    });
    if (!result.ok) reportSignInFailure(ctx, req, result.reason);
    if (!result.ok && result.reason === 'throttled') {
      res.set('Retry-After', String(retryAfterSeconds(result.retryAfterMs)));
      return form(429, `Too many failed attempts. Try again in ${describeWait(result.retryAfterMs)}.`);
    }
    if (!result.ok) return form(401, 'That code is not right. Enter the code your app shows now.');
    await loginWithSecondFactor(req, user.id);
    ctx.dbsc?.offer(req, res);
    await noticeSignIn(ctx, req, user.id);
    res.redirect(303, pending.returnTo || '/dashboard');
  });

  return router;
}
