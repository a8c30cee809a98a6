import type { Request, Response } from 'express';
import type { AppContext } from './context.js';
import { signedInUser } from './current-user.js';
import { describeWait, retryAfterSeconds } from './respond.js';
import { checkPasswordPresent } from './validate.js';

/** Why the current password was not accepted, with what to show. */
export type CurrentPasswordRefusal = {
  ok: false;
  status: 400 | 401 | 429;
  error: 'invalid_password' | 'invalid_credentials' | 'too_many_attempts';
  message: string;
};

/**
 * ASVS V2.1.6: changing the password, or enrolling a second factor, needs the current password in
 * the same request, not only a recent sign-in: a session taken over minutes after sign-in cannot
 * lock the owner out. Checked by the same throttled path as sign-in (S42); a throttled answer
 * sets Retry-After on `res`.
 */
export async function confirmCurrentPassword(
  ctx: AppContext,
  req: Request,
  res: Response,
  raw: string,
): Promise<{ ok: true } | CurrentPasswordRefusal> {
  const present = checkPasswordPresent(raw);
  if (!present.ok) {
    return { ok: false, status: 400, error: 'invalid_password', message: 'Enter your current password.' };
  }
  const result = await ctx.accounts.confirmPassword({
    user: signedInUser(req),
    password: present.value,
    ip: req.ip ?? '',
  });
  if (result.ok) return { ok: true };
  if (result.reason === 'throttled') {
    res.set('Retry-After', String(retryAfterSeconds(result.retryAfterMs)));
    return {
      ok: false,
      status: 429,
      error: 'too_many_attempts',
      message: `Too many failed attempts. Try again in ${describeWait(result.retryAfterMs)}.`,
    };
  }
  return {
    ok: false,
    status: 401,
    error: 'invalid_credentials',
    message: 'Your current password is incorrect.',
  };
}
