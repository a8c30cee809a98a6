/**
 * @fastify/session on Fastify 5 with its defaults (rolling cookie), as its README shows it,
 * answering the benchmark routes. It has no renewal interval: the `/renew` routes behave as every
 * read does.
 */
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import Fastify from 'fastify';
import { announce, bodies, JSON_TYPE, SECRET, userFromUrl } from './common.js';

declare module 'fastify' {
  interface Session {
    userId?: string;
    n?: number;
  }
}

/** Serves the benchmark routes with @fastify/session on `store` (its memory store when undefined). */
export async function serveFastifySession(
  store: fastifySession.SessionStore | undefined,
  close: () => Promise<void>,
): Promise<void> {
  const app = Fastify({ logger: false });
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    secret: SECRET,
    saveUninitialized: false,
    cookie: { secure: false },
    ...(store ? { store } : {}),
  });

  for (const path of ['/me', '/renew/me', '/renew-check/me']) {
    app.get(path, async (request, reply) => {
      const userId = request.session.get('userId');
      if (!userId) return reply.code(401).headers(JSON_TYPE).send(bodies.unauthorized);
      return reply.headers(JSON_TYPE).send(bodies.me(userId));
    });
  }
  app.get('/__stats', async (_request, reply) => reply.headers(JSON_TYPE).send('{}'));
  app.get('/public', async (_request, reply) => reply.headers(JSON_TYPE).send(bodies.ok));
  app.post('/login', async (request, reply) => {
    await request.session.regenerate();
    request.session.set('userId', userFromUrl(request.url));
    return reply.headers(JSON_TYPE).send(bodies.ok);
  });
  app.post('/write', async (request, reply) => {
    request.session.set('n', (request.session.get('n') ?? 0) + 1);
    return reply.headers(JSON_TYPE).send(bodies.ok);
  });
  app.post('/logout', async (request, reply) => {
    await request.session.destroy();
    return reply.headers(JSON_TYPE).send(bodies.ok);
  });
  await app.ready();
  announce(app.server, async () => {
    await app.close();
    await close();
  });
}
