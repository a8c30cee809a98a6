import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import { pathMatcher } from '../../packages/coatcheck/src/core/policies/path-prefix.js';
import { csrf } from '../../packages/coatcheck/src/express/csrf.js';
import { session } from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SECRET } from '../support/app.js';
import { Client, listen } from '../support/http.js';

describe('S59 path policies match as routers match', () => {
  const isSensitive = pathMatcher(['/admin', '/account/', '/api/password']);
  const cases: [string, boolean][] = [
    ['/admin', true],
    ['/ADMIN', true],
    ['/admin/', true],
    ['/Admin/Users/1/Revoke', true],
    ['//admin', true],
    ['/account//password', true],
    ['/%61dmin/users', true],
    ['/%41CCOUNT/password', true],
    ['/account%2Fpassword', true],
    ['/admin/users/..%2F..%2Fx/revoke', true],
    ['/x/../admin', true],
    ['/admin\\users', true],
    ['/account', true],
    ['/api/PASSWORD?x=1', true],
    ['https://app.test/admin#x', true],
    ['/administrator', false],
    ['/accounts', false],
    ['/login', false],
    ['/api/passwords', false],
    ['/%zzadmin', false],
    ['/', false],
  ];
  for (const [url, expected] of cases) {
    it(`${url} is ${expected ? '' : 'not '}under a strict prefix`, () => {
      assert.equal(isSensitive(url), expected);
    });
  }

  it('csrf({ strictPaths }) refuses an origin-less POST to /ADMIN/x as it does /admin/x (Express routes both)', async () => {
    const app = express();
    app.use(session({ secret: SECRET, store: new MemoryStore(), warn: () => {} }));
    app.use(express.json());
    app.use(csrf({ origins: ['https://app.test'], strictPaths: ['/admin'] }));
    app.get('/token', (req, res) => void res.json({ token: req.csrfToken() }));
    app.post('/admin/x', (_req, res) => void res.json({ ok: true }));
    app.post('/public', (_req, res) => void res.json({ ok: true }));
    const server = await listen(app as never);
    try {
      const client = new Client(server.url);
      const { token } = (await client.get('/token')).json() as { token: string };
      const headers = { 'x-csrf-token': token };
      for (const path of ['/admin/x', '/ADMIN/x', '/Admin/x/']) {
        assert.equal((await client.post(path, {}, headers)).status, 403, path);
      }
      assert.equal(
        (await client.post('/ADMIN/x', {}, { ...headers, origin: 'https://app.test' })).status,
        200,
      );
      assert.equal((await client.post('/public', {}, headers)).status, 200, 'not strict: the token suffices');
    } finally {
      await server.close();
    }
  });

  it('refuses strictPaths that are not paths', () => {
    assert.throws(() => csrf({ origins: ['https://app.test'], strictPaths: ['admin'] }), /strictPaths/);
  });
});
