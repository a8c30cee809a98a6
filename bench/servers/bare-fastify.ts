/** Baseline: Fastify 5 with no session plugin, answering the same routes with the same bodies. */
import Fastify from 'fastify';
import { announce, bodies, JSON_TYPE } from './common.js';

const app = Fastify({ logger: false });
app.get('/__stats', async (_request, reply) => reply.headers(JSON_TYPE).send('{}'));
for (const path of ['/me', '/renew/me', '/renew-check/me']) {
  app.get(path, async (_request, reply) => reply.headers(JSON_TYPE).send(bodies.me('bench')));
}
app.get('/public', async (_request, reply) => reply.headers(JSON_TYPE).send(bodies.ok));
for (const path of ['/login', '/write', '/logout']) {
  app.post(path, async (_request, reply) => reply.headers(JSON_TYPE).send(bodies.ok));
}
await app.ready();
announce(app.server, () => app.close());
