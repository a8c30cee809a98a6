import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import {
  csrf,
  csrfToken,
  type Env,
  requireAuth,
  requireFreshAuth,
  requireRole,
  requireStepUp,
  session,
} from '../../packages/coatcheck/src/hono/index.js';
import type {
  AdapterSetup,
  AdapterUnderTest,
  RunningAdapter,
} from '../../packages/coatcheck/src/testing/index.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The adapter behaviour contract on Hono 4, served by `@hono/node-server`. */
export const honoAdapter: AdapterUnderTest = { start: startHono };

async function startHono({ store, options }: AdapterSetup): Promise<RunningAdapter> {
  const { csrfOrigins, ...sessionOptions } = options;
  const app = new Hono<Env>();
  app.use(session({ ...sessionOptions, store }));
  app.onError((_error, c) => c.json({ error: 'error' }, 500));
  const csrfCheck = csrf({ origins: csrfOrigins });
  const write = async (c: {
    req: { json(): Promise<unknown> };
    get(key: 'session'): Env['Variables']['session'];
  }) => {
    const body = (await c.req.json()) as Record<string, unknown>;
    for (const [key, value] of Object.entries(body)) c.get('session').set(key, value);
  };

  app.get('/me', requireAuth(), (c) => {
    const current = c.get('session');
    return c.json({ userId: current.meta?.userId, data: current.data });
  });
  app.get('/peek', (c) => {
    const current = c.get('session');
    const meta = current.meta;
    return c.json({ userId: meta?.userId ?? null, handle: meta?.handle ?? null, data: current.data });
  });
  app.post('/set', async (c) => {
    await write(c);
    return c.json({ data: c.get('session').data });
  });
  app.post('/slow', async (c) => {
    await sleep(Number(c.req.query('ms') ?? 0));
    await write(c);
    return c.json({ data: c.get('session').data });
  });
  app.post('/login', async (c) => {
    const { userId } = await c.req.json<{ userId: string }>();
    await c.get('session').login(userId);
    return c.json({ userId });
  });
  app.post('/logout', async (c) => {
    await c.get('session').logout();
    return c.json({});
  });
  app.post('/logout-all', requireAuth(), async (c) =>
    c.json({ count: await c.get('session').logoutEverywhere() }),
  );
  app.get('/sessions', requireAuth(), async (c) => c.json(await c.get('session').listSessions()));
  app.delete('/sessions/:handle', requireAuth(), async (c) =>
    c.json({ revoked: await c.get('session').revokeSession(c.req.param('handle')) }),
  );
  app.post('/regenerate', async (c) => {
    await c.get('session').regenerate({ keep: true });
    return c.json({});
  });
  app.post('/step-up', requireAuth(), async (c) => {
    await c.get('session').stepUp(2);
    return c.json({});
  });
  app.get('/fresh', requireFreshAuth({ maxAgeMs: 60_000 }), (c) => c.json({}));
  app.get('/stepped-up', requireStepUp({ level: 2, maxAgeMs: 60_000 }), (c) => c.json({}));
  app.get('/admin', requireRole('admin'), (c) => c.json({}));
  app.get('/csrf', csrfCheck, (c) => c.json({ token: csrfToken(c) }));
  app.post('/csrf-protected', csrfCheck, (c) => c.json({}));

  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
