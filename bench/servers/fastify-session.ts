/** @fastify/session with its default memory store, on Fastify 5, with its defaults (rolling cookie). */
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import Fastify from 'fastify';
import { announce, bodies, SECRET, userFromUrl } from './common.js';

declare module 'fastify' {
  interface Session {
    userId?: string;
    n?: number;
  }
}

const app = Fastify({ logger: false });
await app.register(fastifyCookie);
await app.register(fastifySession, { secret: SECRET, saveUninitialized: false, cookie: { secure: false } });

const json = { 'content-type': 'application/json; charset=utf-8' };
for (const path of ['/me', '/renew/me', '/renew-check/me']) {
  app.get(path, async (request, reply) => {
    const userId = request.session.get('userId');
    if (!userId) return reply.code(401).headers(json).send(bodies.unauthorized);
    return reply.headers(json).send(bodies.me(userId));
  });
}
app.get('/__stats', async (_request, reply) => reply.headers(json).send('{}'));
app.get('/public', async (_request, reply) => reply.headers(json).send(bodies.ok));
app.post('/login', async (request, reply) => {
  await request.session.regenerate();
  request.session.set('userId', userFromUrl(request.url));
  return reply.headers(json).send(bodies.ok);
});
app.post('/write', async (request, reply) => {
  request.session.set('n', (request.session.get('n') ?? 0) + 1);
  return reply.headers(json).send(bodies.ok);
});
app.post('/logout', async (request, reply) => {
  await request.session.destroy();
  return reply.headers(json).send(bodies.ok);
});
await app.ready();
announce(app.server, () => app.close());
