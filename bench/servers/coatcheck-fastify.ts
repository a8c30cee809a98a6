/**
 * coatcheck's Fastify plugin on a given store: the routes every benchmark server answers. The plugin
 * is registered three times, each in its own encapsulated scope: `/renew` with renewal due on every
 * request, `/renew-check` with a one-second interval whose writes per session are counted, and the
 * plain routes.
 */
import { type FastifySessionOptions, session } from 'coatcheck/fastify';
import Fastify, {
  type FastifyInstance,
  type FastifyPluginCallback,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';
import { announce, bodies, JSON_TYPE, sessionVariants, statsRoute, userFromUrl } from './common.js';

async function me(request: FastifyRequest, reply: FastifyReply) {
  const userId = request.session.meta?.userId;
  if (!userId) return reply.code(401).headers(JSON_TYPE).send(bodies.unauthorized);
  return reply.headers(JSON_TYPE).send(bodies.me(userId));
}

const ok = async (_request: FastifyRequest, reply: FastifyReply) => reply.headers(JSON_TYPE).send(bodies.ok);

/** An encapsulated scope with its own session plugin: its routes get that plugin's settings only. */
function scoped(
  options: FastifySessionOptions,
  routes: (scope: FastifyInstance) => void,
): FastifyPluginCallback {
  return (scope, _options, done) => {
    // Fastify queues the plugin; the hooks it adds reach the routes below once the app is ready.
    void scope.register(session, options);
    routes(scope);
    done();
  };
}

/** Serves the benchmark routes with coatcheck's Fastify plugin on `store`. */
export async function serveCoatcheckFastify(store: SessionStore, close: () => Promise<void>): Promise<void> {
  const { counter, main, renew, check } = sessionVariants(store);
  const app = Fastify({ logger: false });
  const stats = async (request: FastifyRequest, reply: FastifyReply) =>
    reply.headers(JSON_TYPE).send(statsRoute(counter, request.method));
  app.get('/__stats', stats);
  app.post('/__stats', stats);
  await app.register(scoped(renew, (scope) => scope.get('/renew/me', me)));
  await app.register(scoped(check, (scope) => scope.get('/renew-check/me', me)));
  await app.register(
    scoped(main, (scope) => {
      scope.get('/me', me);
      scope.get('/public', ok);
      scope.post('/login', async (request, reply) => {
        await request.session.login(userFromUrl(request.url));
        return ok(request, reply);
      });
      scope.post('/write', async (request, reply) => {
        const n = request.session.get('n');
        request.session.set('n', (typeof n === 'number' ? n : 0) + 1);
        return ok(request, reply);
      });
      scope.post('/logout', async (request, reply) => {
        await request.session.logout();
        return ok(request, reply);
      });
    }),
  );
  await app.ready();
  announce(app.server, async () => {
    await app.close();
    await close();
  });
}
