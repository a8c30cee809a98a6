/**
 * `req.session.login()` and `req.session.destroy()` called after a streaming handler's first
 * `res.write`, when no cookie can be sent any more, on MemoryStore and a real Redis. A logout must
 * still end the session; a login must not report success while leaving the browser with neither
 * the new session nor the old one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';
import { session } from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { SECRET } from '../support/app.js';
import { Client, listen, type Running } from '../support/http.js';
import { hasRedis, redisForSuite } from '../support/redis-server.js';

function suite(name: string, makeStore: () => SessionStore) {
  describe(`session changes after the response started, on ${name}`, () => {
    let app: Running;
    before(async () => {
      const server = express();
      server.use(session({ secret: SECRET, store: makeStore(), warn: () => {}, guessLimit: false }));
      server.get('/cart', (req, res) => {
        req.session.cart = ['tea'];
        res.json({ ok: true });
      });
      server.get('/me', (req, res) => {
        res.json({ user: req.session.meta?.userId ?? null, cart: req.session.cart ?? null });
      });
      server.get('/login-while-streaming', async (req, res) => {
        res.write('working\n');
        try {
          await req.session.login('ada');
          res.end('resolved');
        } catch {
          res.end('rejected');
        }
      });
      server.get('/logout-while-streaming', async (req, res) => {
        res.write('working\n');
        try {
          await req.session.destroy();
          res.end('resolved');
        } catch {
          res.end('rejected');
        }
      });
      app = await listen(server as never);
    });
    after(async () => app?.close());

    it('a logout after the first write still ends the session', async () => {
      const client = new Client(app.url);
      await client.get('/cart');
      const cookie = client.cookieHeader;
      await client.get('/logout-while-streaming');
      const seen = (await new Client(app.url).get('/me', { cookie })).json() as { cart: unknown };
      assert.equal(seen.cart, null, 'the old cookie no longer reaches the data');
    });

    it('a login after the first write is refused, or leaves the browser signed in', async () => {
      const client = new Client(app.url);
      await client.get('/cart');
      const answer = (await client.get('/login-while-streaming')).text;
      const seen = (await client.get('/me')).json() as { user: string | null; cart: unknown };
      if (answer.endsWith('rejected')) {
        assert.deepEqual(seen.cart, ['tea'], 'a refused login leaves the session as it was');
      } else {
        assert.deepEqual(
          seen,
          { user: 'ada', cart: null },
          'login() resolved, so the browser should be signed in; observed: the old session is gone and the new one unreachable',
        );
      }
    });
  });
}

suite('MemoryStore', () => new MemoryStore());

describe('on a real Redis', { skip: !hasRedis && 'redis-server is not installed' }, () => {
  const redis = redisForSuite();
  suite('RedisStore', () => new RedisStore({ client: redis.client, prefix: 'late:' }));
});
