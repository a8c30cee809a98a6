import type { Request } from 'express';
import {
  type Challenge,
  claimChallenge,
  isChallengeValid,
  mintChallenge,
  type PendingSignIn,
} from './challenges.js';
import { STEP_UP_LEVEL } from './guards.js';
import { sessionOf } from './session-data.js';
import type { ThrottleCounter } from './throttle/counter.js';

/**
 * Remembers, in this pre-session only, that the password of `userId` was right; the authenticator
 * code must follow within CHALLENGE_TTL_MS. Returns the challenge the code form carries.
 */
export async function startPendingSignIn(
  req: Request,
  userId: string,
  returnTo: string,
  now: number,
): Promise<string> {
  // The pre-session now stands for half a sign-in: a new ID (and CSRF secret), so an ID planted or
  // seen before the password was typed cannot finish it with a code (session fixation, S20).
  await sessionOf(req).regenerate({ keep: true });
  const challenge = mintChallenge(now);
  sessionOf(req).pendingSignIn = { userId, challenge, expiresAt: challenge.expiresAt, returnTo };
  return challenge.id;
}

/** The pending sign-in of this session, unless there is none or its password step has expired. */
export function pendingSignInOf(req: Request, now: number): PendingSignIn | null {
  const pending = sessionOf(req).pendingSignIn;
  if (!pending || typeof pending.userId !== 'string' || now > pending.expiresAt) return null;
  return pending;
}

/** A new challenge for the code form of a pending sign-in (each one is good for one submission). */
export function renewPendingChallenge(req: Request, pending: PendingSignIn, now: number): string {
  const challenge: Challenge = { ...mintChallenge(now), expiresAt: pending.expiresAt };
  sessionOf(req).pendingSignIn = { ...pending, challenge };
  return challenge.id;
}

/**
 * Takes the pending sign-in's challenge (single use, in the session and in the shared backend) and
 * says whether `given` is it; the pending sign-in itself stays until it expires or succeeds, so a
 * mistyped code can be corrected.
 */
export async function consumePendingChallenge(
  counter: ThrottleCounter,
  req: Request,
  { pending, given, now }: { pending: PendingSignIn; given: string; now: number },
): Promise<boolean> {
  const valid = isChallengeValid(pending.challenge, given, now);
  sessionOf(req).pendingSignIn = { ...pending, challenge: { id: '', expiresAt: 0 } };
  return valid && (await claimChallenge(counter, pending.challenge, now));
}

/** Ends the pending sign-in (success, or starting over). */
export function clearPendingSignIn(req: Request): void {
  delete sessionOf(req).pendingSignIn;
}

/** Records a completed step-up in the session record: new ID, new CSRF secret, `auth.step_up`. */
export async function completeStepUp(req: Request): Promise<void> {
  await sessionOf(req).stepUp(STEP_UP_LEVEL);
}

/** Signs in with password and authenticator code: the session starts at assurance level 2. */
export async function loginWithSecondFactor(req: Request, userId: string): Promise<void> {
  clearPendingSignIn(req);
  await sessionOf(req).login(userId, { aal: STEP_UP_LEVEL });
}
