/** A Fastify app on coatcheck's plugin with the routes the Fastify tests drive, over inject or HTTP. */
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import type { SessionEvent } from '../../packages/coatcheck/src/core/events.js';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';
import { type FastifySessionOptions, session } from '../../packages/coatcheck/src/fastify/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { Client } from '../support/http.js';

/** Real HTTP on a listening server, or `fastify.inject` with no server at all. */
export type Transport = 'http' | 'inject';

/** The support Client's interface over `fastify.inject`: the same jar and answers, no socket. */
class InjectClient extends Client {
  constructor(
    readonly app: FastifyInstance,
    defaults: Record<string, string> = {},
  ) {
    super('inject:', defaults);
  }

  override async request(path: string, init: RequestInit & { headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...this.defaults, ...init.headers };
    if (this.jar.size && !('cookie' in headers)) headers.cookie = this.cookieHeader;
    const res = await this.app.inject({
      method: (init.method ?? 'GET') as 'GET',
      url: path,
      headers,
      ...(typeof init.body === 'string' ? { payload: init.body } : {}),
    });
    const setCookies = [res.headers['set-cookie'] ?? []].flat().map(String);
    for (const line of setCookies) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const cleared = value === '' || attributes.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (cleared) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    const responseHeaders = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      for (const one of [value ?? []].flat()) responseHeaders.append(name, String(one));
    }
    const text = res.body;
    return {
      status: res.statusCode,
      headers: responseHeaders,
      setCookies,
      text,
      json: () => JSON.parse(text) as unknown,
    };
  }
}

declare module '../../packages/coatcheck/src/fastify/index.js' {
  interface SessionData {
    cart: string[];
    views: number;
    role: string;
  }
}

export interface FastifyTestApp {
  app: FastifyInstance;
  store: SessionStore;
  events: SessionEvent[];
  warnings: string[];
  url: string;
  /** A browser-like client over this app's transport. */
  client(defaults?: Record<string, string>): Client;
  close(): Promise<void>;
}

export const SECRET = 'a-test-secret-of-at-least-thirty-two-characters';

/** Builds the app; `extend` adds routes or plugins before it starts listening. */
export async function startFastifyApp(
  options: Partial<FastifySessionOptions> = {},
  extend?: (app: FastifyInstance) => void | Promise<void>,
  transport: Transport = 'http',
): Promise<FastifyTestApp> {
  const store = options.store ?? new MemoryStore();
  const warnings: string[] = [];
  const app = Fastify({ logger: false });
  await app.register(session, {
    secret: SECRET,
    warn: (message) => warnings.push(message),
    ...options,
    store,
  });
  const events: SessionEvent[] = [];
  app.sessionEngine.on((event) => events.push(event));

  app.get('/peek', async (request) => ({
    data: Object.fromEntries(Object.entries(request.session).filter(([key]) => key !== 'cookie')),
    meta: request.session.meta,
    sessionId: request.session.sessionId,
  }));
  app.post('/set', async (request) => {
    for (const [key, value] of Object.entries(request.body as Record<string, unknown>)) {
      request.session.set(key, value);
    }
    return { ok: true };
  });
  app.post('/login', async (request) => {
    const { userId, role } = request.body as { userId: string; role?: string };
    await request.session.login(userId);
    if (role) request.session.role = role;
    return { ok: true };
  });
  app.post('/login-redirect', async (request, reply) => {
    await request.session.login((request.body as { userId: string }).userId);
    return reply.redirect('/me', 303);
  });
  app.get('/me', async (request, reply) => {
    const userId = request.session.meta?.userId;
    if (!userId) return reply.code(401).send({ error: 'unauthenticated' });
    return { userId };
  });
  app.post('/logout', async (request) => {
    await request.session.logout();
    return { ok: true };
  });
  app.get('/sessions', async (request) => request.session.listSessions());
  app.post('/sessions/revoke', async (request) => ({
    revoked: await request.session.revokeSession((request.body as { handle: string }).handle),
  }));
  app.post('/logout-everywhere', async (request) => ({
    count: await request.session.logoutEverywhere(),
  }));
  if (extend) await extend(app);
  if (transport === 'inject') {
    await app.ready();
    const client = (defaults?: Record<string, string>) => new InjectClient(app, defaults);
    return { app, store, events, warnings, url: 'inject:', client, close: () => app.close() };
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const client = (defaults?: Record<string, string>) => new Client(url, defaults);
  return { app, store, events, warnings, url, client, close: () => app.close() };
}

/** The handle part of a coatcheck cookie value (`handle.secret`). */
export function handleIn(value: string | undefined): string {
  return value?.split('.')[0] ?? '';
}
