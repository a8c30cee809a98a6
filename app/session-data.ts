import type { TypedSession } from 'coatcheck/express';
import type { Request } from 'express';

declare module 'coatcheck/express' {
  interface SessionData {
    /** A one-time notice shown on the next page (after a redirect). */
    flash: string;
    /** Set after a credential change: the next account page offers to end the other sessions (ASVS 7.4.3). */
    offerEndOthers: boolean;
  }
}

/**
 * `req.session` typed with the app's data. A cast, because in this repository the library's
 * sources and its built declarations both describe `Express.Request.session`.
 */
export function sessionOf(req: Request): TypedSession {
  return req.session as unknown as TypedSession;
}

/** Keeps a notice for the next page this browser loads. */
export function setFlash(req: Request, message: string): void {
  sessionOf(req).flash = message;
}

/** The pending notice, removed once read. */
export function takeFlash(req: Request): string | null {
  const session = sessionOf(req);
  const message = typeof session.flash === 'string' ? session.flash : null;
  if (message !== null) delete session.flash;
  return message;
}

/**
 * ASVS 7.4.3: after a credential change (two-step sign-in turned on or off) the user is offered to
 * end their other sessions. Marks the offer for the next account page.
 */
export function offerEndOthers(req: Request): void {
  sessionOf(req).offerEndOthers = true;
}

/** Whether an offer to end the other sessions is pending; removed once read. */
export function takeEndOthersOffer(req: Request): boolean {
  const session = sessionOf(req);
  const pending = session.offerEndOthers === true;
  if (pending) delete session.offerEndOthers;
  return pending;
}
