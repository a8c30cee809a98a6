import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '../support/http.js';
import { type AppUnderTest, newUser, startApp } from './harness.js';

describe('the reference app rotates tokens on a schedule', () => {
  let app: AppUnderTest;
  before(async () => {
    app = await startApp();
  });
  after(() => app.close());

  it('S21 a signed-in browser gets a new token after 15 minutes; a tab still on the old one keeps working for 30 s, then not', async () => {
    const client = await newUser(app, 'rotation@example.com');
    const old = client.jar.get('id')!;
    app.clock.advance(15 * 60_000 + 1000);
    const page = await client.get('/dashboard', { accept: 'text/html' });
    assert.equal(page.status, 200);
    const fresh = client.jar.get('id')!;
    assert.notEqual(fresh, old, 'a new token was issued');

    const otherTab = new Client(app.url, { origin: app.url });
    otherTab.jar.set('id', old);
    const stillThere = await otherTab.get('/dashboard', { accept: 'text/html' });
    assert.equal(stillThere.status, 200);
    assert.match(stillThere.text, /rotation@example\.com/);
    assert.deepEqual(
      stillThere.setCookies.filter((line) => line.startsWith('id=')),
      [],
    );

    app.clock.advance(31_000);
    const gone = await otherTab.get('/dashboard', { accept: 'text/html' });
    assert.equal(gone.status, 303, 'the old token is dead after the grace period');
    assert.equal((await client.get('/dashboard', { accept: 'text/html' })).status, 200);
    assert.ok(
      app.events.some((event) => event.type === 'session.regenerated' && event.reason === 'schedule'),
    );
  });
});
