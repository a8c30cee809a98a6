/** Baseline: node:http with no session at all, answering the same routes with the same bodies. */
import { createServer } from 'node:http';
import { announce, bodies } from './common.js';

const server = createServer((req, res) => {
  const url = req.url ?? '/';
  const path = url.split('?')[0];
  if (path === '/__stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    return;
  }
  const body =
    path === '/me' || path === '/renew/me' || path === '/renew-check/me' ? bodies.me('bench') : bodies.ok;
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(body);
});
announce(server);
