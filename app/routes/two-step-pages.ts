import { type Request, type RequestHandler, type Response, Router } from 'express';
import { consumeStepUpChallenge, issueStepUpChallenge } from '../challenges.js';
import type { AppContext } from '../context.js';
import { confirmCurrentPassword } from '../current-password.js';
import { signedInUser } from '../current-user.js';
import { freshAuth, signedIn, stepUp } from '../guards.js';
import { reportStepUpFailure } from '../hardening.js';
import { notifyUser } from '../notify.js';
import { listDevices } from '../operations.js';
import { describeWait, retryAfterSeconds } from '../respond.js';
import { completeStepUp } from '../second-factor.js';
import { offerEndOthers, sessionOf, setFlash, takeEndOthersOffer } from '../session-data.js';
import { createTotpSecret, matchTotpStep, normalizeTotpCode, totpEnrolment } from '../totp.js';
import { safeReturnTo, stringField } from '../validate.js';
import { renderPage } from '../views.js';

/** How long a secret shown on the set-up page waits for its confirming code. */
const ENROLMENT_TTL_MS = 10 * 60_000;

/**
 * Drops a set-up that was abandoned (its secret expired unconfirmed) from the session on the next
 * request, so an unused TOTP secret does not stay in the session store.
 */
export function forgetExpiredEnrolment(ctx: AppContext): RequestHandler {
  return (req, _res, next) => {
    const enrolment = sessionOf(req).totpEnrolment;
    const live = typeof enrolment?.expiresAt === 'number' && ctx.now() <= enrolment.expiresAt;
    if (enrolment && !live) delete sessionOf(req).totpEnrolment;
    next();
  };
}

/** Two-step sign-in: set up and turn off an authenticator app, and the step-up page (S40, S41). */
export function twoStepPages(ctx: AppContext): Router {
  const router = Router();
  const page = signedIn('page');
  const fresh = (returnTo?: string) => freshAuth('page', ctx.config.freshAuthMs, returnTo, ctx.now);

  router.get('/account/two-step', page, async (req, res) => {
    // Counted now: the offer shows only when another session is there to end.
    const others = takeEndOthersOffer(req) ? (await listDevices(req)).filter((d) => !d.current).length : 0;
    renderPage(req, res, 'two-step', {
      title: 'Two-step sign-in',
      enabled: Boolean(signedInUser(req).totpSecret),
      otherSessions: others,
    });
  });

  const setupForm = async (req: Request, res: Response, secret: string, status = 200, error?: string) => {
    const { qrSvg } = await totpEnrolment(secret, signedInUser(req).email);
    renderPage(
      req,
      res,
      'two-step-setup',
      { title: 'Set up an authenticator app', secret, qrSvg, ...(error ? { error } : {}) },
      { status },
    );
  };

  router.get('/account/two-step/setup', page, fresh(), async (req, res) => {
    if (signedInUser(req).totpSecret) {
      delete sessionOf(req).totpEnrolment;
      return res.redirect(303, '/account/two-step');
    }
    // The secret waits in the server-side session until a code proves the app holds it.
    const secret = createTotpSecret();
    sessionOf(req).totpEnrolment = { secret, expiresAt: ctx.now() + ENROLMENT_TTL_MS };
    await setupForm(req, res, secret);
  });

  router.post('/account/two-step/setup', page, fresh('/account/two-step/setup'), async (req, res) => {
    const user = signedInUser(req);
    if (user.totpSecret) {
      delete sessionOf(req).totpEnrolment;
      return res.redirect(303, '/account/two-step');
    }
    const enrolment = sessionOf(req).totpEnrolment;
    const now = ctx.now();
    if (!enrolment || typeof enrolment.secret !== 'string' || now > enrolment.expiresAt) {
      delete sessionOf(req).totpEnrolment;
      setFlash(req, 'That set-up took too long; scan the new code below.');
      return res.redirect(303, '/account/two-step/setup');
    }
    const current = await confirmCurrentPassword(ctx, req, res, stringField(req.body, 'current'));
    if (!current.ok) {
      return setupForm(req, res, enrolment.secret, current.status, current.message);
    }
    const step = matchTotpStep(enrolment.secret, normalizeTotpCode(stringField(req.body, 'code')), now);
    if (step === null) {
      return setupForm(
        req,
        res,
        enrolment.secret,
        400,
        'That code is not right. Enter the code your app shows now.',
      );
    }
    delete sessionOf(req).totpEnrolment;
    await ctx.users.enableTotp(user.id, enrolment.secret, step);
    await notifyUser(ctx, req, user.id, 'totp_enabled');
    // Password (fresh) and a code from the app were both just shown: this session is at level 2.
    await completeStepUp(req);
    offerEndOthers(req);
    setFlash(req, 'Two-step sign-in is on. Signing in now asks for a code from your app.');
    res.redirect(303, '/account/two-step');
  });

  router.post(
    '/account/two-step/disable',
    page,
    // S39: like turning it on, turning it off needs the password again, then a code.
    fresh('/account/two-step'),
    stepUp(ctx, 'page', '/account/two-step'),
    async (req, res) => {
      const user = signedInUser(req);
      if (user.totpSecret) {
        await ctx.users.disableTotp(user.id);
        await notifyUser(ctx, req, user.id, 'totp_disabled');
        offerEndOthers(req);
      }
      setFlash(req, 'Two-step sign-in is off. Signing in needs only your password.');
      res.redirect(303, '/account/two-step');
    },
  );

  router.get('/step-up', page, (req, res) => {
    const returnTo = safeReturnTo(req.query.returnTo);
    if (!signedInUser(req).totpSecret) {
      return renderPage(req, res, 'step-up', {
        title: 'Confirm with your authenticator',
        returnTo,
        enrolled: false,
      });
    }
    const challenge = issueStepUpChallenge(req, ctx.now());
    renderPage(req, res, 'step-up', {
      title: 'Confirm with your authenticator',
      returnTo,
      enrolled: true,
      challenge,
    });
  });

  router.post('/step-up', page, async (req, res) => {
    const user = signedInUser(req);
    const now = ctx.now();
    const returnTo = safeReturnTo(stringField(req.body, 'returnTo'));
    const form = (status: number, error: string) =>
      renderPage(
        req,
        res,
        'step-up',
        {
          title: 'Confirm with your authenticator',
          returnTo,
          enrolled: Boolean(user.totpSecret),
          challenge: issueStepUpChallenge(req, now),
          error,
        },
        { status },
      );
    // S41: a challenge from another session, an old form, or one already used is refused.
    const given = stringField(req.body, 'challenge');
    if (!(await consumeStepUpChallenge(ctx.counter, req, { given, now })) || !user.totpSecret) {
      return form(401, 'This form has expired. Enter the code your app shows now.');
    }
    const result = await ctx.accounts.confirmTotp({
      user,
      code: normalizeTotpCode(stringField(req.body, 'code')),
      ip: req.ip ?? '',
      now,
    });
    if (!result.ok) reportStepUpFailure(ctx, req, result.reason, user.id);
    if (!result.ok && result.reason === 'throttled') {
      res.set('Retry-After', String(retryAfterSeconds(result.retryAfterMs)));
      return form(429, `Too many failed attempts. Try again in ${describeWait(result.retryAfterMs)}.`);
    }
    if (!result.ok) return form(401, 'That code is not right. Enter the code your app shows now.');
    await completeStepUp(req);
    res.redirect(303, returnTo);
  });

  return router;
}
