import express5 from 'express';
import express4 from 'express4';
import type { SessionEvent } from '../../packages/coatcheck/src/core/events.js';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';
import {
  requireAuth,
  requireFreshAuth,
  requireStepUp,
  type SessionOptions,
  session,
} from '../../packages/coatcheck/src/express/index.js';
import { listen, type Running } from './http.js';

declare module '../../packages/coatcheck/src/express/types.js' {
  interface SessionData {
    [key: string]: unknown;
  }
}

export const SECRET = 'test-secret-that-is-long-enough-0123456789';

export class Clock {
  constructor(public at = Date.now()) {}
  now = () => this.at;
  advance(ms: number) {
    this.at += ms;
  }
}

export interface TestApp extends Running {
  events: SessionEvent[];
  clock: Clock;
  store: SessionStore;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The session's data: its own enumerable keys but the cookie, as express-session stores it. */
export function dataOf(session: object): Record<string, unknown> {
  const { cookie: _cookie, ...data } = session as Record<string, unknown>;
  return data;
}

/** What startTestApp takes beside the session options. */
export interface TestAppOptions extends Partial<SessionOptions> {
  express?: 4 | 5;
  /** The clock the session runs on (several instances of one test share one). @default a new Clock */
  clock?: Clock;
  /** Adds the test's own routes, after the session middleware and before the error handler. */
  routes?: (app: express5.Express) => void;
}

/** An Express app exercising the whole session API, on a given store and Express major. */
export async function startTestApp(store: SessionStore, options: TestAppOptions = {}): Promise<TestApp> {
  const events: SessionEvent[] = [];
  const { express: major = 5, clock = new Clock(), routes, ...rest } = options;
  const app = (major === 4 ? express4 : express5)() as unknown as express5.Express;
  const middleware = session({
    secret: SECRET,
    store,
    now: clock.now,
    warn: () => {},
    guessLimit: false,
    ...rest,
  });
  middleware.on((event) => events.push(event));
  app.use(express5.json());
  app.use(middleware);

  app.get('/me', requireAuth(), (req, res) => {
    res.json({ userId: req.session.meta?.userId, handle: req.sessionID, data: dataOf(req.session) });
  });
  app.get('/peek', (req, res) => {
    res.json({ data: dataOf(req.session), meta: req.session.meta, id: req.sessionID });
  });
  app.post('/set', (req, res) => {
    for (const [key, value] of Object.entries(req.body as Record<string, unknown>)) req.session[key] = value;
    res.json({ ok: true });
  });
  app.post('/slow', async (req, res) => {
    await sleep(Number(req.query.ms ?? 100));
    for (const [key, value] of Object.entries(req.body as Record<string, unknown>)) req.session[key] = value;
    res.json({ ok: true });
  });
  app.post('/login', async (req, res) => {
    const { userId, keep, aal } = req.body as { userId: string; keep?: string[]; aal?: number };
    await req.session.login(userId, { ...(keep ? { keep } : {}), ...(aal ? { aal } : {}) });
    res.json({ ok: true, handle: req.sessionID });
  });
  app.post('/login-redirect', async (req, res) => {
    await req.session.login((req.body as { userId: string }).userId);
    res.redirect(303, '/me');
  });
  app.post('/reauth', async (req, res) => {
    await req.session.reauthenticate();
    res.json({ ok: true });
  });
  app.post('/step-up', async (req, res) => {
    await sleep(Number(req.query.ms ?? 0));
    await req.session.stepUp(Number((req.body as { level?: number }).level ?? 2));
    res.json({ ok: true });
  });
  app.post('/transfer', requireStepUp({ maxAgeMs: 300_000 }), (_req, res) => {
    res.json({ ok: true });
  });
  app.post('/regenerate', (req, res, next) => {
    const done = (error?: unknown) => (error ? next(error) : res.json({ ok: true }));
    if (req.query.keep === '1') req.session.regenerate({ keep: true }, done);
    else req.session.regenerate(done);
  });
  app.post('/logout', async (req, res) => {
    await sleep(Number(req.query.ms ?? 0));
    await req.session.logout();
    res.json({ ok: true });
  });
  app.post('/remember', (req, res) => {
    req.session.cookie.maxAge = Number((req.body as { ms: number }).ms);
    res.json({ ok: true });
  });
  app.get('/sessions', requireAuth(), async (req, res) => {
    res.json(await req.session.listSessions());
  });
  app.delete('/sessions/:handle', requireAuth(), async (req, res) => {
    const handle = String(req.params.handle);
    res.status((await req.session.revokeSession(handle)) ? 204 : 404).end();
  });
  app.post('/logout-all', requireAuth(), async (req, res) => {
    const count = await req.session.logoutEverywhere({
      includeCurrent: Boolean((req.body as { includeCurrent?: boolean }).includeCurrent),
    });
    res.json({ count });
  });
  app.post('/account/email', requireFreshAuth({ maxAgeMs: 300_000 }), (_req, res) => {
    res.json({ ok: true });
  });
  routes?.(app);
  app.use(
    (error: { status?: number; code?: string }, _req: unknown, res: express5.Response, _next: unknown) => {
      res.status(error.status ?? 500).json({ error: error.code ?? 'error' });
    },
  );
  const running = await listen(app as never);
  return { ...running, events, clock, store };
}

/** Waits until `count` events of `type` were emitted on `app` (its requests have loaded their session). */
export async function eventsOf(app: TestApp, type: string, count: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (app.events.filter((event) => event.type === type).length >= count) return;
    await sleep(5);
  }
  throw new Error(`expected ${count} ${type} events`);
}
