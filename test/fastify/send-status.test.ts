import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import session from '../../packages/coatcheck/src/fastify/index.js';

// Without a session, Fastify answers 200 'x' here: the throw after send comes too late to change the
// response. The commit makes the first send wait; an error handler's code(500) in the meantime must
// not put a 500 over the body that was already sent.
test('a handler that throws after reply.send keeps the status its body was sent with', async () => {
  const app = Fastify();
  app.setErrorHandler((error, _request, reply) => {
    reply.code(500).send({ error: String(error) });
  });
  await app.register(session, { secret: 'x'.repeat(32), warn: () => {} });
  app.get('/', (request, reply) => {
    request.session.set('count', 1);
    reply.send('x');
    throw new Error('late');
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const { port } = app.server.address() as { port: number };
    const response = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(await response.text(), 'x');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('set-cookie') ?? '', /^id=/);
  } finally {
    await app.close();
  }
});
