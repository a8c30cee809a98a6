import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '../support/http.js';
import { type RememberApp, startRememberApp } from './servers.js';
import { rememberStores } from './stores.js';

const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36';
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';

function reopen(client: Client, headers: Record<string, string> = { 'user-agent': CHROME }): Client {
  const next = new Client(client.base, headers);
  for (const [name, value] of client.jar) if (name !== 'id') next.jar.set(name, value);
  return next;
}
const userOf = async (client: Client) =>
  ((await client.get('/me')).json() as { userId: string | null }).userId;

for (const store of rememberStores()) {
  describe(`remembered-device theft detection on ${store.name}`, () => {
    let app: RememberApp;
    before(async () => {
      app = await startRememberApp('express', await store.create());
    });
    after(async () => {
      await app.close();
      await app.store.close();
    });
    const count = (type: string) => app.events.filter((event) => event.type === type).length;

    it('S18 every replay of a rotated credential is caught, and no grace race ever is (figures)', async (t) => {
      const figures = { rotations: 0, replays: 0, caught: 0, graceRaces: 0, raceRequests: 0, falseAlarms: 0 };
      for (let round = 0; round < 10; round++) {
        const userId = `user-${round}`;
        const first = new Client(app.url, { 'user-agent': CHROME });
        await first.post('/login', { userId, remember: true });
        const history: Client[] = [first];
        let current = first;
        // Rotations, each a browser coming back, with a race of 2-4 parallel requests every other time.
        for (let use = 0; use < 5; use++) {
          app.clock.advance(20_000);
          const width = use % 2 === 0 ? 1 : 2 + (use % 3);
          const tabs = Array.from({ length: width }, () => reopen(current));
          const before = count('security.remember_reuse');
          const users = await Promise.all(tabs.map(userOf));
          if (width > 1) {
            figures.graceRaces++;
            figures.raceRequests += width;
          }
          if (count('security.remember_reuse') !== before || users.some((user) => user !== userId)) {
            figures.falseAlarms++;
          }
          const rotated = tabs.filter((tab) => tab.jar.get('remember') !== current.jar.get('remember'));
          assert.equal(rotated.length, 1, 'exactly one request of a race rotates');
          figures.rotations++;
          current = rotated[0]!;
          history.push(current);
        }
        // A replay of any credential rotated away, past the grace period.
        app.clock.advance(11_000);
        const stolen = history[round % (history.length - 1)]!;
        const before = count('security.remember_reuse');
        figures.replays++;
        assert.equal(await userOf(reopen(stolen)), null);
        if (count('security.remember_reuse') === before + 1) figures.caught++;
        assert.equal(await userOf(reopen(current)), null, 'the device ended for the current credential too');
        assert.equal(await userOf(current), null, 'and for the sessions it started');
      }
      t.diagnostic(`theft detection: ${JSON.stringify(figures)}`);
      assert.equal(figures.caught, figures.replays);
      assert.equal(figures.falseAlarms, 0);
      assert.equal(figures.rotations, 50);
    });

    it('S42 under binding policy log, a remembered device used from another browser family signs in and is reported', async () => {
      const client = new Client(app.url, { 'user-agent': CHROME });
      await client.post('/login', { userId: 'pat', remember: true });
      const before = count('session.binding_mismatch');
      assert.equal(await userOf(reopen(client, { 'user-agent': FIREFOX })), 'pat');
      assert.equal(count('session.binding_mismatch'), before + 1);
    });
  });
}

describe('remembered devices under binding policy revoke', () => {
  let app: RememberApp;
  before(async () => {
    app = await startRememberApp('express', await rememberStores()[0]!.create(), {
      binding: { policy: 'revoke' },
    });
  });
  after(async () => {
    await app.close();
    await app.store.close();
  });

  it('S42 a credential used from another browser family ends the device', async () => {
    const client = new Client(app.url, { 'user-agent': CHROME });
    await client.post('/login', { userId: 'quinn', remember: true });
    const id = client.jar.get('remember')!.split('.')[0]!;
    assert.equal(await userOf(reopen(client, { 'user-agent': FIREFOX })), null);
    assert.equal(await app.store.rememberedDevices!.get(id), null);
    assert.equal(await userOf(reopen(client)), null, 'the real browser has to sign in again too');
    assert.equal(await userOf(client), null);
  });

  it('S42 the same browser family comes back signed in', async () => {
    const client = new Client(app.url, { 'user-agent': CHROME });
    await client.post('/login', { userId: 'rita', remember: true });
    assert.equal(await userOf(reopen(client, { 'user-agent': CHROME.replace('130.0', '131.0') })), 'rita');
  });
});
