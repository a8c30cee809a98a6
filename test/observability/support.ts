import express, { type RequestHandler } from 'express';
import type { SessionEvent } from '../../packages/coatcheck/src/core/events.js';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';
import {
  type SessionMiddleware,
  type SessionOptions,
  session,
} from '../../packages/coatcheck/src/express/index.js';
import { Clock, SECRET } from '../support/app.js';
import { listen, type Running } from '../support/http.js';

export interface ObservedApp extends Running {
  sessions: SessionMiddleware;
  events: SessionEvent[];
  clock: Clock;
}

/** An Express app with the calls a real app makes: write data, sign in, sign out, revoke a device. */
export async function startObservedApp(
  store: SessionStore,
  options: Partial<SessionOptions> = {},
  before?: RequestHandler,
): Promise<ObservedApp> {
  const clock = new Clock();
  const events: SessionEvent[] = [];
  const sessions = session({ secret: SECRET, store, now: clock.now, warn: () => {}, ...options });
  sessions.on((event) => events.push(event));
  const app = express();
  app.use(express.json());
  if (before) app.use(before);
  app.use(sessions);
  app.get('/peek', (req, res) => {
    res.json({ id: req.sessionID, userId: req.session.meta?.userId ?? null });
  });
  app.post('/set', (req, res) => {
    req.session.writes = Number(req.session.writes ?? 0) + 1;
    res.json({ ok: true });
  });
  app.post('/login', async (req, res) => {
    await req.session.login(String((req.body as { userId: string }).userId));
    res.json({ handle: req.sessionID });
  });
  app.post('/logout', async (req, res) => {
    await req.session.logout();
    res.json({ ok: true });
  });
  app.delete('/sessions/:handle', async (req, res) => {
    res.status((await req.session.revokeSession(String(req.params.handle))) ? 204 : 404).end();
  });
  app.get('/store-get', (req, res) => {
    // express-session's callback API on req.sessionStore, as Socket.IO recipes call it.
    req.sessionStore.get(req.sessionID, (error: unknown, data: unknown) => {
      res.json({ error: Boolean(error), found: Boolean(data) });
    });
  });
  app.use((error: { status?: number }, _req: unknown, res: express.Response, _next: unknown) => {
    res.status(error.status ?? 500).json({ error: true });
  });
  const running = await listen(app as never);
  return { ...running, sessions, events, clock };
}

/** The value of one sample (`name{labels}`) in a Prometheus text exposition, or null when absent. */
export function sample(text: string, series: string): number | null {
  const line = text.split('\n').find((entry) => entry.startsWith(`${series} `));
  return line === undefined ? null : Number(line.slice(series.length + 1));
}
