import type { Context, MiddlewareHandler } from 'hono';
import {
  createDeviceBoundSessions,
  type DeviceBoundSessionOptions,
  type DeviceBoundSessions,
} from '../core/dbsc/index.js';
import type { HonoSessionMiddleware } from './middleware.js';
import { isSecure, nodeAddress } from './middleware.js';
import { bindingOf, HonoSession } from './session.js';

/** Options of the Hono DBSC routes: the protocol's, plus how the request is read. */
export interface HonoDbscOptions extends DeviceBoundSessionOptions {
  /** Trust `X-Forwarded-Proto`, as the session middleware's `proxy`. @default false */
  proxy?: boolean;
  /** The client's address. @default the Node socket's address under @hono/node-server */
  ipOf?: (c: Context) => string | undefined;
}

/** The DBSC routes as Hono middleware, with the registration offer. */
export interface HonoDeviceBoundSessions extends MiddlewareHandler {
  /** Sets `Secure-Session-Registration` after a login; false when there is nothing to offer. */
  offer(c: Context): boolean;
  /** The framework-free DBSC protocol these routes run (options, offer, registration, refresh). */
  readonly protocol: DeviceBoundSessions;
}

/**
 * Device Bound Session Credentials for Hono: answers the registration and refresh POSTs. Mount it
 * before the session and CSRF middleware (the browser sends no CSRF token; the Origin /
 * Sec-Fetch-Site policy of `origins` applies here instead).
 *
 * @throws SessionConfigError naming a bad option.
 * @example
 * const sessions = session({ secret, store });
 * const dbsc = deviceBoundSessions(sessions, { origins: ['https://app.test'] });
 * app.use(dbsc, sessions, csrf());
 */
export function deviceBoundSessions(
  middleware: HonoSessionMiddleware,
  options: HonoDbscOptions = {},
): HonoDeviceBoundSessions {
  const { proxy = false, ipOf = nodeAddress, ...protocolOptions } = options;
  const protocol = createDeviceBoundSessions(middleware.engine, protocolOptions);
  const handler: MiddlewareHandler = async (c, next) => {
    const answer = await protocol.handle({
      method: c.req.method,
      path: c.req.path,
      header: (name) => c.req.header(name),
      secure: isSecure(c, proxy),
      ip: ipOf(c),
      request: c,
    });
    if (!answer) return next();
    const headers = new Headers();
    for (const [name, value] of answer.headers) headers.append(name, value);
    return new Response(answer.body, { status: answer.status, headers });
  };
  return Object.assign(handler, {
    protocol,
    offer(c: Context) {
      const session: unknown = c.get('session');
      if (!(session instanceof HonoSession)) return false;
      const value = protocol.offer(bindingOf(session).state);
      if (value) c.header('Secure-Session-Registration', value);
      return value !== null;
    },
  });
}
