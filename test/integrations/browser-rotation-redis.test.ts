/**
 * A "keep me signed in" login in Chromium on an Express app over a real Redis with scheduled
 * rotation on: a page whose load fires parallel fetches just as rotation falls due stays signed in,
 * a reload after the grace period is still signed in, and after a logout the back button shows a
 * signed-out page.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { type Browser, chromium, type Page } from 'playwright-core';
import { session } from '../../packages/coatcheck/src/express/index.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { SECRET } from '../support/app.js';
import { listen, type Running } from '../support/http.js';
import { hasRedis, redisForSuite } from '../support/redis-server.js';
import { requireBinary } from '../support/servers.js';

const chromiumPath = requireBinary('chromium', ['/usr/bin/chromium']);
const ROTATION_MS = 60_000;
const GRACE_MS = 10_000;
const PARALLEL = 8;

/** Waits until the page's parallel fetches have all answered. */
const loaded = (page: Page) => page.locator('#out:not(:has-text("loading"))').waitFor();

const PAGE = `<!doctype html><title>home</title><pre id="out">loading</pre><script>
Promise.all(Array.from({ length: ${PARALLEL} }, (_, i) =>
  fetch('/me?n=' + i, { cache: 'no-store' }).then((r) => r.json())))
  .then((all) => { document.getElementById('out').textContent = JSON.stringify(all.map((a) => a.user)); })
  .catch((e) => { document.getElementById('out').textContent = 'error ' + e; });
</script>`;

describe('Chromium: remembered login with scheduled rotation on Redis', {
  skip: (!chromiumPath && 'chromium is not installed') || (!hasRedis && 'redis-server is not installed'),
}, () => {
  const redis = redisForSuite();
  let browser: Browser;
  let app: Running;
  let clock = Date.now();
  const now = () => clock;

  before(async () => {
    browser = await chromium.launch({
      executablePath: chromiumPath!,
      args: ['--headless', '--no-sandbox', '--disable-gpu'],
    });
    const store = new RedisStore({ client: redis.client, now });
    const server = express();
    server.use(express.urlencoded({ extended: false }));
    server.use(
      session({
        secret: SECRET,
        store,
        now,
        warn: () => {},
        guessLimit: false,
        renewalIntervalMs: 1_000,
        rotationIntervalMs: ROTATION_MS,
        rotationGraceMs: GRACE_MS,
        remember: true,
      }),
    );
    server.get('/', (_req, res) => {
      res.set('Cache-Control', 'no-store').type('html').send(PAGE);
    });
    server.get('/me', (req, res) => {
      res.set('Cache-Control', 'no-store').json({ user: req.session.meta?.userId ?? null });
    });
    server.get('/account', (req, res) => {
      res
        .set('Cache-Control', 'no-store')
        .type('html')
        .send(
          req.session.meta?.userId
            ? `<h1 id="who">signed in as ${req.session.meta.userId}</h1><form method="post" action="/logout"><button>sign out</button></form>`
            : '<h1 id="who">signed out</h1>',
        );
    });
    server.post('/login', async (req, res) => {
      await req.session.login(String((req.body as { user: string }).user), { remember: true });
      res.redirect(303, '/account');
    });
    server.post('/logout', async (req, res) => {
      await req.session.logout();
      res.redirect(303, '/account');
    });
    app = await listen(server as never);
  });
  after(async () => {
    await browser?.close();
    await app?.close();
  });

  it('parallel fetches as rotation falls due, a reload after the grace period, then logout and back', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${app.url}/account`);
    await page.setContent(
      `<form method="post" action="${app.url}/login"><input name="user" value="ada"><button>go</button></form>`,
    );
    await Promise.all([page.waitForURL(`${app.url}/account`), page.click('button')]);
    assert.equal(await page.textContent('#who'), 'signed in as ada');

    for (let round = 0; round < 3; round++) {
      clock += ROTATION_MS + 1;
      await page.goto(`${app.url}/`);
      await loaded(page);
      const users = JSON.parse((await page.textContent('#out')) ?? 'null') as unknown;
      assert.deepEqual(users, Array(PARALLEL).fill('ada'), `round ${round}: every parallel fetch signed in`);
      clock += GRACE_MS + 1;
      await page.reload();
      await loaded(page);
      assert.deepEqual(JSON.parse((await page.textContent('#out')) ?? 'null'), Array(PARALLEL).fill('ada'));
      await page.goto(`${app.url}/account`);
      assert.equal(
        await page.textContent('#who'),
        'signed in as ada',
        `round ${round}: after the grace period`,
      );
    }

    // The browser is closed and opened again: only the persistent remember cookie is left.
    const kept = (await context.cookies()).filter((cookie) => cookie.name !== 'id');
    assert.ok(
      kept.some((cookie) => cookie.expires > 0),
      'a persistent cookie is kept',
    );
    await context.clearCookies();
    await context.addCookies(kept);
    clock += ROTATION_MS + 1;
    await page.goto(`${app.url}/`);
    await loaded(page);
    assert.deepEqual(
      JSON.parse((await page.textContent('#out')) ?? 'null'),
      Array(PARALLEL).fill('ada'),
      'parallel fetches on a restarted browser are all signed in through the remembered device',
    );
    clock += GRACE_MS + 1;
    await page.goto(`${app.url}/account`);
    await Promise.all([page.waitForURL(`${app.url}/account`), page.click('button')]);
    assert.equal(await page.textContent('#who'), 'signed out');
    await page.goBack();
    await page.reload();
    assert.equal(await page.textContent('#who'), 'signed out', 'back after logout stays signed out');
    await page.goto(`${app.url}/`);
    await loaded(page);
    assert.deepEqual(JSON.parse((await page.textContent('#out')) ?? 'null'), Array(PARALLEL).fill(null));
    const cookies = await context.cookies();
    assert.equal(
      cookies.some((cookie) => cookie.name === 'remember'),
      false,
      'no remember cookie left after logout',
    );
    await context.close();
  });
});
