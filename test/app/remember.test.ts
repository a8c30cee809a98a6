import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '../support/http.js';
import { type AppUnderTest, csrfFrom, newUser, postForm, register, startApp, submit } from './harness.js';

const PASSWORD = 'correct horse battery staple';

/** The browser closed and opened again: the session cookie is gone, the others stay. */
function reopen(app: AppUnderTest, client: Client): Client {
  const next = app.client();
  for (const [name, value] of client.jar) if (name !== 'id') next.jar.set(name, value);
  return next;
}

async function keptSignedIn(app: AppUnderTest, email: string): Promise<Client> {
  const client = app.client();
  await register(client, email);
  const res = await submit(client, '/login', '/login', { email, password: PASSWORD, remember: '1' });
  assert.equal(res.status, 303);
  assert.ok(client.jar.get('remember'), 'the box ticked: a remembered device');
  return client;
}

describe('reference app: keep me signed in on this device', () => {
  let app: AppUnderTest;
  before(async () => {
    app = await startApp();
  });
  after(() => app.close());

  it('S13 without the box ticked there is no remember cookie', async () => {
    const client = await newUser(app, 'plain@example.com');
    assert.equal(client.jar.get('remember'), undefined);
    assert.equal((await reopen(app, client).get('/dashboard')).status, 303);
  });

  it('the devices page lists the remembered device and forgets it, which signs it out', async () => {
    const laptop = await keptSignedIn(app, 'forget@example.com');
    const later = reopen(app, laptop);
    const desk = app.client();
    await submit(desk, '/login', '/login', { email: 'forget@example.com', password: PASSWORD });
    const page = await desk.get('/devices');
    assert.match(page.text, /Kept signed in/);
    const id = /action="\/devices\/remembered\/([A-Za-z0-9_-]+)\/forget"/.exec(page.text)?.[1];
    assert.equal(id, laptop.jar.get('remember')!.split('.')[0]);
    assert.ok(!page.text.includes(laptop.jar.get('remember')!.split('.')[1]!), 'S11 no secret in the page');
    const res = await postForm(desk, `/devices/remembered/${id}/forget`, { _csrf: csrfFrom(page.text) });
    assert.equal(res.status, 303);
    assert.equal((await laptop.get('/dashboard')).status, 303, 'its session is signed out');
    assert.equal((await later.get('/dashboard')).status, 303, 'and it no longer signs in by itself');
    assert.doesNotMatch((await desk.get('/devices')).text, /devices\/remembered\//);
  });

  it('S31 a password change ends the other remembered devices', async () => {
    const laptop = await keptSignedIn(app, 'change@example.com');
    const desk = app.client();
    await submit(desk, '/login', '/login', { email: 'change@example.com', password: PASSWORD });
    const fields = { current: PASSWORD, password: `${PASSWORD}!`, confirm: `${PASSWORD}!` };
    const form = await desk.get('/account/password');
    const res = await postForm(desk, '/account/password', { _csrf: csrfFrom(form.text), ...fields });
    assert.equal(res.status, 303);
    assert.equal((await reopen(app, laptop).get('/dashboard')).status, 303);
  });
});
