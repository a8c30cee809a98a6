import { Router } from 'express';
import type { AppContext } from '../context.js';
import { currentUser } from '../current-user.js';
import { limitPreSessions, reportSignInFailure } from '../hardening.js';
import { noticeSignIn } from '../notify.js';
import { describeWait, retryAfterSeconds } from '../respond.js';
import { startPendingSignIn } from '../second-factor.js';
import { sessionOf } from '../session-data.js';
import {
  checkEmail,
  checkNewPassword,
  checkPasswordPresent,
  safeReturnTo,
  stringField,
} from '../validate.js';
import { renderMessage, renderPage } from '../views.js';

const NOTICES: Record<string, string> = {
  registered: 'If that address was not registered yet, your account is ready. Sign in with your password.',
  signedout: 'You are signed out.',
  codeexpired: 'That sign-in took too long. Enter your email and password again.',
};

/**
 * The notice a `?notice=` key names, looked up among NOTICES' own keys only: `constructor` or
 * `toString` must not reach Object.prototype and print a built-in function's source.
 */
function noticeText(key: unknown): string | null {
  return typeof key === 'string' && Object.hasOwn(NOTICES, key) ? (NOTICES[key] ?? null) : null;
}

/** Sign in, register, sign out. */
export function authPages(ctx: AppContext): Router {
  const router = Router();

  router.get('/', (req, res) => res.redirect(303, currentUser(req) ? '/dashboard' : '/login'));

  router.get('/login', limitPreSessions(ctx), (req, res) => {
    if (currentUser(req)) return res.redirect(303, safeReturnTo(req.query.returnTo));
    const notice = noticeText(req.query.notice);
    const returnTo = safeReturnTo(req.query.returnTo, '');
    // Sent here by a guard: the session ended (signed out elsewhere, idle or absolute timeout).
    const ended = returnTo !== '' && !notice ? 'Your session has ended. Sign in to continue.' : null;
    renderPage(
      req,
      res,
      'signin',
      { title: 'Sign in', email: '', returnTo, notice: notice ?? ended },
      { form: true },
    );
  });

  router.post('/login', async (req, res) => {
    const rawEmail = stringField(req.body, 'email');
    const returnTo = safeReturnTo(stringField(req.body, 'returnTo'), '');
    const form = (status: number, error: string) =>
      renderPage(
        req,
        res,
        'signin',
        { title: 'Sign in', email: rawEmail, returnTo, error },
        { form: true, status },
      );
    const email = checkEmail(rawEmail);
    if (!email.ok) return form(400, email.message);
    const password = checkPasswordPresent(stringField(req.body, 'password'));
    if (!password.ok) return form(400, password.message);
    const result = await ctx.accounts.signIn({
      email: email.value,
      password: password.value,
      ip: req.ip ?? '',
    });
    if (!result.ok) reportSignInFailure(ctx, req, result.reason);
    if (!result.ok && result.reason === 'throttled') {
      res.set('Retry-After', String(retryAfterSeconds(result.retryAfterMs)));
      return form(429, `Too many failed attempts. Try again in ${describeWait(result.retryAfterMs)}.`);
    }
    if (!result.ok) return form(401, 'The email or password is incorrect.');
    if (result.user.totpSecret) {
      // The password alone does not sign in: the code page follows, in this pre-session (new ID).
      await startPendingSignIn(req, result.user.id, returnTo, ctx.now());
      return res.redirect(303, '/login/code');
    }
    // "Keep me signed in": a remembered device of its own, never a longer session (S13).
    await sessionOf(req).login(result.user.id, { remember: stringField(req.body, 'remember') === '1' });
    ctx.dbsc?.offer(req, res);
    await noticeSignIn(ctx, req, result.user.id);
    res.redirect(303, returnTo || '/dashboard');
  });

  router.get('/register', limitPreSessions(ctx), (req, res) => {
    if (currentUser(req)) return res.redirect(303, '/dashboard');
    renderPage(req, res, 'register', { title: 'Create an account', email: '' }, { form: true });
  });

  router.post('/register', async (req, res) => {
    const rawEmail = stringField(req.body, 'email');
    const form = (status: number, error: string) =>
      renderPage(
        req,
        res,
        'register',
        { title: 'Create an account', email: rawEmail, error },
        { form: true, status },
      );
    const email = checkEmail(rawEmail);
    if (!email.ok) return form(400, email.message);
    const password = checkNewPassword(stringField(req.body, 'password'), stringField(req.body, 'confirm'));
    if (!password.ok) return form(400, password.message);
    const result = await ctx.accounts.register({
      email: email.value,
      password: password.value,
      ip: req.ip ?? '',
    });
    if (!result.ok) {
      res.set('Retry-After', String(retryAfterSeconds(result.retryAfterMs)));
      return form(
        429,
        `Too many registrations from your network. Try again in ${describeWait(result.retryAfterMs)}.`,
      );
    }
    // The same answer whether the address was free or taken: registration reveals no account.
    res.redirect(303, '/login?notice=registered');
  });

  router.post('/logout', async (req, res) => {
    await sessionOf(req).logout();
    // S28: drop what the browser cached for this origin; cookies are expired by the session layer.
    res.set('Clear-Site-Data', '"cache", "storage"');
    res.redirect(303, '/login?notice=signedout');
  });

  // S34: signing out changes state, so only a POST with a CSRF token does it.
  router.all('/logout', (req, res) => {
    res.set('Allow', 'POST');
    renderMessage(req, res, 405, {
      title: 'Use the sign-out button',
      text: 'Signing out works only through the sign-out button, so other sites cannot sign you out.',
      link: { href: '/dashboard', label: 'Back to your dashboard' },
    });
  });

  return router;
}
