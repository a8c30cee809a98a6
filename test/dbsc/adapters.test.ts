import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { Client } from '../support/http.js';
import { fastifyApp, honoApp, nodeApp } from './apps.js';
import { closeAll, csrfHeaders, me, signIn, start } from './flow.js';

after(closeAll);

for (const [name, make] of [
  ['fastify', fastifyApp],
  ['hono', honoApp],
  ['node:http', nodeApp],
] as const) {
  describe(`DBSC over HTTP, ${name} / memory`, () => {
    it('registers, enforces the bound cookie, refreshes, and ends with the session', async () => {
      const { app, time } = await start(make, new MemoryStore());
      const { client, offer, browser } = await signIn(app.url);
      assert.equal((await browser.register(offer)).status, 200);
      assert.deepEqual(await me(client), { user: 'alice' });
      time.advance(61_000);
      assert.deepEqual(await me(client), { user: null }, 'an expired bound cookie proves nothing');
      const { first, final } = await browser.refresh();
      assert.equal(first.status, 403);
      assert.equal(final.status, 200);
      assert.deepEqual(await me(client), { user: 'alice' });
      const thief = new Client(app.url);
      for (const [cookie, value] of client.jar) if (cookie !== 'coatcheck-dbsc') thief.jar.set(cookie, value);
      assert.deepEqual(await me(thief), { user: null });
      if (name !== 'node:http') {
        // The CSRF check is on: the DBSC routes above were answered without a token all the same.
        const bare = await client.request('/logout', {
          method: 'POST',
          headers: { 'sec-fetch-site': 'same-origin' },
        });
        assert.equal(bare.status, 403);
      }
      await client.request('/logout', { method: 'POST', headers: await csrfHeaders(client) });
      assert.deepEqual((await browser.refreshOnce()).json(), { continue: false });
    });
  });
}
