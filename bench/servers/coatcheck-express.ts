/**
 * coatcheck's Express adapter on a given store: the routes every benchmark server answers. `/renew`
 * runs an engine whose renewal is due on every request; `/renew-check` one with a one-second interval
 * whose writes per session are counted.
 */
import { createServer } from 'node:http';
import { session } from 'coatcheck/express';
import express, { type Request, type RequestHandler, type Response } from 'express';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';
import { announce, bodies, sessionVariants, statsRoute, userFromUrl } from './common.js';

function me(req: Request, res: Response): void {
  const userId = req.session.meta?.userId;
  if (!userId) res.status(401).type('json').send(bodies.unauthorized);
  else res.type('json').send(bodies.me(userId));
}

/** Serves the benchmark routes with coatcheck's Express middleware on `store`. */
export function serveCoatcheckExpress(store: SessionStore, close: () => Promise<void>): void {
  const variants = sessionVariants(store);
  const { counter } = variants;
  const main = session(variants.main);
  const renew = session(variants.renew);
  const check = session(variants.check);

  const app = express();
  app.set('etag', false);
  app.get('/__stats', (req, res) => void res.type('json').send(statsRoute(counter, req.method)));
  app.post('/__stats', (req, res) => void res.type('json').send(statsRoute(counter, req.method)));
  app.get('/renew/me', renew as unknown as RequestHandler, me);
  app.get('/renew-check/me', check as unknown as RequestHandler, me);
  app.use(main as unknown as RequestHandler);
  app.get('/me', me);
  app.get('/public', (_req, res) => void res.type('json').send(bodies.ok));
  app.post('/login', async (req, res) => {
    await req.session.login(userFromUrl(req.url));
    res.type('json').send(bodies.ok);
  });
  app.post('/write', (req, res) => {
    req.session.n = (typeof req.session.n === 'number' ? req.session.n : 0) + 1;
    res.type('json').send(bodies.ok);
  });
  app.post('/logout', async (req, res) => {
    await req.session.logout();
    res.type('json').send(bodies.ok);
  });
  announce(createServer(app), close);
}

declare module '../../packages/coatcheck/src/express/types.js' {
  interface SessionData {
    n: number;
  }
}
