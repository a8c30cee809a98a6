/**
 * coatcheck's engine used directly from node:http, with no framework: `load`, the route, `commit`,
 * then `cookieHeaders`, in that order (the commit lands before any byte of the response).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createSessionEngine, type SessionEngine } from 'coatcheck';
import type { SessionState } from '../../packages/coatcheck/src/core/lifecycle/state.js';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';
import { announce, bodies, sessionVariants, statsRoute, userFromUrl } from './common.js';

type Route = (engine: SessionEngine, state: SessionState, url: string) => Promise<[number, string]>;

const me: Route = async (_engine, state) => {
  const userId = state.record?.userId;
  return userId ? [200, bodies.me(userId)] : [401, bodies.unauthorized];
};

const routes: Record<string, Route> = {
  'GET /me': me,
  'GET /renew/me': me,
  'GET /renew-check/me': me,
  'GET /public': async () => [200, bodies.ok],
  'POST /login': async (engine, state, url) => {
    await engine.login(state, userFromUrl(url));
    return [200, bodies.ok];
  },
  'POST /write': async (_engine, state) => {
    state.data.n = (typeof state.data.n === 'number' ? state.data.n : 0) + 1;
    return [200, bodies.ok];
  },
  'POST /logout': async (engine, state) => {
    await engine.logout(state);
    return [200, bodies.ok];
  },
};

/** Serves the benchmark routes with the bare engine on `store`. */
export function serveCoatcheckCore(store: SessionStore, close: () => Promise<void>): void {
  const variants = sessionVariants(store);
  const { counter } = variants;
  const main = createSessionEngine(variants.main);
  const renew = createSessionEngine(variants.renew);
  const check = createSessionEngine(variants.check);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    if (path === '/__stats') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(statsRoute(counter, req.method));
      return;
    }
    const route = routes[`${req.method} ${path}`];
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    const engine = path.startsWith('/renew-check/') ? check : path.startsWith('/renew/') ? renew : main;
    const state = await engine.load({
      cookieHeader: req.headers.cookie,
      secure: false,
      ip: req.socket.remoteAddress,
      userAgent: req.headers['user-agent'],
    });
    // S44: an address that sent too many invalid cookies is refused, as the Express adapter does.
    const [status, body] = state.throttled ? [429, bodies.unauthorized] : await route(engine, state, url);
    await engine.commit(state);
    const cookies = engine.cookieHeaders(state);
    if (cookies.length > 0) {
      res.setHeader('set-cookie', cookies);
      res.setHeader('cache-control', 'no-store');
    }
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(body);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('Service Unavailable');
    });
  });
  announce(server, close);
}
