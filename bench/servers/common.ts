/**
 * What every benchmark server shares: the secret, the listening handshake with the harness, a clean
 * exit on SIGTERM (so `--cpu-prof` writes its profile) and the store wrapper that counts renewal
 * writes per session.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SessionPatch } from '../../packages/coatcheck/src/core/store/record.js';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';

/** One secret for every server: at least 32 characters, as @fastify/session requires. */
export const SECRET = 'bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

/**
 * The guess limiter (S44) stays on, so its bookkeeping is paid on every invalid cookie, but with a
 * limit no run reaches: wrk sends everything from one address, which the default (20 invalid
 * cookies a minute) would answer with 429 within milliseconds.
 */
export const GUESS_LIMIT = { max: 1_000_000_000 };

/** Renewal interval of the `/renew-check` routes, whose writes per session are counted. */
export const CHECK_RENEWAL_MS = 1_000;

/** The Content-Type every server answers with. */
export const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' };

/** Response bodies shared by every server, so bytes on the wire match across rows. */
export const bodies = {
  ok: '{"ok":true}',
  unauthorized: '{"error":"unauthorized"}',
  me: (userId: string) => `{"userId":${JSON.stringify(userId)}}`,
};

/** The user a `/login?user=…` request signs in. */
export function userFromUrl(url: string | undefined): string {
  const match = /[?&]user=([A-Za-z0-9_-]{1,64})/.exec(url ?? '');
  return match?.[1] ?? 'anonymous-login';
}

/**
 * Prints `READY <port>` once listening on a free loopback port: the harness waits for that line.
 * SIGTERM and SIGINT end the process through `process.exit`, which lets `--cpu-prof` write.
 */
export function announce(server: Server, close: () => Promise<void> = async () => {}): void {
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    process.stdout.write(`READY ${port}\n`);
  });
  const stop = () => {
    server.closeAllConnections();
    server.close();
    close().then(
      () => process.exit(0),
      () => process.exit(0),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** Counts `update` and `renew` calls per session handle: the renewal writes of the `/renew-check` routes. */
export interface WriteCounter {
  store: SessionStore;
  /** `{ total, sessions, maxPerSession }` since the last reset. */
  snapshot(): { total: number; sessions: number; maxPerSession: number };
  reset(): void;
}

export function countWrites(store: SessionStore): WriteCounter {
  const perHandle = new Map<string, number>();
  const count = (handle: string) => perHandle.set(handle, (perHandle.get(handle) ?? 0) + 1);
  const counted: SessionStore = {
    capabilities: store.capabilities,
    get: (handle) => store.get(handle),
    create: (record) => store.create(record),
    replace: (oldHandle, next, options) => store.replace(oldHandle, next, options),
    destroy: (handle) => store.destroy(handle),
    listByUser: (userId) => store.listByUser(userId),
    destroyByUser: (userId, options) => store.destroyByUser(userId, options),
    pruneExpired: (now) => store.pruneExpired(now),
    close: () => store.close(),
    update(handle: string, patch: SessionPatch) {
      count(handle);
      return store.update(handle, patch);
    },
  };
  const renew = store.renew?.bind(store);
  if (renew) {
    counted.renew = (record, renewal) => {
      count(record.handle);
      return renew(record, renewal);
    };
  }
  return {
    store: counted,
    snapshot() {
      let total = 0;
      let maxPerSession = 0;
      for (const count of perHandle.values()) {
        total += count;
        maxPerSession = Math.max(maxPerSession, count);
      }
      return { total, sessions: perHandle.size, maxPerSession };
    },
    reset: () => perHandle.clear(),
  };
}

/**
 * The three session configurations of every coatcheck server on `store`: `main` for the plain
 * routes, `renew` (renewal due on every request) for `/renew`, and `check` (one-second interval,
 * writes counted by `counter`) for `/renew-check`.
 */
export function sessionVariants(store: SessionStore) {
  const common = { secret: SECRET, warn: () => {}, guessLimit: GUESS_LIMIT };
  const counter = countWrites(store);
  return {
    counter,
    main: { ...common, store },
    renew: { ...common, store, renewalIntervalMs: 1 },
    check: { ...common, store: counter.store, renewalIntervalMs: CHECK_RENEWAL_MS },
  };
}

/** Answers `/__stats` (GET: counters; POST: reset) for servers that count renewal writes. */
export function statsRoute(counter: WriteCounter | null, method: string | undefined): string {
  if (method === 'POST') counter?.reset();
  return JSON.stringify({ pid: process.pid, renewCheck: counter?.snapshot() ?? null });
}

/** Loads a built store module by its path in the repository (only the rows that use it load its driver). */
export async function importOptional<T>(relativeToRepo: string): Promise<T> {
  const url = new URL(`../../${relativeToRepo}`, import.meta.url);
  return (await import(url.href)) as T;
}
