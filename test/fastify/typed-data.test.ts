/** SessionData merging types `get`, `set` and the data properties (checked by tsc; run for the values). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyRequest } from 'fastify';
import { type FastifyTestApp, startFastifyApp } from './app.js';

// The keys merged in test/fastify/app.ts: cart: string[], views: number, role: string.
function addToCart(request: FastifyRequest, item: string): string[] {
  const cart: string[] = [...(request.session.get('cart') ?? []), item];
  request.session.set('cart', cart);
  // @ts-expect-error a number is not a cart
  if (cart.length < 0) request.session.set('cart', 5);
  // @ts-expect-error views is a number
  if (cart.length < 0) request.session.set('views', 'many');
  const views: number | undefined = request.session.get('views');
  if (views === 0) request.session.set('views', views + 1);
  return cart;
}

describe('typed session data', () => {
  let t: FastifyTestApp;
  before(async () => {
    t = await startFastifyApp(
      {},
      (app) => {
        app.post('/cart', async (request) => ({
          cart: addToCart(request, (request.body as { item: string }).item),
        }));
      },
      'inject',
    );
  });
  after(() => t.close());

  it('reads back what set wrote, as the declared type', async () => {
    const c = t.client();
    await c.post('/cart', { item: 'tea' });
    assert.deepEqual((await c.post('/cart', { item: 'milk' })).json(), { cart: ['tea', 'milk'] });
  });
});
