import type { SessionStore } from '../core/store/store.js';
import type { ScenarioContext } from './adapter-scenarios.js';
import type { AdapterSessionOptions } from './adapter-suite.js';

/** The cookie name every adapter under test is given. */
export const COOKIE_NAME = 'sid';

/** A response as the scenarios read it. */
export interface Answer {
  status: number;
  headers: Headers;
  setCookies: string[];
  body: unknown;
}

/**
 * A browser-like client: keeps the session cookie by exact name, sends it back, never follows
 * redirects. `cookie` may be replaced to replay an old token or send a hostile header.
 */
export class BrowserClient {
  /** The Cookie header sent, or null for none. */
  cookie: string | null = null;
  constructor(readonly base: string) {}

  /** The session cookie's current value, or null. */
  get token(): string | null {
    const match = /(?:^|;\s*)sid=([^;]*)/.exec(this.cookie ?? '');
    return match?.[1] ?? null;
  }

  /** The handle a token names (`handle.secret.mac`), or null. */
  get handle(): string | null {
    const token = this.token;
    if (!token) return null;
    const mac = token.lastIndexOf('.');
    const secret = token.lastIndexOf('.', mac - 1);
    return secret > 0 ? token.slice(0, secret) : null;
  }

  async request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    const sent: Record<string, string> = { ...headers };
    if (this.cookie !== null && !('cookie' in sent)) sent.cookie = this.cookie;
    if (body !== undefined) sent['content-type'] ??= 'application/json';
    const res = await fetch(this.base + path, {
      method,
      headers: sent,
      redirect: 'manual',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const setCookies = res.headers.getSetCookie();
    for (const line of setCookies) {
      const pair = line.split(';')[0] ?? '';
      const eq = pair.indexOf('=');
      if (pair.slice(0, eq).trim() !== COOKIE_NAME) continue;
      const value = pair.slice(eq + 1).trim();
      const cleared = value === '' || /;\s*max-age=0\s*(;|$)/i.test(line);
      this.cookie = cleared ? null : `${COOKIE_NAME}=${value}`;
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: res.status, headers: res.headers, setCookies, body: parsed } satisfies Answer;
  }

  get(path: string, headers?: Record<string, string>): Promise<Answer> {
    return this.request('GET', path, undefined, headers);
  }

  post(path: string, body: unknown = {}, headers?: Record<string, string>): Promise<Answer> {
    return this.request('POST', path, body, headers);
  }

  delete(path: string): Promise<Answer> {
    return this.request('DELETE', path);
  }

  /** A second client holding the same cookie (another tab, or a stolen token). */
  copy(): BrowserClient {
    const other = new BrowserClient(this.base);
    other.cookie = this.cookie;
    return other;
  }
}

/**
 * The store an adapter is given: the real one, with a switch that makes every call throw, and a
 * count of the records created.
 */
export interface ObservedStore extends SessionStore {
  /** Every call throws. */
  failing: boolean;
  /** Only calls of these methods throw (a store that fails mid-request). */
  failingMethods: readonly string[];
  created: number;
}

/** Wraps `inner` so scenarios can break it and count writes; `close` is left to the suite. */
export function observe(inner: SessionStore): ObservedStore {
  const wrapped = {
    failing: false,
    failingMethods: [],
    created: 0,
    capabilities: inner.capabilities,
    close: async () => {},
  } as unknown as ObservedStore;
  const methods = [
    'get',
    'create',
    'update',
    'replace',
    'destroy',
    'listByUser',
    'destroyByUser',
    'pruneExpired',
    // Optional in the contract: wrapped only where the store has it, so the engine takes the same path.
    ...(typeof inner.renew === 'function' ? ['renew'] : []),
  ];
  for (const name of methods) {
    const method = (inner as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[name]!;
    (wrapped as unknown as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      if (wrapped.failing || wrapped.failingMethods.includes(name))
        throw new Error('store unavailable (adapter suite)');
      const result = await method.apply(inner, args);
      if (name === 'create' && result === true) wrapped.created++;
      return result;
    };
  }
  return wrapped;
}

/** A controllable clock, in ms since the epoch. */
export class SuiteClock {
  at = Date.now();
  now = () => this.at;
  advance(ms: number): void {
    this.at += ms;
  }
}

/** The secret every adapter under test is given. */
export const SUITE_SECRET = 'adapter-suite-secret-that-is-long-enough-0123';
/** The origin the adapters' CSRF checks accept. */
export const SUITE_ORIGIN = 'http://app.test';

/** One scenario's running app, with its clock and store. */
export interface OpenApp {
  clock: SuiteClock;
  store: ObservedStore;
  status: { storeFailure: number };
  client(cookie?: string | null): BrowserClient;
}

/** A fresh user id: the suite's store is shared by every scenario. */
export function newUser(prefix = 'user'): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}

/** Starts the adapter with the suite's options (and `overrides`), runs `body`, always closes it. */
export async function withApp(
  context: ScenarioContext,
  overrides: Partial<AdapterSessionOptions>,
  body: (app: OpenApp) => Promise<void>,
): Promise<void> {
  const clock = new SuiteClock();
  const store = observe(await context.store());
  const options: AdapterSessionOptions = {
    name: COOKIE_NAME,
    secret: SUITE_SECRET,
    now: clock.now,
    warn: () => {},
    csrfOrigins: [SUITE_ORIGIN],
    guessLimit: false,
    ...overrides,
  };
  const running = await context.adapter.start({ store, options });
  try {
    await body({
      clock,
      store,
      status: { storeFailure: context.adapter.storeFailureStatus ?? 503 },
      client: (cookie = null) => {
        const client = new BrowserClient(running.url);
        client.cookie = cookie;
        return client;
      },
    });
  } finally {
    await running.close();
  }
}
