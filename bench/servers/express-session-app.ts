/**
 * express-session on Express 5, configured as its README recommends (`resave: false`,
 * `saveUninitialized: false`), answering the benchmark routes. It has no renewal interval: the
 * `/renew` routes behave as every read does (a store touch per request).
 */
import { createServer } from 'node:http';
import express, { type Request, type RequestHandler, type Response } from 'express';
import session from 'express-session';
import { announce, bodies, SECRET, userFromUrl } from './common.js';

interface LegacySession {
  userId?: string;
  n?: number;
  regenerate(callback: (error?: unknown) => void): void;
  destroy(callback: (error?: unknown) => void): void;
}

const sessionOf = (req: Request) => req.session as unknown as LegacySession;

function me(req: Request, res: Response): void {
  const userId = sessionOf(req).userId;
  if (!userId) res.status(401).type('json').send(bodies.unauthorized);
  else res.type('json').send(bodies.me(userId));
}

/** Serves the benchmark routes with express-session on `store` (its MemoryStore when undefined). */
export function serveExpressSession(store: object | undefined, close: () => Promise<void>): void {
  const app = express();
  app.set('etag', false);
  app.get('/__stats', (_req, res) => void res.type('json').send('{}'));
  app.use(
    session({
      secret: SECRET,
      resave: false,
      saveUninitialized: false,
      ...(store ? { store } : {}),
    }) as RequestHandler,
  );
  app.get(['/me', '/renew/me', '/renew-check/me'], me);
  app.get('/public', (_req, res) => void res.type('json').send(bodies.ok));
  app.post('/login', (req, res, next) => {
    const user = userFromUrl(req.url);
    sessionOf(req).regenerate((error) => {
      if (error) return next(error);
      sessionOf(req).userId = user;
      res.type('json').send(bodies.ok);
    });
  });
  app.post('/write', (req, res) => {
    const current = sessionOf(req);
    current.n = (current.n ?? 0) + 1;
    res.type('json').send(bodies.ok);
  });
  app.post('/logout', (req, res, next) => {
    sessionOf(req).destroy((error) => (error ? next(error) : res.type('json').send(bodies.ok)));
  });
  announce(createServer(app), close);
}
