import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { serveDbsc } from '../../packages/coatcheck/src/core/dbsc/node-http.js';
import {
  createDeviceBoundSessions,
  createSessionEngine,
  type SessionStore,
} from '../../packages/coatcheck/src/core/index.js';
import {
  csrf,
  deviceBoundSessions as expressDbsc,
  session as expressSession,
} from '../../packages/coatcheck/src/express/index.js';
import {
  csrfProtection,
  deviceBoundSessions as fastifyDbsc,
  session as fastifySession,
} from '../../packages/coatcheck/src/fastify/index.js';
import {
  csrfToken,
  type Env,
  csrf as honoCsrf,
  deviceBoundSessions as honoDbsc,
  session as honoSession,
} from '../../packages/coatcheck/src/hono/index.js';
import { SECRET } from '../support/app.js';
import { listen } from '../support/http.js';

/** What every test app serves: login (with the DBSC offer), who am I, logout, sign out everywhere. */
export interface DbscApp {
  url: string;
  close(): Promise<void>;
}

export interface AppOptions {
  store: SessionStore;
  now: () => number;
  rotationIntervalMs?: number;
}

const common = ({ store, now, rotationIntervalMs }: AppOptions) => ({
  secret: SECRET,
  store,
  now,
  warn: () => {},
  ...(rotationIntervalMs ? { rotationIntervalMs } : {}),
});
const DBSC = { cookieLifetimeMs: 60_000 };

export async function expressApp(options: AppOptions): Promise<DbscApp> {
  let origin = '';
  const app = express();
  const sessions = expressSession(common(options));
  const dbsc = expressDbsc(sessions, DBSC);
  app.use(dbsc, sessions, (req, res, next) => csrf({ origins: [origin] })(req, res, next));
  app.get('/csrf', (req, res) => {
    res.json({ token: (req as unknown as { csrfToken(): string }).csrfToken() });
  });
  app.post('/login', async (req, res) => {
    await req.session.login(String(req.query.user ?? 'alice'));
    dbsc.offer(req, res);
    res.json({ ok: true });
  });
  app.get('/me', (req, res) => {
    res.json({ user: req.session.meta?.userId ?? null });
  });
  app.post('/logout', async (req, res) => {
    await req.session.logout();
    res.json({ ok: true });
  });
  app.post('/reauthenticate', async (req, res) => {
    await req.session.reauthenticate();
    res.json({ ok: true });
  });
  app.post('/logout-everywhere', async (req, res) => {
    res.json({ count: await req.session.logoutEverywhere({ includeCurrent: true }) });
  });
  app.get('/devices', async (req, res) => {
    res.json(await req.session.listSessions());
  });
  const running = await listen(app as never);
  origin = running.url;
  return running;
}

export async function fastifyApp(options: AppOptions): Promise<DbscApp> {
  const app = Fastify();
  await app.register(fastifySession, common(options));
  const dbsc = fastifyDbsc(app, DBSC);
  // A CSRF hook on every route: the DBSC routes, which carry no token, must still be answered.
  app.addHook('preValidation', csrfProtection({ origins: ['http://127.0.0.1'] }));
  app.get('/csrf', async (request) => ({ token: request.csrfToken() }));
  app.post('/login', async (request, reply) => {
    await request.session.login('alice');
    dbsc.offer(request, reply);
    return { ok: true };
  });
  app.get('/me', async (request) => ({ user: request.session.meta?.userId ?? null }));
  app.post('/logout', async (request) => {
    await request.session.logout();
    return { ok: true };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

export async function honoApp(options: AppOptions): Promise<DbscApp> {
  const app = new Hono<Env>();
  const sessions = honoSession(common(options));
  const dbsc = honoDbsc(sessions, DBSC);
  app.use(dbsc, sessions, honoCsrf({ origins: ['http://127.0.0.1'] }));
  app.get('/csrf', (c) => c.json({ token: csrfToken(c) }));
  app.post('/login', async (c) => {
    await c.get('session').login('alice');
    dbsc.offer(c);
    return c.json({ ok: true });
  });
  app.get('/me', (c) => c.json({ user: c.get('session').meta?.userId ?? null }));
  app.post('/logout', async (c) => {
    await c.get('session').logout();
    return c.json({ ok: true });
  });
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        (server as unknown as { closeAllConnections(): void }).closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Bare node:http on the engine: the application drives load, commit and the cookie headers itself. */
export async function nodeApp(options: AppOptions): Promise<DbscApp> {
  const engine = createSessionEngine(common(options));
  const dbsc = createDeviceBoundSessions(engine, DBSC);
  return listen((async (
    req: import('node:http').IncomingMessage,
    res: import('node:http').ServerResponse,
  ) => {
    if (await serveDbsc(dbsc, req, res)) return;
    const state = await engine.load({ cookieHeader: req.headers.cookie, secure: false });
    let body: unknown = { ok: true };
    if (req.method === 'POST' && req.url === '/login') {
      await engine.login(state, 'alice');
      const offer = dbsc.offer(state);
      if (offer) res.setHeader('secure-session-registration', offer);
    } else if (req.method === 'POST' && req.url === '/logout') {
      await engine.logout(state);
    } else {
      body = { user: state.record?.userId ?? null };
    }
    await engine.commit(state);
    res.setHeader('set-cookie', engine.cookieHeaders(state));
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  }) as never);
}
