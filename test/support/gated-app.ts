/**
 * An Express app on a given store whose `/gated` requests load their session and then wait for the
 * test to open a gate: several instances of it, one per Redis client, let a test hold requests
 * that have already decided to renew and release them all in the same turn.
 */
import express from 'express';
import type { SessionEvent } from '../../packages/coatcheck/src/core/events.js';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';
import { requireAuth, type SessionOptions, session } from '../../packages/coatcheck/src/express/index.js';
import { type Clock, dataOf, SECRET } from './app.js';
import { listen, type Running } from './http.js';

/**
 * Periodic rotation every 2 minutes with a 30-second grace period, and a renewal due on any request
 * a second after the last: what the rotation races in the Redis tests run under.
 */
export const ROTATION_OPTIONS = {
  idleTimeoutMs: 600_000,
  absoluteTimeoutMs: 3_600_000,
  rotationIntervalMs: 120_000,
  rotationGraceMs: 30_000,
  renewalIntervalMs: 1_000,
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A promise the test opens; every request waiting on it resumes in the same turn. */
export class Gate {
  #open!: () => void;
  #promise = this.#reset();
  waiting = 0;

  #reset(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#open = resolve;
    });
  }

  async wait(): Promise<void> {
    this.waiting++;
    await this.#promise;
  }

  open(): void {
    this.#open();
    this.#promise = this.#reset();
    this.waiting = 0;
  }
}

export interface GatedApp extends Running {
  events: SessionEvent[];
  gate: Gate;
}

/** One app instance on `store`, on the shared `clock`. */
export async function startGatedApp(
  store: SessionStore,
  clock: Clock,
  options: Partial<SessionOptions> = {},
): Promise<GatedApp> {
  const events: SessionEvent[] = [];
  const gate = new Gate();
  const app = express();
  const middleware = session({
    secret: SECRET,
    store,
    now: clock.now,
    warn: () => {},
    guessLimit: false,
    ...options,
  });
  middleware.on((event) => events.push(event));
  app.use(express.json());
  app.use(middleware);
  app.post('/login', async (req, res) => {
    await req.session.login((req.body as { userId: string }).userId);
    res.json({ handle: req.sessionID });
  });
  app.post('/remember', (req, res) => {
    req.session.cookie.maxAge = Number((req.body as { ms: number }).ms);
    res.json({ ok: true });
  });
  app.get('/me', requireAuth(), (req, res) => {
    res.json({ userId: req.session.meta?.userId, handle: req.sessionID, data: dataOf(req.session) });
  });
  app.get('/gated', async (req, res) => {
    await gate.wait();
    res.json({ userId: req.session.meta?.userId ?? null });
  });
  app.post('/set', (req, res) => {
    for (const [key, value] of Object.entries(req.body as Record<string, unknown>)) req.session[key] = value;
    res.json({ ok: true });
  });
  app.post('/logout', async (req, res) => {
    await req.session.logout();
    res.json({ ok: true });
  });
  app.post('/logout-all', requireAuth(), async (req, res) => {
    res.json({ count: await req.session.logoutEverywhere({ includeCurrent: true }) });
  });
  app.use(
    (error: { status?: number; code?: string }, _req: unknown, res: express.Response, _next: unknown) => {
      res.status(error.status ?? 500).json({ error: error.code ?? 'error' });
    },
  );
  const running = await listen(app as never);
  return { ...running, events, gate };
}

/** Waits until `count` events of `type` were emitted on `app` (its requests have loaded their session). */
export async function eventsOf(app: GatedApp, type: string, count: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (app.events.filter((event) => event.type === type).length >= count) return;
    await sleep(5);
  }
  throw new Error(`expected ${count} ${type} events`);
}

/** Waits until `count` requests wait at the app's gate. */
export async function waitingAt(app: GatedApp, count: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (app.gate.waiting >= count) return;
    await sleep(5);
  }
  throw new Error(`expected ${count} requests at the gate`);
}

/** The value of cookie `name` a Set-Cookie list sets (not clears), or undefined. */
export function cookieSet(setCookies: string[], name = 'id'): string | undefined {
  for (const line of setCookies) {
    if (!line.startsWith(`${name}=`)) continue;
    const value = line.split(';')[0]!.slice(name.length + 1);
    if (value !== '' && !/max-age=0(;|$)/i.test(line)) return value;
  }
  return undefined;
}
