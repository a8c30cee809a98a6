import { type Request, Router } from 'express';
import type { AppContext } from '../context.js';
import { confirmCurrentPassword } from '../current-password.js';
import { signedInUser } from '../current-user.js';
import { freshAuth, signedIn } from '../guards.js';
import { changePassword, listDevices, listRememberedDevices } from '../operations.js';
import { describeWait, retryAfterSeconds } from '../respond.js';
import { sessionOf, setFlash } from '../session-data.js';
import { checkNewPassword, checkPasswordPresent, safeReturnTo, stringField } from '../validate.js';
import { renderPage } from '../views.js';

/** Security notifications listed on the dashboard, newest first. */
const NOTIFICATIONS_SHOWN = 20;

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/**
 * Dashboard (with security activity), devices, re-authentication and password change: pages of a
 * signed-in user.
 */
export function accountPages(ctx: AppContext): Router {
  const router = Router();
  const page = signedIn('page');
  const fresh = (returnTo?: string) => freshAuth('page', ctx.config.freshAuthMs, returnTo, ctx.now);

  router.get('/dashboard', page, async (req, res) => {
    const meta = sessionOf(req).meta!;
    const [devices, notifications] = await Promise.all([
      listDevices(req),
      ctx.notifications.list(signedInUser(req).id, NOTIFICATIONS_SHOWN),
    ]);
    renderPage(req, res, 'dashboard', {
      title: 'Dashboard',
      meta,
      deviceCount: devices.length,
      idleTimeoutMs: ctx.config.idleTimeoutMs,
      notifications,
    });
  });

  router.post('/notifications/read', page, async (req, res) => {
    await ctx.notifications.markRead(signedInUser(req).id, ctx.now());
    res.redirect(303, '/dashboard#security-activity');
  });

  router.post('/notifications/:id/read', page, async (req, res) => {
    await ctx.notifications.markRead(signedInUser(req).id, ctx.now(), String(req.params.id));
    res.redirect(303, '/dashboard#security-activity');
  });

  const devicesPage = async (req: Request) => ({
    title: 'Your devices',
    devices: await listDevices(req),
    remembered: await listRememberedDevices(req),
  });

  router.get('/devices', page, async (req, res) => {
    renderPage(req, res, 'devices', await devicesPage(req));
  });

  router.post('/devices/remembered/:id/forget', page, fresh('/devices'), async (req, res) => {
    const id = String(req.params.id);
    if (!(await sessionOf(req).revokeRememberedDevice(id))) {
      const error = 'That device is no longer remembered.';
      return renderPage(req, res, 'devices', { ...(await devicesPage(req)), error }, { status: 404 });
    }
    // Forgetting this browser's own device signs it out here too.
    if (!sessionOf(req).meta) return res.redirect(303, '/login?notice=signedout');
    setFlash(req, 'The device is no longer kept signed in, and its sessions were signed out.');
    res.redirect(303, '/devices');
  });

  router.post('/devices/revoke-others', page, fresh('/devices'), async (req, res) => {
    const count = await sessionOf(req).logoutEverywhere();
    setFlash(
      req,
      count === 0 ? 'No other device was signed in.' : `Signed out ${plural(count, 'other device')}.`,
    );
    res.redirect(303, '/devices');
  });

  router.post('/devices/:handle/revoke', page, fresh('/devices'), async (req, res) => {
    const handle = String(req.params.handle);
    const current = sessionOf(req).meta?.handle === handle;
    if (!(await sessionOf(req).revokeSession(handle))) {
      return renderPage(
        req,
        res,
        'devices',
        { ...(await devicesPage(req)), error: 'That device is no longer signed in.' },
        { status: 404 },
      );
    }
    if (current) return res.redirect(303, '/login?notice=signedout');
    setFlash(req, 'The device was signed out.');
    res.redirect(303, '/devices');
  });

  router.get('/reauth', page, (req, res) => {
    renderPage(req, res, 'reauth', {
      title: 'Confirm your password',
      returnTo: safeReturnTo(req.query.returnTo),
    });
  });

  router.post('/reauth', page, async (req, res) => {
    const returnTo = safeReturnTo(stringField(req.body, 'returnTo'));
    const form = (status: number, error: string) =>
      renderPage(req, res, 'reauth', { title: 'Confirm your password', returnTo, error }, { status });
    const password = checkPasswordPresent(stringField(req.body, 'password'));
    if (!password.ok) return form(400, password.message);
    const result = await ctx.accounts.confirmPassword({
      user: signedInUser(req),
      password: password.value,
      ip: req.ip ?? '',
    });
    if (!result.ok && result.reason === 'throttled') {
      res.set('Retry-After', String(retryAfterSeconds(result.retryAfterMs)));
      return form(429, `Too many failed attempts. Try again in ${describeWait(result.retryAfterMs)}.`);
    }
    if (!result.ok) return form(401, 'That password is incorrect.');
    await sessionOf(req).reauthenticate();
    res.redirect(303, returnTo);
  });

  router.get('/account/password', page, fresh(), (req, res) => {
    renderPage(req, res, 'password', { title: 'Change your password' });
  });

  router.post('/account/password', page, fresh('/account/password'), async (req, res) => {
    const password = checkNewPassword(stringField(req.body, 'password'), stringField(req.body, 'confirm'));
    if (!password.ok) {
      return renderPage(
        req,
        res,
        'password',
        { title: 'Change your password', error: password.message },
        { status: 400 },
      );
    }
    const current = await confirmCurrentPassword(ctx, req, res, stringField(req.body, 'current'));
    if (!current.ok) {
      return renderPage(
        req,
        res,
        'password',
        { title: 'Change your password', error: current.message },
        { status: current.status },
      );
    }
    const signedOut = await changePassword(ctx, req, signedInUser(req), password.value);
    setFlash(
      req,
      `Your password was changed.${signedOut > 0 ? ` ${plural(signedOut, 'other device')} signed out.` : ''}`,
    );
    res.redirect(303, '/dashboard');
  });

  return router;
}
