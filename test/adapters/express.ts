import type { AddressInfo } from 'node:net';
import express5 from 'express';
import express4 from 'express4';
import {
  csrf,
  requireAuth,
  requireFreshAuth,
  requireRole,
  requireStepUp,
  session,
} from '../../packages/coatcheck/src/express/index.js';
import type {
  AdapterSetup,
  AdapterUnderTest,
  RunningAdapter,
} from '../../packages/coatcheck/src/testing/index.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Handler = (req: express5.Request, res: express5.Response) => Promise<void>;

/** Express 4 leaves a rejected async handler unanswered: the error goes to `next` as Express 5 does. */
const wrap =
  (handler: Handler) => (req: express5.Request, res: express5.Response, next: express5.NextFunction) => {
    handler(req, res).catch(next);
  };

/** The session's data: its own enumerable keys but the cookie, as express-session stores it. */
function dataOf(value: object): Record<string, unknown> {
  const { cookie: _cookie, ...data } = value as Record<string, unknown>;
  return data;
}

/** The adapter behaviour contract on Express (4 through the `express4` alias, or 5). */
export function expressAdapter(major: 4 | 5): AdapterUnderTest {
  return { start: (setup) => startExpress(major, setup) };
}

async function startExpress(major: 4 | 5, { store, options }: AdapterSetup): Promise<RunningAdapter> {
  const { csrfOrigins, ...sessionOptions } = options;
  const app = (major === 4 ? express4 : express5)() as unknown as express5.Express;
  app.use(express5.json());
  app.use(session({ ...sessionOptions, store }));
  const csrfCheck = csrf({ origins: csrfOrigins });
  const write = (req: express5.Request) => {
    for (const [key, value] of Object.entries(req.body as Record<string, unknown>)) req.session[key] = value;
  };

  app.get('/me', requireAuth(), (req, res) => {
    res.json({ userId: req.session.meta?.userId, data: dataOf(req.session) });
  });
  app.get('/peek', (req, res) => {
    const meta = req.session.meta;
    res.json({ userId: meta?.userId ?? null, handle: meta?.handle ?? null, data: dataOf(req.session) });
  });
  app.post('/set', (req, res) => {
    write(req);
    res.json({ data: dataOf(req.session) });
  });
  app.post(
    '/slow',
    wrap(async (req, res) => {
      await sleep(Number(req.query.ms ?? 0));
      write(req);
      res.json({ data: dataOf(req.session) });
    }),
  );
  app.post(
    '/login',
    wrap(async (req, res) => {
      const { userId } = req.body as { userId: string };
      await req.session.login(userId);
      res.json({ userId });
    }),
  );
  app.post(
    '/logout',
    wrap(async (req, res) => {
      await req.session.logout();
      res.json({});
    }),
  );
  app.post(
    '/logout-all',
    requireAuth(),
    wrap(async (req, res) => {
      res.json({ count: await req.session.logoutEverywhere() });
    }),
  );
  app.get(
    '/sessions',
    requireAuth(),
    wrap(async (req, res) => {
      res.json(await req.session.listSessions());
    }),
  );
  app.delete(
    '/sessions/:handle',
    requireAuth(),
    wrap(async (req, res) => {
      res.json({ revoked: await req.session.revokeSession(String(req.params.handle)) });
    }),
  );
  app.post(
    '/regenerate',
    wrap(async (req, res) => {
      await req.session.regenerate({ keep: true });
      res.json({});
    }),
  );
  app.post(
    '/step-up',
    requireAuth(),
    wrap(async (req, res) => {
      await req.session.stepUp(2);
      res.json({});
    }),
  );
  app.get('/fresh', requireFreshAuth({ maxAgeMs: 60_000 }), (_req, res) => {
    res.json({});
  });
  app.get('/stepped-up', requireStepUp({ level: 2, maxAgeMs: 60_000 }), (_req, res) => {
    res.json({});
  });
  app.get('/admin', requireRole('admin'), (_req, res) => {
    res.json({});
  });
  app.get('/csrf', csrfCheck, (req, res) => {
    res.json({ token: req.csrfToken() });
  });
  app.post('/csrf-protected', csrfCheck, (_req, res) => {
    res.json({});
  });
  app.use((error: { status?: number }, _req: unknown, res: express5.Response, _next: unknown) => {
    res.status(error.status ?? 500).json({ error: 'error' });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
