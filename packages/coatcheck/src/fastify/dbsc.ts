import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  createDeviceBoundSessions,
  type DeviceBoundSessionOptions,
  type DeviceBoundSessions,
} from '../core/dbsc/index.js';
import { SessionStateError } from '../core/errors.js';
import { contextOf } from './plugin.js';

/** The DBSC routes registered on a Fastify instance, with the registration offer. */
export interface FastifyDeviceBoundSessions {
  /** Sets `Secure-Session-Registration` after a login; false when there is nothing to offer. */
  offer(request: FastifyRequest, reply: FastifyReply): boolean;
  /** The framework-free DBSC protocol these routes run (options, offer, registration, refresh). */
  readonly protocol: DeviceBoundSessions;
}

/**
 * Device Bound Session Credentials for Fastify: registers the registration and refresh POST routes
 * on an instance that has the session plugin. They answer in their own `onRequest` hook, so the
 * CSRF token hook never sees them (the browser sends no token; the Origin / Sec-Fetch-Site policy
 * of `origins` applies instead).
 *
 * @throws SessionConfigError naming a bad option; SessionStateError without the session plugin.
 * @example
 * await app.register(session, { secret, store });
 * const dbsc = deviceBoundSessions(app, { origins: ['https://app.test'] });
 * app.post('/login', async (request, reply) => { await request.session.login(id); dbsc.offer(request, reply); return 'ok'; });
 */
export function deviceBoundSessions(
  fastify: FastifyInstance,
  options: DeviceBoundSessionOptions = {},
): FastifyDeviceBoundSessions {
  const engine = (fastify as { sessionEngine?: FastifyInstance['sessionEngine'] }).sessionEngine;
  if (!engine) throw new SessionStateError('deviceBoundSessions() needs the session plugin registered first');
  const protocol = createDeviceBoundSessions(engine, options);
  /** The route's own path, not the request URL: a prefix the instance adds changes nothing. */
  const answer = (path: string) => async (request: FastifyRequest, reply: FastifyReply) => {
    const response = await protocol.handle({
      method: request.method,
      path,
      header: (name) => {
        const value = request.headers[name];
        return Array.isArray(value) ? value.join(', ') : value;
      },
      secure: request.protocol === 'https',
      ip: request.ip,
      request,
    });
    if (!response) return reply.callNotFound();
    reply.code(response.status);
    for (const [name, value] of response.headers) reply.header(name, value);
    return reply.send(response.body ?? '');
  };
  for (const url of [protocol.options.registrationPath, protocol.options.refreshPath]) {
    // Answered in the route's onRequest hook, so no preValidation or preHandler hook (CSRF) runs.
    fastify.route({ method: 'POST', url, onRequest: answer(url), handler: answer(url) });
  }
  return {
    protocol,
    offer(request, reply) {
      const state = contextOf(request)?.state;
      const value = state ? protocol.offer(state) : null;
      if (value) reply.header('secure-session-registration', value);
      return value !== null;
    },
  };
}
