import assert from 'node:assert/strict';
import { it } from 'node:test';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import type { AdapterUnderTest } from '../../packages/coatcheck/src/testing/index.js';
import { expressAdapter } from '../adapters/express.js';
import { honoAdapter } from '../adapters/hono.js';
import { SECRET } from '../support/app.js';
import { Client } from '../support/http.js';

/** One request sequence a real app sees, and what each response says about the session. */
async function headersAlong(adapter: AdapterUnderTest) {
  const running = await adapter.start({
    store: new MemoryStore(),
    options: { name: 'sid', secret: SECRET, now: Date.now, warn: () => {}, csrfOrigins: ['http://app.test'] },
  });
  const client = new Client(running.url);
  const steps: [string, string, unknown?][] = [
    ['GET', '/peek'],
    ['POST', '/set', { a: 1 }],
    ['GET', '/peek'],
    ['POST', '/login', { userId: 'ada' }],
    ['GET', '/me'],
    ['POST', '/regenerate', {}],
    ['POST', '/logout', {}],
    ['GET', '/peek'],
  ];
  const seen = [];
  try {
    for (const [method, path, body] of steps) {
      const answer =
        method === 'GET' ? await client.get(path) : await client.post(path, body as Record<string, unknown>);
      seen.push({
        step: `${method} ${path}`,
        status: answer.status,
        cacheControl: answer.headers.get('cache-control'),
        clearSiteData: answer.headers.get('clear-site-data'),
        // The token differs per run; the attributes and whether it is set or expired must not.
        cookies: answer.setCookies.map((line) => line.replace(/^sid=[^;]+/, 'sid=<token>')),
      });
    }
  } finally {
    await running.close();
  }
  return seen;
}

it('the Hono adapter sends the cookie, Cache-Control and Clear-Site-Data exactly as the Express one', async () => {
  const express = await headersAlong(expressAdapter(5));
  const hono = await headersAlong(honoAdapter);
  assert.deepEqual(hono, express);
  assert.ok(
    express.some((step) => step.clearSiteData),
    'the sequence includes a logout',
  );
});
