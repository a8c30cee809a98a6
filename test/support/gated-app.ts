/**
 * An Express app on a given store whose `/gated` requests load their session and then wait for the
 * test to open a gate: several instances of it, one per Redis client, let a test hold requests
 * that have already decided to renew and release them all in the same turn.
 */
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';
import type { SessionOptions } from '../../packages/coatcheck/src/express/index.js';
import { type Clock, startTestApp, type TestApp } from './app.js';

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

export interface GatedApp extends TestApp {
  gate: Gate;
}

/** One startTestApp instance on `store` and the shared `clock`, with `/gated` besides its routes. */
export async function startGatedApp(
  store: SessionStore,
  clock: Clock,
  options: Partial<SessionOptions> = {},
): Promise<GatedApp> {
  const gate = new Gate();
  const app = await startTestApp(store, {
    ...options,
    clock,
    routes: (routes) =>
      routes.get('/gated', async (req, res) => {
        await gate.wait();
        res.json({ userId: req.session.meta?.userId ?? null });
      }),
  });
  return { ...app, gate };
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
