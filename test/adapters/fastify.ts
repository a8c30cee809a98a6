import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyRequest } from 'fastify';
import {
  csrfProtection,
  requireAuth,
  requireFreshAuth,
  requireRole,
  requireStepUp,
  session,
} from '../../packages/coatcheck/src/fastify/index.js';
import type {
  AdapterSetup,
  AdapterUnderTest,
  RunningAdapter,
} from '../../packages/coatcheck/src/testing/index.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The session's data: its own enumerable keys but the cookie, as @fastify/session stores it. */
function dataOf(request: FastifyRequest): Record<string, unknown> {
  const { cookie: _cookie, ...data } = { ...request.session } as Record<string, unknown>;
  return data;
}

function write(request: FastifyRequest): void {
  for (const [key, value] of Object.entries(request.body as Record<string, unknown>)) {
    request.session.set(key, value);
  }
}

/** The adapter behaviour contract on Fastify 5 with coatcheck's plugin. */
export const fastifyAdapter: AdapterUnderTest = { start: startFastify };

async function startFastify({ store, options }: AdapterSetup): Promise<RunningAdapter> {
  const { csrfOrigins, ...sessionOptions } = options;
  const app = Fastify({ logger: false });
  await app.register(session, { ...sessionOptions, store });
  const csrfCheck = csrfProtection({ origins: csrfOrigins });

  app.get('/me', { preHandler: requireAuth() }, async (request) => ({
    userId: request.session.meta?.userId,
    data: dataOf(request),
  }));
  app.get('/peek', async (request) => {
    const meta = request.session.meta;
    return { userId: meta?.userId ?? null, handle: meta?.handle ?? null, data: dataOf(request) };
  });
  app.post('/set', async (request) => {
    write(request);
    return { data: dataOf(request) };
  });
  app.post('/slow', async (request) => {
    await sleep(Number((request.query as { ms?: string }).ms ?? 0));
    write(request);
    return { data: dataOf(request) };
  });
  app.post('/login', async (request) => {
    const { userId } = request.body as { userId: string };
    await request.session.login(userId);
    return { userId };
  });
  app.post('/logout', async (request) => {
    await request.session.logout();
    return {};
  });
  app.post('/logout-all', { preHandler: requireAuth() }, async (request) => ({
    count: await request.session.logoutEverywhere(),
  }));
  app.get('/sessions', { preHandler: requireAuth() }, async (request) => request.session.listSessions());
  app.delete('/sessions/:handle', { preHandler: requireAuth() }, async (request) => ({
    revoked: await request.session.revokeSession((request.params as { handle: string }).handle),
  }));
  app.post('/regenerate', async (request) => {
    await request.session.regenerate({ keep: true });
    return {};
  });
  app.post('/step-up', { preHandler: requireAuth() }, async (request) => {
    await request.session.stepUp(2);
    return {};
  });
  app.get('/fresh', { preHandler: requireFreshAuth({ maxAgeMs: 60_000 }) }, async () => ({}));
  app.get('/stepped-up', { preHandler: requireStepUp({ level: 2, maxAgeMs: 60_000 }) }, async () => ({}));
  app.get('/admin', { preHandler: requireRole('admin') }, async () => ({}));
  app.get('/csrf', { preValidation: csrfCheck }, async (request) => ({ token: request.csrfToken() }));
  app.post('/csrf-protected', { preValidation: csrfCheck }, async () => ({}));
  app.setErrorHandler((error: { status?: number; statusCode?: number }, _request, reply) =>
    reply.code(error.status ?? error.statusCode ?? 500).send({ error: 'error' }),
  );

  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    close: () => app.close(),
  };
}
