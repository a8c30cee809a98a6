import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import type { Request, Response } from 'express';
import { csrfTokenOf } from './csrf.js';
import { currentUser, unreadCountOf } from './current-user.js';
import { fmt } from './format.js';
import { takeFlash } from './session-data.js';

// autoEscape: every `<%= %>` is HTML-escaped; templates never print raw request data.
const eta = new Eta({
  views: join(dirname(fileURLToPath(import.meta.url)), 'views'),
  autoEscape: true,
  cache: true,
});

/** Extra facts a page template receives beside its own data. */
export interface PageOptions {
  /** The page has a form: it needs a CSRF token even when nobody is signed in (creates the pre-session). */
  form?: boolean;
  status?: number;
}

/**
 * Renders a page inside the layout. Signed-in pages always carry a CSRF token for the sign-out form
 * in the header; anonymous pages only when they hold a form, so a 404 never creates a pre-session.
 */
export function renderPage(
  req: Request,
  res: Response,
  template: string,
  data: Record<string, unknown> & { title: string },
  options: PageOptions = {},
): void {
  const user = currentUser(req);
  const csrfToken = user || options.form ? csrfTokenOf(req) : '';
  const html = eta.render(template, {
    ...data,
    user,
    csrfToken,
    unread: user ? unreadCountOf(req) : 0,
    path: req.path,
    flash: user ? takeFlash(req) : null,
    fmt,
  });
  res.status(options.status ?? 200);
  res.type('html');
  res.send(html);
}

/** A page that only says what happened: errors, 404, 405, 429, 503. */
export function renderMessage(
  req: Request,
  res: Response,
  status: number,
  message: { title: string; text: string; link?: { href: string; label: string } },
): void {
  renderPage(req, res, 'message', { ...message, status }, { status });
}

/** A bare page for when the session store is down: no layout data that would need the session. */
export function renderUnavailable(): string {
  return eta.render('message', {
    title: 'Temporarily unavailable',
    text: 'The service cannot reach its session store right now. Please try again in a moment.',
    status: 503,
    user: null,
    csrfToken: '',
    unread: 0,
    path: '',
    flash: null,
    fmt,
  });
}
