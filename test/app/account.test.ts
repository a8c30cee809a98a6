import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type AppUnderTest,
  csrfFrom,
  newUser,
  PASSWORD,
  postForm,
  signIn,
  sleep,
  startApp,
} from './harness.js';

const FIREFOX_ANDROID = 'Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0';
const SAFARI_MAC =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';

const handles = (html: string) =>
  [...html.matchAll(/action="\/devices\/([A-Za-z0-9_-]+)\/revoke"/g)].map((m) => m[1]!);

describe('reference app: devices, re-authentication and password change', () => {
  let app: AppUnderTest;
  before(async () => {
    // A short freshness window, so the tests can outlive it, and long enough for a loaded machine.
    app = await startApp({ FRESH_AUTH_MS: '3000' });
  });
  after(() => app.close());

  it('S30 lists every session with browser, system, IP, times and "this device"', async () => {
    const phone = await newUser(app, 'devices@example.com', { 'user-agent': FIREFOX_ANDROID });
    const laptop = app.client({ 'user-agent': SAFARI_MAC });
    await signIn(laptop, 'devices@example.com');
    const page = await phone.get('/devices');
    assert.equal(page.status, 200);
    assert.match(page.text, /Firefox 128 on Android/);
    assert.match(page.text, /Safari 17 on macOS Sonoma/);
    assert.equal((page.text.match(/<dd>127\.0\.0\.1<\/dd>/g) ?? []).length, 2);
    assert.equal((page.text.match(/This device/g) ?? []).length, 1);
    assert.match(page.text, /Last active/);
    assert.match(page.text, /Signed in/);
    assert.equal(handles(page.text).length, 2);
    for (const value of phone.jar.values()) assert.ok(!page.text.includes(value), 'S11 no token in the page');
  });

  it('signs out one other device; its next request is anonymous', async () => {
    const first = await newUser(app, 'one@example.com');
    const second = app.client({ 'user-agent': SAFARI_MAC });
    await signIn(second, 'one@example.com');
    const page = await first.get('/devices');
    const current =
      /<li class="card device current">[\s\S]*?action="\/devices\/([A-Za-z0-9_-]+)\/revoke"/.exec(
        page.text,
      )?.[1];
    assert.ok(current);
    const target = handles(page.text).find((handle) => handle !== current)!;
    const res = await postForm(first, `/devices/${target}/revoke`, { _csrf: csrfFrom(page.text) });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/devices');
    const after = await first.get('/devices');
    assert.match(after.text, /The device was signed out/);
    assert.equal(handles(after.text).length, 1);
    const gone = await second.get('/dashboard');
    assert.equal(gone.status, 303);
    assert.match(gone.headers.get('location') ?? '', /^\/login/);
  });

  it("answers 404 with the devices page for a handle that is not one of the user's sessions", async () => {
    const owner = await newUser(app, 'idor-owner@example.com');
    const victim = await newUser(app, 'idor-victim@example.com');
    const victimHandle = handles((await victim.get('/devices')).text)[0]!;
    const page = await owner.get('/devices');
    const res = await postForm(owner, `/devices/${victimHandle}/revoke`, { _csrf: csrfFrom(page.text) });
    assert.equal(res.status, 404);
    assert.match(res.text, /no longer signed in/);
    assert.equal((await victim.get('/dashboard')).status, 200, 'the other user is untouched');
  });

  it('S31 signs out all other devices and keeps this one', async () => {
    const me = await newUser(app, 'others@example.com');
    const others = [app.client(), app.client()];
    for (const client of others) await signIn(client, 'others@example.com');
    const page = await me.get('/devices');
    assert.equal(handles(page.text).length, 3);
    const res = await postForm(me, '/devices/revoke-others', { _csrf: csrfFrom(page.text) });
    assert.equal(res.status, 303);
    assert.match((await me.get('/devices')).text, /Signed out 2 other devices/);
    for (const client of others) assert.equal((await client.get('/dashboard')).status, 303);
    assert.equal((await me.get('/dashboard')).status, 200);
  });

  it('S39 asks for the password again before signing out devices once the sign-in is not fresh', async () => {
    const me = await newUser(app, 'stale@example.com');
    const other = app.client();
    await signIn(other, 'stale@example.com');
    await sleep(3200);
    const page = await me.get('/devices');
    const res = await postForm(me, '/devices/revoke-others', { _csrf: csrfFrom(page.text) });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/reauth?returnTo=%2Fdevices');
    assert.equal((await other.get('/dashboard')).status, 200, 'nothing was signed out');

    const reauth = await me.get('/reauth?returnTo=%2Fdevices');
    assert.match(reauth.text, /Confirm your password/);
    const wrong = await postForm(me, '/reauth', {
      _csrf: csrfFrom(reauth.text),
      password: 'wrong password',
      returnTo: '/devices',
    });
    assert.equal(wrong.status, 401);
    assert.match(wrong.text, /That password is incorrect/);
    const before = me.cookieHeader;
    const ok = await postForm(me, '/reauth', {
      _csrf: csrfFrom(wrong.text),
      password: PASSWORD,
      returnTo: '/devices',
    });
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.get('location'), '/devices');
    assert.notEqual(me.cookieHeader, before, 'S20 re-authentication rotates the session');
    const again = await me.get('/devices');
    const done = await postForm(me, '/devices/revoke-others', { _csrf: csrfFrom(again.text) });
    assert.equal(done.headers.get('location'), '/devices');
    assert.equal((await other.get('/dashboard')).status, 303);
  });

  it('validates the re-authentication form', async () => {
    const me = await newUser(app, 'reauth-empty@example.com');
    const page = await me.get('/reauth');
    const res = await postForm(me, '/reauth', { _csrf: csrfFrom(page.text), password: '' });
    assert.equal(res.status, 400);
    assert.match(res.text, /Enter your password/);
  });

  it('S39 sends the password page to re-authentication when the sign-in is not fresh', async () => {
    const me = await newUser(app, 'pw-stale@example.com');
    assert.equal((await me.get('/account/password')).status, 200, 'fresh right after sign-in');
    await sleep(3200);
    const page = await me.get('/account/password');
    assert.equal(page.status, 303);
    assert.equal(page.headers.get('location'), '/reauth?returnTo=%2Faccount%2Fpassword');
    const dashboard = await me.get('/dashboard');
    const post = await postForm(me, '/account/password', {
      _csrf: csrfFrom(dashboard.text),
      current: PASSWORD,
      password: 'a brand new password',
      confirm: 'a brand new password',
    });
    assert.equal(post.status, 303);
    assert.equal(post.headers.get('location'), '/reauth?returnTo=%2Faccount%2Fpassword');
    await signIn(app.client(), 'pw-stale@example.com', PASSWORD);
  });

  it('validates the new password', async () => {
    const me = await newUser(app, 'pw-invalid@example.com');
    const page = await me.get('/account/password');
    const short = await postForm(me, '/account/password', {
      _csrf: csrfFrom(page.text),
      password: 'x',
      confirm: 'x',
    });
    assert.equal(short.status, 400);
    assert.match(short.text, /at least 10 characters/);
    const mismatch = await postForm(me, '/account/password', {
      _csrf: csrfFrom(short.text),
      password: 'a brand new password',
      confirm: 'a different password',
    });
    assert.equal(mismatch.status, 400);
    assert.match(mismatch.text, /do not match/);
  });

  it('S31 S20 changes the password: this session rotates, every other one ends', async () => {
    const me = await newUser(app, 'pw@example.com');
    const other = app.client();
    await signIn(other, 'pw@example.com');
    const oldCookie = me.cookieHeader;
    const page = await me.get('/account/password');
    const res = await postForm(me, '/account/password', {
      _csrf: csrfFrom(page.text),
      current: PASSWORD,
      password: 'a brand new password',
      confirm: 'a brand new password',
    });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/dashboard');
    assert.notEqual(me.cookieHeader, oldCookie);
    const dashboard = await me.get('/dashboard');
    assert.equal(dashboard.status, 200);
    assert.match(dashboard.text, /Your password was changed. 1 other device signed out/);
    assert.equal((await other.get('/dashboard')).status, 303);
    assert.equal((await app.client({ cookie: oldCookie }).get('/dashboard')).status, 303);
    await assert.rejects(signIn(app.client(), 'pw@example.com', PASSWORD));
    await signIn(app.client(), 'pw@example.com', 'a brand new password');
  });
});
