import assert from 'node:assert/strict';
import { newUser, SUITE_ORIGIN, withApp } from './adapter-harness.js';
import type { Scenario } from './adapter-scenarios.js';

const body = (value: { body: unknown }) => value.body as Record<string, unknown>;

/** Swaps the token's last character: a well-formed cookie whose MAC no longer matches. */
function forge(token: string): string {
  const last = token.at(-1) === 'A' ? 'B' : 'A';
  return token.slice(0, -1) + last;
}

export const securityScenarios = {
  csrf: {
    title: 'the CSRF check accepts the session token and refuses a missing, foreign, stale or cross-site one',
    run: (context) =>
      withApp(context, {}, async ({ client }) => {
        const browser = client();
        const token = String(body(await browser.get('/csrf')).token);
        const send = (headers: Record<string, string>) => browser.post('/csrf-protected', {}, headers);
        assert.equal((await send({ 'x-csrf-token': token })).status, 200);
        assert.equal((await send({ 'x-csrf-token': token, origin: SUITE_ORIGIN })).status, 200);
        assert.equal((await send({})).status, 403, 'no token');
        assert.equal((await send({ 'x-csrf-token': 'A'.repeat(86) })).status, 403, 'made-up token');
        const other = String(body(await client().get('/csrf')).token);
        assert.equal((await send({ 'x-csrf-token': other })).status, 403, "another session's token");
        const crossSite = { 'x-csrf-token': token, origin: 'https://evil.example' };
        assert.equal((await send(crossSite)).status, 403, 'cross-site Origin');
        assert.equal((await send({ 'x-csrf-token': token, 'sec-fetch-site': 'cross-site' })).status, 403);
        await browser.post('/login', { userId: newUser() });
        assert.equal((await send({ 'x-csrf-token': token })).status, 403, 'login replaced the secret (S54)');
        const fresh = String(body(await browser.get('/csrf')).token);
        assert.equal((await send({ 'x-csrf-token': fresh })).status, 200);
      }),
  },
  'store-failure': {
    title: 'a failing store is answered with 503, never with an anonymous session (S49)',
    run: (context) =>
      withApp(context, {}, async ({ store, status, client }) => {
        const browser = client();
        await browser.post('/login', { userId: newUser() });
        try {
          store.failing = true;
          assert.equal((await browser.get('/me')).status, status.storeFailure, 'load fails');
          const anonymous = client();
          const write = await anonymous.post('/set', { a: 1 });
          assert.equal(write.status, status.storeFailure, 'commit fails');
          assert.equal(anonymous.cookie, null, 'no cookie for a session that was never stored');
          store.failing = false;
          const fresh = client();
          assert.equal((await fresh.post('/set', { a: 1 })).status, 200);
          store.failingMethods = ['destroy'];
          const logout = await fresh.post('/logout');
          assert.equal(logout.status, status.storeFailure, 'a lifecycle call in the handler fails');
        } finally {
          store.failing = false;
          store.failingMethods = [];
        }
        assert.equal((await browser.get('/me')).status, 200, 'recovers when the store does');
      }),
  },
  'parallel-writers': {
    title: 'no update is lost among 20 parallel writers to one session',
    run: (context) =>
      withApp(context, {}, async ({ client }) => {
        const browser = client();
        await browser.post('/login', { userId: newUser() });
        const writers = Array.from({ length: 20 }, (_, i) => browser.copy().post('/set', { [`k${i}`]: i }));
        for (const answer of await Promise.all(writers)) assert.equal(answer.status, 200);
        const data = body(await browser.get('/peek')).data as Record<string, number>;
        for (let i = 0; i < 20; i++) assert.equal(data[`k${i}`], i, `k${i} kept`);
      }),
  },
  'no-resurrection': {
    title: 'a write racing a logout never brings the session back (S29), in 200 runs',
    run: (context) =>
      withApp(context, {}, async ({ store, client }) => {
        const userId = newUser();
        for (let run = 0; run < 200; run++) {
          const browser = client();
          await browser.post('/login', { userId });
          const tab = browser.copy();
          await Promise.all([tab.post(`/slow?ms=${run % 7}`, { late: run }), browser.post('/logout')]);
          assert.equal((await client(tab.cookie).get('/me')).status, 401, `run ${run}`);
          assert.deepEqual(await store.listByUser(userId), [], `run ${run}: nothing of the user is stored`);
        }
      }),
  },
  'hostile-cookies': {
    title: 'duplicate, oversized, forged and garbage cookies are anonymous, never errors (S18)',
    run: (context) =>
      withApp(context, {}, async ({ client }) => {
        const browser = client();
        await browser.post('/login', { userId: newUser() });
        const token = browser.token!;
        const hostile = [
          `sid=${token}; sid=${token}`,
          `sid=${token}; other=1; sid=${forge(token)}`,
          `sid=${'a'.repeat(6000)}`,
          `sid=${forge(token)}`,
          'sid=',
          'sid=%E0%A4%A',
          'sid="quoted"',
          'sid=a.b.c',
          'sid=..',
          `sid=${token.split('.')[0]}`,
        ];
        for (const cookie of hostile) {
          const me = await client(cookie).get('/me');
          assert.equal(me.status, 401, cookie.slice(0, 60));
          assert.equal((await client(cookie).get('/peek')).status, 200, cookie.slice(0, 60));
        }
        assert.equal((await browser.get('/me')).status, 200, 'the real session is untouched');
      }),
  },
} satisfies Record<string, Scenario>;
