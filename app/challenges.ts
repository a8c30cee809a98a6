import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { sessionOf } from './session-data.js';
import type { ThrottleCounter } from './throttle/counter.js';

/** A one-time proof request kept in the server-side session that minted it (S41). */
export interface Challenge {
  id: string;
  expiresAt: number;
}

/** Sign-in half done: the password was right, the authenticator code is still due. */
export interface PendingSignIn {
  userId: string;
  challenge: Challenge;
  /** When the password step stops counting; a new sign-in starts over. */
  expiresAt: number;
  returnTo: string;
}

declare module 'coatcheck/express' {
  interface SessionData {
    /** The challenge of the step-up form last served to this session. */
    stepUpChallenge: Challenge;
    /** Set between a right password and the authenticator code of a user with TOTP. */
    pendingSignIn: PendingSignIn;
    /** A TOTP secret being set up, until the user confirms it with a code. */
    totpEnrolment: { secret: string; expiresAt: number };
  }
}

/** How long a served form's challenge, and the password step of a sign-in, stay usable. */
export const CHALLENGE_TTL_MS = 5 * 60_000;

/** A new challenge: 128 random bits, never derived from the session ID. */
export function mintChallenge(now: number): Challenge {
  return { id: randomBytes(16).toString('base64url'), expiresAt: now + CHALLENGE_TTL_MS };
}

/** Whether `given` is this challenge and it has not expired; constant-time on the ID. */
export function isChallengeValid(challenge: Challenge | undefined, given: string, now: number): boolean {
  if (!challenge || typeof challenge.id !== 'string' || now > challenge.expiresAt) return false;
  const expected = Buffer.from(challenge.id);
  const actual = Buffer.from(given);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** How long a challenge's single-use mark outlives the challenge (clock drift between instances). */
const CLAIM_MARGIN_MS = 60_000;

/**
 * Marks `challenge` used in the shared backend: true for the first claim only. Session data alone
 * cannot do this, because parallel requests each load their own copy of the session and each see
 * the challenge unused; the counter's atomic hit serialises them.
 */
export async function claimChallenge(
  counter: ThrottleCounter,
  challenge: Challenge,
  now: number,
): Promise<boolean> {
  const key = `challenge:${createHash('sha256').update(challenge.id).digest('base64url')}`;
  const hit = await counter.hit(key, Math.max(0, challenge.expiresAt - now) + CLAIM_MARGIN_MS);
  return hit.count === 1;
}

/**
 * Takes the step-up challenge out of the session (single use: it is gone whatever the outcome) and
 * says whether `given` matched it and this is its first use. A challenge served to another session
 * is simply not there.
 */
export async function consumeStepUpChallenge(
  counter: ThrottleCounter,
  req: Request,
  { given, now }: { given: string; now: number },
): Promise<boolean> {
  const session = sessionOf(req);
  const challenge = session.stepUpChallenge;
  delete session.stepUpChallenge;
  return (
    challenge !== undefined &&
    isChallengeValid(challenge, given, now) &&
    (await claimChallenge(counter, challenge, now))
  );
}

/** Serves a new step-up challenge, replacing any earlier one of this session. */
export function issueStepUpChallenge(req: Request, now: number): string {
  const challenge = mintChallenge(now);
  sessionOf(req).stepUpChallenge = challenge;
  return challenge.id;
}
