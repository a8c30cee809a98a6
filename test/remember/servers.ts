/** The same small app on Express, Fastify and Hono, for the remembered-device tests over real HTTP. */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import type { SessionEvent } from '../../packages/coatcheck/src/core/events.js';
import type { SessionEngineOptions } from '../../packages/coatcheck/src/core/options.js';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';
import * as expressAdapter from '../../packages/coatcheck/src/express/index.js';
import * as fastifyAdapter from '../../packages/coatcheck/src/fastify/index.js';
import {
  type Env,
  requireFreshAuth as honoFresh,
  session as honoSession,
} from '../../packages/coatcheck/src/hono/index.js';

export type Framework = 'express' | 'fastify' | 'hono';
export const frameworks: Framework[] = ['express', 'fastify', 'hono'];

export interface RememberApp {
  url: string;
  store: SessionStore;
  events: SessionEvent[];
  clock: { now: number; advance(ms: number): void };
  close(): Promise<void>;
}

type Options = Omit<SessionEngineOptions, 'store' | 'now' | 'secret'>;

/** What each route answers, the same on every framework. */
interface Session {
  meta: { userId: string | null; authMethod: string | null; aal: number; authAt: number | null } | null;
  login(userId: string, options: { remember: boolean }): Promise<void>;
  logout(): Promise<void>;
  reauthenticate(): Promise<unknown>;
  listSessions(): Promise<unknown>;
  revokeSession(handle: string): Promise<boolean>;
  logoutEverywhere(): Promise<number>;
  listRememberedDevices(): Promise<unknown>;
  revokeRememberedDevice(id: string): Promise<boolean>;
}

const me = (s: Session) => ({
  userId: s.meta?.userId ?? null,
  authMethod: s.meta?.authMethod ?? null,
  aal: s.meta?.aal ?? 0,
  fresh: s.meta?.authAt != null,
});

type Route = (s: Session, body: Record<string, unknown>, param: string) => Promise<unknown>;
const routes: Record<string, Route> = {
  'POST /login': async (s, body) => {
    await s.login(String(body.userId), { remember: body.remember === true });
    return me(s);
  },
  'GET /me': async (s) => me(s),
  'POST /logout': async (s) => {
    await s.logout();
    return {};
  },
  'POST /reauth': async (s) => {
    await s.reauthenticate();
    return me(s);
  },
  'POST /logout-all': async (s) => ({ count: await s.logoutEverywhere() }),
  'GET /sessions': async (s) => s.listSessions(),
  'POST /sessions/revoke': async (s, body) => ({ revoked: await s.revokeSession(String(body.handle)) }),
  'GET /devices': async (s) => s.listRememberedDevices(),
  // The application's own data key `meta` (express-session apps have them): `set` where the session
  // has it (Fastify, Hono), assignment on express-session's object.
  'POST /data-meta': async (s, body) => {
    const session = s as unknown as { set?: (key: string, value: unknown) => void; meta: unknown };
    if (typeof session.set === 'function') session.set('meta', body.meta);
    else session.meta = body.meta;
    return {};
  },
  'POST /devices/revoke': async (s, body) => ({ revoked: await s.revokeRememberedDevice(String(body.id)) }),
};

export async function startRememberApp(
  framework: Framework,
  store: SessionStore,
  options: Options = {},
): Promise<RememberApp> {
  const clock = {
    now: Date.now(),
    advance(ms: number) {
      clock.now += ms;
    },
  };
  const events: SessionEvent[] = [];
  const engineOptions = {
    idleTimeoutMs: 60_000,
    absoluteTimeoutMs: 600_000,
    remember: { lifetimeMs: 3_600_000 },
    ...options,
    store,
    secret: 'remember-test-secret-0123456789abcdef',
    now: () => clock.now,
    warn: () => {},
  };
  const start = { express: startExpress, fastify: startFastify, hono: startHono }[framework];
  const running = await start(engineOptions, events);
  return { ...running, store, events, clock };
}

type Started = { url: string; close(): Promise<void> };
type EngineOptions = Options & { store: SessionStore; secret: string; now: () => number; warn: () => void };

async function startExpress(options: EngineOptions, events: SessionEvent[]): Promise<Started> {
  const app = express();
  app.use(express.json());
  const middleware = expressAdapter.session(options);
  middleware.engine.on((event) => events.push(event));
  app.use(middleware);
  app.get('/fresh', expressAdapter.requireFreshAuth({ maxAgeMs: 60_000 }), (_req, res) => {
    res.json({ ok: true });
  });
  for (const [key, route] of Object.entries(routes)) {
    const [method, path] = key.split(' ') as ['GET' | 'POST', string];
    app[method === 'GET' ? 'get' : 'post'](path, (req, res, next) => {
      route(req.session as unknown as Session, (req.body ?? {}) as Record<string, unknown>, '').then(
        (body) => res.json(body),
        next,
      );
    });
  }
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function startFastify(options: EngineOptions, events: SessionEvent[]): Promise<Started> {
  const app = Fastify();
  await app.register(fastifyAdapter.session, options);
  app.sessionEngine.on((event) => events.push(event));
  app.get('/fresh', { preHandler: fastifyAdapter.requireFreshAuth({ maxAgeMs: 60_000 }) }, async () => ({
    ok: true,
  }));
  for (const [key, route] of Object.entries(routes)) {
    const [method, path] = key.split(' ') as ['GET' | 'POST', string];
    app.route({
      method,
      url: path,
      handler: (request) =>
        route(request.session as unknown as Session, (request.body ?? {}) as Record<string, unknown>, ''),
    });
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

async function startHono(options: EngineOptions, events: SessionEvent[]): Promise<Started> {
  const app = new Hono<Env>();
  const middleware = honoSession(options);
  middleware.engine.on((event) => events.push(event));
  app.use(middleware);
  app.get('/fresh', honoFresh({ maxAgeMs: 60_000 }), (c) => c.json({ ok: true }));
  for (const [key, route] of Object.entries(routes)) {
    const [method, path] = key.split(' ') as ['GET' | 'POST', string];
    app.on(method, path, async (c) => {
      const body = method === 'POST' ? ((await c.req.json()) as Record<string, unknown>) : {};
      return c.json((await route(c.get('session') as unknown as Session, body, '')) as object);
    });
  }
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
