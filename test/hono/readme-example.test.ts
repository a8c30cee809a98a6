import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { it } from 'node:test';
import { serve } from '@hono/node-server';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SECRET } from '../support/app.js';
import { Client } from '../support/http.js';
import { createApp } from './readme-example.js';

const ORIGIN = 'https://shop.example';

it('the README shows the example exactly as this test runs it', () => {
  const readme = readFileSync(new URL('../../packages/coatcheck/README.md', import.meta.url), 'utf8');
  const example = readFileSync(new URL('./readme-example.ts', import.meta.url), 'utf8');
  const marker = readme.indexOf('test/hono/readme-example.test.ts runs it');
  assert.ok(marker > 0, 'the README marks the tested block');
  const start = readme.indexOf('```ts\n', marker) + '```ts\n'.length;
  assert.equal(readme.slice(start, readme.indexOf('```', start)), example);
});

it('the migrated app keeps the cart across login, signs in, and logs out for real', async () => {
  const store = new MemoryStore();
  const server = serve({ fetch: createApp({ store, secret: SECRET, origin: ORIGIN }).fetch, port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  try {
    const browser = new Client(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const token = async () => ({
      'x-csrf-token': ((await browser.get('/csrf')).json() as { token: string }).token,
    });
    assert.equal((await browser.post('/cart', { item: 'tea' })).status, 403, 'CSRF token required');
    assert.deepEqual((await browser.post('/cart', { item: 'tea' }, await token())).json(), { cart: ['tea'] });
    const anonymous = browser.jar.get('id');
    assert.equal((await browser.get('/me')).status, 401);

    assert.equal((await browser.post('/login', { email: 'ada@shop.example' }, await token())).status, 200);
    assert.notEqual(browser.jar.get('id'), anonymous, 'login rotated the token');
    assert.deepEqual((await browser.get('/me')).json(), { email: 'ada@shop.example' });
    const cart = await browser.post('/cart', { item: 'milk' }, await token());
    assert.deepEqual(cart.json(), { cart: ['tea', 'milk'] }, 'the cart survived the login');

    const copied = new Client(browser.base, { cookie: `id=${browser.jar.get('id')}` });
    const out = await browser.post('/logout', {}, await token());
    assert.equal(out.headers.get('clear-site-data'), '"cache", "storage"');
    assert.equal((await copied.get('/me')).status, 401, 'a copied cookie is dead after logout');
  } finally {
    (server as unknown as { closeAllConnections(): void }).closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
