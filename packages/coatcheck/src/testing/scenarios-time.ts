import assert from 'node:assert/strict';
import { newUser, withApp } from './adapter-harness.js';
import type { Scenario } from './adapter-scenarios.js';

const MINUTE = 60_000;

export const timeScenarios = {
  'idle-timeout': {
    title: 'a session unused for the idle timeout is signed out; activity keeps it alive',
    run: (context) =>
      withApp(
        context,
        { idleTimeoutMs: 10 * MINUTE, renewalIntervalMs: MINUTE },
        async ({ clock, client }) => {
          const browser = client();
          await browser.post('/login', { userId: newUser() });
          clock.advance(9 * MINUTE);
          assert.equal((await browser.get('/me')).status, 200);
          clock.advance(9 * MINUTE);
          assert.equal((await browser.get('/me')).status, 200, 'the request 9 minutes ago renewed it');
          clock.advance(10 * MINUTE + 1000);
          assert.equal((await browser.get('/me')).status, 401);
        },
      ),
  },
  'absolute-timeout': {
    title: 'a session ends at the absolute timeout however active it is',
    run: (context) =>
      withApp(
        context,
        { idleTimeoutMs: 10 * MINUTE, absoluteTimeoutMs: 30 * MINUTE, renewalIntervalMs: MINUTE },
        async ({ clock, client }) => {
          const browser = client();
          await browser.post('/login', { userId: newUser() });
          for (let step = 0; step < 3; step++) {
            clock.advance(8 * MINUTE);
            assert.equal((await browser.get('/me')).status, 200);
          }
          clock.advance(7 * MINUTE);
          assert.equal((await browser.get('/me')).status, 401);
        },
      ),
  },
  renewal: {
    title: "a request after the renewal interval pushes the store's idle expiry back",
    run: (context) =>
      withApp(
        context,
        { idleTimeoutMs: 10 * MINUTE, renewalIntervalMs: MINUTE },
        async ({ clock, store, client }) => {
          const browser = client();
          await browser.post('/login', { userId: newUser() });
          const before = (await store.get(browser.handle!))!.idleExpiresAt;
          clock.advance(2 * MINUTE);
          assert.equal((await browser.get('/me')).status, 200);
          const after = (await store.get(browser.handle!))!.idleExpiresAt;
          assert.equal(after, clock.at + 10 * MINUTE);
          assert.ok(after > before);
        },
      ),
  },
  'scheduled-rotation': {
    title: 'rotationIntervalMs replaces the token in use; the old one works only for the grace period (S21)',
    run: (context) =>
      withApp(context, { rotationIntervalMs: MINUTE, rotationGraceMs: 30_000 }, async ({ clock, client }) => {
        const browser = client();
        await browser.post('/login', { userId: newUser() });
        const old = browser.cookie;
        clock.advance(MINUTE + 1000);
        assert.equal((await browser.get('/me')).status, 200);
        assert.notEqual(browser.cookie, old, 'the response carries the new token');
        clock.advance(10_000);
        assert.equal((await client(old).get('/me')).status, 200, 'within the grace period');
        clock.advance(25_000);
        assert.equal((await client(old).get('/me')).status, 401, 'after the grace period');
        assert.equal((await browser.get('/me')).status, 200);
      }),
  },
  guards: {
    title: 'requireAuth, requireFreshAuth, requireStepUp and requireRole let through only who they should',
    run: (context) =>
      withApp(context, {}, async ({ clock, client }) => {
        const browser = client();
        for (const path of ['/me', '/fresh', '/stepped-up', '/admin'])
          assert.equal((await browser.get(path)).status, 401, `${path} signed out`);
        await browser.post('/login', { userId: newUser() });
        assert.equal((await browser.get('/me')).status, 200);
        assert.equal((await browser.get('/fresh')).status, 200);
        assert.equal((await browser.get('/stepped-up')).status, 401);
        assert.equal((await browser.get('/admin')).status, 403);
        await browser.post('/set', { role: 'admin' });
        assert.equal((await browser.get('/admin')).status, 200);
        assert.equal((await browser.post('/step-up')).status, 200);
        assert.equal((await browser.get('/stepped-up')).status, 200);
        clock.advance(MINUTE + 1000);
        assert.equal((await browser.get('/fresh')).status, 401, 'authentication no longer fresh');
        assert.equal((await browser.get('/stepped-up')).status, 401, 'step-up no longer fresh');
        assert.equal((await browser.get('/me')).status, 200);
      }),
  },
} satisfies Record<string, Scenario>;
