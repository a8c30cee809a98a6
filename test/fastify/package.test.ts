/** 'coatcheck/fastify' by package name, as ESM and as CommonJS (needs `npm run build`). */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import Fastify from 'fastify';

const require = createRequire(import.meta.url);

describe('the coatcheck/fastify entry point', () => {
  for (const [kind, load] of [
    ['import', () => import('coatcheck/fastify')],
    ['require', async () => require('coatcheck/fastify') as typeof import('coatcheck/fastify')],
  ] as const) {
    it(`registers and stores a session through ${kind}`, async () => {
      const mod = await load();
      assert.equal(typeof mod.requireAuth, 'function');
      const app = Fastify();
      await app.register(mod.default, { secret: 'x'.repeat(40), warn: () => {} });
      app.post('/set', async (request) => {
        request.session.set('n', 1);
        return 'ok';
      });
      const res = await app.inject({ method: 'POST', url: '/set' });
      assert.equal(res.statusCode, 200);
      assert.equal(res.cookies.filter((cookie) => cookie.name === 'id').length, 1);
      await app.close();
    });
  }
});
