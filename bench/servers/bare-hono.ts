/** Baseline: Hono 4 on @hono/node-server with no session middleware, answering the same routes with the same bodies. */
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { announce, bodies, JSON_TYPE } from './common.js';

const app = new Hono();
app.get('/__stats', (c) => c.body('{}', 200, JSON_TYPE));
for (const path of ['/me', '/renew/me', '/renew-check/me']) {
  app.get(path, (c) => c.body(bodies.me('bench'), 200, JSON_TYPE));
}
app.get('/public', (c) => c.body(bodies.ok, 200, JSON_TYPE));
app.post('/login', (c) => c.body(bodies.ok, 200, JSON_TYPE));
app.post('/write', (c) => c.body(bodies.ok, 200, JSON_TYPE));
app.post('/logout', (c) => c.body(bodies.ok, 200, JSON_TYPE));
announce(createAdaptorServer({ fetch: app.fetch }) as Server);
