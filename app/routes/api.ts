import { Router } from 'express';
import type { AppContext } from '../context.js';
import { csrfTokenOf } from '../csrf.js';
import { confirmCurrentPassword } from '../current-password.js';
import { currentUser, signedInUser } from '../current-user.js';
import { freshAuth, signedIn } from '../guards.js';
import { limitPreSessions, reportSignInFailure } from '../hardening.js';
import { noticeSignIn } from '../notify.js';
import { changePassword, listDevices } from '../operations.js';
import { apiError, retryAfterSeconds } from '../respond.js';
import { startPendingSignIn } from '../second-factor.js';
import { sessionOf } from '../session-data.js';
import type { User } from '../users/repository.js';
import { checkEmail, checkNewPassword, checkPasswordPresent, stringField } from '../validate.js';

/** What the API shows of a user: never the password hash or the TOTP secret. */
export const publicUser = (user: User) => ({
  id: user.id,
  email: user.email,
  role: user.role,
  twoStep: Boolean(user.totpSecret),
});

/**
 * The JSON API: the same operations as the pages. Writes need `Content-Type: application/json` and
 * the `X-CSRF-Token` header (from `GET /api/session`); failures are `{ error, message }`.
 */
export function api(ctx: AppContext): Router {
  const router = Router();
  const auth = signedIn('api');
  const fresh = freshAuth('api', ctx.config.freshAuthMs, undefined, ctx.now);

  const throttled = (res: Parameters<typeof apiError>[0], retryAfterMs: number) => {
    res.set('Retry-After', String(retryAfterSeconds(retryAfterMs)));
    apiError(res, 429, 'too_many_attempts', 'Too many attempts; retry after the time in Retry-After.');
  };

  router.get('/session', limitPreSessions(ctx), (req, res) => {
    const user = currentUser(req);
    const meta = sessionOf(req).meta;
    res.json({
      authenticated: Boolean(user),
      user: user ? publicUser(user) : null,
      session: user && meta ? meta : null,
      // Also creates the pre-session an anonymous client needs to sign in (S55).
      csrfToken: csrfTokenOf(req),
    });
  });

  router.post('/register', async (req, res) => {
    const email = checkEmail(stringField(req.body, 'email'));
    if (!email.ok) return apiError(res, 400, 'invalid_email', email.message);
    const raw = stringField(req.body, 'password');
    const password = checkNewPassword(raw, raw);
    if (!password.ok) return apiError(res, 400, 'invalid_password', password.message);
    const result = await ctx.accounts.register({
      email: email.value,
      password: password.value,
      ip: req.ip ?? '',
    });
    if (!result.ok) return throttled(res, result.retryAfterMs);
    res.status(202).json({
      message: 'If that address was not registered yet, the account is ready: sign in with its password.',
    });
  });

  router.post('/login', async (req, res) => {
    const email = checkEmail(stringField(req.body, 'email'));
    if (!email.ok) return apiError(res, 400, 'invalid_email', email.message);
    const password = checkPasswordPresent(stringField(req.body, 'password'));
    if (!password.ok) return apiError(res, 400, 'invalid_password', password.message);
    const result = await ctx.accounts.signIn({
      email: email.value,
      password: password.value,
      ip: req.ip ?? '',
    });
    if (!result.ok) reportSignInFailure(ctx, req, result.reason);
    if (!result.ok && result.reason === 'throttled') return throttled(res, result.retryAfterMs);
    if (!result.ok) return apiError(res, 401, 'invalid_credentials', 'The email or password is incorrect.');
    if (result.user.totpSecret) {
      // Not signed in yet: the authenticator code follows (POST /api/login/totp) in this pre-session.
      const challenge = await startPendingSignIn(req, result.user.id, '', ctx.now());
      return res.status(202).json({ secondFactor: 'totp', challenge, csrfToken: csrfTokenOf(req) });
    }
    await sessionOf(req).login(result.user.id);
    ctx.dbsc?.offer(req, res);
    await noticeSignIn(ctx, req, result.user.id);
    res.json({ user: publicUser(result.user), csrfToken: csrfTokenOf(req) });
  });

  router.post('/logout', async (req, res) => {
    await sessionOf(req).logout();
    res.set('Clear-Site-Data', '"cache", "storage"');
    res.status(204).end();
  });
  router.all('/logout', (_req, res) => {
    res.set('Allow', 'POST');
    apiError(res, 405, 'method_not_allowed', 'Sign out with POST.');
  });

  router.post('/reauth', auth, async (req, res) => {
    const password = checkPasswordPresent(stringField(req.body, 'password'));
    if (!password.ok) return apiError(res, 400, 'invalid_password', password.message);
    const result = await ctx.accounts.confirmPassword({
      user: signedInUser(req),
      password: password.value,
      ip: req.ip ?? '',
    });
    if (!result.ok && result.reason === 'throttled') return throttled(res, result.retryAfterMs);
    if (!result.ok) return apiError(res, 401, 'invalid_credentials', 'That password is incorrect.');
    await sessionOf(req).reauthenticate();
    res.json({ authAt: sessionOf(req).meta?.authAt, csrfToken: csrfTokenOf(req) });
  });

  router.get('/devices', auth, async (req, res) => {
    res.json({ devices: await listDevices(req) });
  });

  router.post('/devices/revoke-others', auth, fresh, async (req, res) => {
    res.json({ signedOut: await sessionOf(req).logoutEverywhere() });
  });

  router.delete('/devices/:handle', auth, fresh, async (req, res) => {
    const revoked = await sessionOf(req).revokeSession(String(req.params.handle));
    if (!revoked) return apiError(res, 404, 'not_found', 'No session of yours has that handle.');
    res.status(204).end();
  });

  router.post('/password', auth, fresh, async (req, res) => {
    const raw = stringField(req.body, 'newPassword');
    const password = checkNewPassword(raw, raw);
    if (!password.ok) return apiError(res, 400, 'invalid_password', password.message);
    const current = await confirmCurrentPassword(ctx, req, res, stringField(req.body, 'currentPassword'));
    if (!current.ok) {
      return apiError(res, current.status, current.error, current.message);
    }
    const signedOut = await changePassword(ctx, req, signedInUser(req), password.value);
    res.json({ signedOut, csrfToken: csrfTokenOf(req) });
  });

  return router;
}
