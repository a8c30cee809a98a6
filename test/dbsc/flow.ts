import assert from 'node:assert/strict';
import type { SessionStore } from '../../packages/coatcheck/src/core/index.js';
import { Client } from '../support/http.js';
import type { AppOptions, DbscApp } from './apps.js';
import { type Algorithm, BrowserKey, DbscBrowser, parseRegistration } from './browser-key.js';

/** What the tests started; closed once at the end of a file. */
export const closers: Array<() => Promise<unknown>> = [];

export async function closeAll(): Promise<void> {
  for (const close of closers.splice(0)) await close();
}

/** A clock the test moves; the engine reads it. */
function clock() {
  let at = Date.now();
  return { now: () => at, advance: (ms: number) => (at += ms) };
}

export async function start(
  make: (options: AppOptions) => Promise<DbscApp>,
  store: SessionStore,
  extra: Partial<AppOptions> = {},
) {
  const time = clock();
  const app = await make({ store, now: time.now, ...extra });
  closers.push(() => app.close());
  return { app, time };
}

/** Logs in and registers a key, as Chrome does right after the login response. */
export async function signIn(url: string, alg: Algorithm = 'ES256') {
  const client = new Client(url);
  const login = await client.request('/login', { method: 'POST', headers: await csrfHeaders(client) });
  assert.equal(login.status, 200);
  const offer = parseRegistration(login.headers.get('secure-session-registration'));
  assert.ok(offer, 'the login answer offers a registration');
  assert.deepEqual(offer.algorithms, ['ES256', 'RS256']);
  const browser = new DbscBrowser(client, new BrowserKey(alg));
  return { client, offer, browser };
}

export const me = async (client: Client, headers: Record<string, string> = {}) =>
  (await client.request('/me', { headers })).json() as { user: string | null };

/** A same-origin POST's headers, with a CSRF token where the app serves one at /csrf. */
export async function csrfHeaders(client: Client): Promise<Record<string, string>> {
  const res = await client.request('/csrf');
  const token = res.status === 200 ? (res.json() as { token?: string }).token : undefined;
  return { 'sec-fetch-site': 'same-origin', ...(token ? { 'x-csrf-token': token } : {}) };
}
