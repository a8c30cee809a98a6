import type { TypedSession } from 'coatcheck/express';
import type { Request } from 'express';

declare module 'coatcheck/express' {
  interface SessionData {
    /** A one-time notice shown on the next page (after a redirect). */
    flash: string;
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
