/** Baseline: Express 5 with no session middleware, answering the same routes with the same bodies. */
import { createServer } from 'node:http';
import express from 'express';
import { announce, bodies } from './common.js';

const app = express();
app.set('etag', false);
const me: express.RequestHandler = (_req, res) => void res.type('json').send(bodies.me('bench'));
const ok: express.RequestHandler = (_req, res) => void res.type('json').send(bodies.ok);
app.get('/__stats', (_req, res) => void res.type('json').send('{}'));
app.get(['/me', '/renew/me', '/renew-check/me'], me);
app.get('/public', ok);
app.post(['/login', '/write', '/logout'], ok);
announce(createServer(app));
