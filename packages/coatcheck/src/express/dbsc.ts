import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  createDeviceBoundSessions,
  type DeviceBoundSessionOptions,
  type DeviceBoundSessions,
} from '../core/dbsc/index.js';
import { dbscRequestOf, sendDbscResponse } from '../core/dbsc/node-http.js';
import { bindingOf, Session } from '../session-api/session.js';
import type { SessionMiddleware } from './middleware.js';
import { isSecure } from './options.js';

/** Options of the Express DBSC routes: the protocol's, plus how HTTPS is recognised. */
export interface ExpressDbscOptions extends DeviceBoundSessionOptions {
  /** Trust `X-Forwarded-Proto`, as the session middleware's `proxy`. @default Express's `trust proxy` */
  proxy?: boolean;
}

/** The DBSC routes as Express middleware, with the registration offer. */
export interface ExpressDeviceBoundSessions {
  (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void;
  /**
   * Sets `Secure-Session-Registration` on the response, inviting the browser to bind the signed-in
   * session to a key; false when there is nothing to offer (anonymous or already bound). Call it
   * after `req.session.login()` and before the response is sent.
   */
  offer(req: IncomingMessage & { session?: unknown }, res: ServerResponse): boolean;
  /** The framework-free DBSC protocol these routes run (options, offer, registration, refresh). */
  readonly protocol: DeviceBoundSessions;
}

/**
 * Device Bound Session Credentials for Express: answers the registration and refresh POSTs. Mount
 * it before the session middleware and the CSRF middleware (the browser sends no CSRF token; the
 * Origin / Sec-Fetch-Site policy of `origins` applies here instead).
 *
 * @throws SessionConfigError naming a bad option.
 * @example
 * const sessions = session({ secret, store });
 * const dbsc = deviceBoundSessions(sessions, { origins: ['https://app.test'] });
 * app.use(dbsc, sessions, csrf());
 * app.post('/login', async (req, res) => { await req.session.login(user.id); dbsc.offer(req, res); res.redirect('/'); });
 */
export function deviceBoundSessions(
  middleware: SessionMiddleware,
  options: ExpressDbscOptions = {},
): ExpressDeviceBoundSessions {
  const { proxy, ...protocolOptions } = options;
  const protocol = createDeviceBoundSessions(middleware.engine, protocolOptions);
  const handler = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => {
    const original = (req as { originalUrl?: string }).originalUrl;
    const request = dbscRequestOf(req, {
      secure: isSecure(req, proxy),
      ip: (req as { ip?: string }).ip ?? req.socket.remoteAddress,
      ...(original ? { path: original.split('?', 1)[0] ?? '/' } : {}),
    });
    protocol.handle(request).then((answer) => {
      if (answer) sendDbscResponse(res, answer);
      else next();
    }, next);
  };
  return Object.assign(handler, {
    protocol,
    offer(req: IncomingMessage & { session?: unknown }, res: ServerResponse) {
      if (!(req.session instanceof Session)) return false;
      const value = protocol.offer(bindingOf(req.session).state);
      if (value) res.setHeader('secure-session-registration', value);
      return value !== null;
    },
  });
}
