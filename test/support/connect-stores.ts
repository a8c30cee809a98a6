import assert from 'node:assert/strict';
import memorystore from 'memorystore';
import sessionFileStore from 'session-file-store';
import sessionDefault, { type SessionStore } from '../../packages/coatcheck/src/express/index.js';
import { Client } from './http.js';

export type Callback = (error?: unknown, value?: unknown) => void;
export type Bag = Record<string, unknown>;
/** The callback API of an express-session store, as a test drives it. */
export type CallbackStore = {
  get(sid: string, cb: Callback): void;
  set(sid: string, session: Bag, cb: Callback): void;
  destroy(sid: string, cb: Callback): void;
};

export const DAY = 24 * 3_600_000;
/** An express-session store handed to coatcheck as `store`, which wraps it. */
export const asStore = (store: object) => store as unknown as SessionStore;

/** As an app switching over writes it: the store factories are handed coatcheck's `session`. */
export const CoatcheckMemoryStore = memorystore(sessionDefault);
export const FileStore = sessionFileStore(sessionDefault);

/** Signs a browser in on the test app with some data and checks each step a real app relies on. */
export async function journey(url: string): Promise<Client> {
  const browser = new Client(url);
  assert.equal((await browser.post('/login', { userId: 'alice' })).status, 200);
  assert.equal((await browser.post('/set', { cart: ['hat'] })).status, 200);
  const me = await browser.get('/me');
  assert.equal(me.status, 200);
  assert.deepEqual((me.json() as { data: Bag }).data, { cart: ['hat'] });
  return browser;
}
