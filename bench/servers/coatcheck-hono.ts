/**
 * coatcheck's Hono middleware on a given store, served by @hono/node-server: the routes every
 * benchmark server answers. `/renew` runs a middleware whose renewal is due on every request;
 * `/renew-check` one with a one-second interval whose writes per session are counted.
 */
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { type Env, session } from 'coatcheck/hono';
import { type Context, Hono } from 'hono';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';
import { announce, bodies, JSON_TYPE, sessionVariants, statsRoute, userFromUrl } from './common.js';

type BenchContext = Context<Env>;

function me(c: BenchContext): Response {
  const userId = c.get('session').meta?.userId;
  if (!userId) return c.body(bodies.unauthorized, 401, JSON_TYPE);
  return c.body(bodies.me(userId), 200, JSON_TYPE);
}

const ok = (c: BenchContext) => c.body(bodies.ok, 200, JSON_TYPE);

/** Serves the benchmark routes with coatcheck's Hono middleware on `store`. */
export function serveCoatcheckHono(store: SessionStore, close: () => Promise<void>): void {
  const { counter, main, renew, check } = sessionVariants(store);
  const app = new Hono<Env>();
  const stats = (c: BenchContext) => c.body(statsRoute(counter, c.req.method), 200, JSON_TYPE);
  app.get('/__stats', stats);
  app.post('/__stats', stats);
  app.get('/renew/me', session(renew), me);
  app.get('/renew-check/me', session(check), me);
  const plain = session(main);
  app.get('/me', plain, me);
  app.get('/public', plain, ok);
  app.post('/login', plain, async (c) => {
    await c.get('session').login(userFromUrl(c.req.url));
    return ok(c);
  });
  app.post('/write', plain, (c) => {
    const n = c.get('session').get('n');
    c.get('session').set('n', (typeof n === 'number' ? n : 0) + 1);
    return ok(c);
  });
  app.post('/logout', plain, async (c) => {
    await c.get('session').logout();
    return ok(c);
  });
  announce(createAdaptorServer({ fetch: app.fetch }) as Server, close);
}
