import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type RunningApp } from '../../app/app.js';
import { createAdmin } from '../../app/cli/create-admin.js';
import { type AppConfig, loadConfig } from '../../app/config.js';
import { totpCodeAt } from '../../app/totp.js';
import { Client } from '../support/http.js';

export const SECRET = 'app-test-secret-that-is-long-enough-0123456789';
export const PASSWORD = 'correct horse battery staple';

/**
 * The app's clock: real time plus an offset the tests move forward, so idle timeouts that tests
 * wait for in real time still pass while step-up windows and TOTP steps can be jumped over.
 */
export class AppClock {
  offsetMs = 0;
  now = () => Date.now() + this.offsetMs;
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

/** The reference app running in-process on a free loopback port, on a throwaway DATA_DIR. */
export interface AppUnderTest {
  url: string;
  config: AppConfig;
  running: RunningApp;
  server: Server;
  /** Errors the app logged as unexpected (500s). */
  errors: unknown[];
  /** Every audit event the app emitted, in order. */
  events: { type: string; userId?: string | null | undefined; reason?: string | undefined }[];
  clock: AppClock;
  /** A browser-like client that sends the app's Origin, as a browser does on form posts. */
  client(headers?: Record<string, string>): Client;
  close(): Promise<void>;
}

/** Starts the app with the given environment on top of a test default (temp DATA_DIR, fixed secret). */
export async function startApp(env: Record<string, string> = {}): Promise<AppUnderTest> {
  const ownDir = env.DATA_DIR ? null : mkdtempSync(join(tmpdir(), 'coatcheck-app-'));
  const config = loadConfig({ DATA_DIR: ownDir ?? '', SESSION_SECRET: SECRET, ...env });
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const errors: unknown[] = [];
  const events: AppUnderTest['events'] = [];
  const clock = new AppClock();
  const running = await createApp(
    { ...config, port },
    { warn: () => {}, logError: (e) => errors.push(e), audit: (event) => events.push(event), now: clock.now },
  );
  server.on('request', running.app);
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    config: { ...config, port },
    running,
    server,
    errors,
    events,
    clock,
    client: (headers = {}) => new Client(url, { origin: url, ...headers }),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await running.close();
      if (ownDir) rmSync(ownDir, { recursive: true, force: true });
    },
  };
}

/** The CSRF token of the first form on a page. */
export function csrfFrom(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no CSRF field on the page');
  return match[1]!;
}

/** Posts an urlencoded form, as a browser does. */
export function postForm(client: Client, path: string, fields: Record<string, string>) {
  return client.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
}

/** Loads `page`, then posts its form with the page's CSRF token. */
export async function submit(client: Client, page: string, action: string, fields: Record<string, string>) {
  const form = await client.get(page);
  return postForm(client, action, { _csrf: csrfFrom(form.text), ...fields });
}

/** Registers through the form. */
export function register(client: Client, email: string, password = PASSWORD) {
  return submit(client, '/register', '/register', { email, password, confirm: password });
}

/** Signs in through the form; throws unless it worked. */
export async function signIn(client: Client, email: string, password = PASSWORD): Promise<void> {
  const res = await submit(client, '/login', '/login', { email, password });
  if (res.status !== 303) throw new Error(`sign-in failed with ${res.status}`);
}

/** A registered, signed-in user on a new client. */
export async function newUser(app: AppUnderTest, email: string, headers: Record<string, string> = {}) {
  const client = app.client(headers);
  await register(client, email);
  await signIn(client, email);
  return client;
}

/** A signed-in administrator (created as the CLI does), password only: no second factor yet. */
export async function newPasswordOnlyAdmin(app: AppUnderTest, email: string): Promise<Client> {
  await createAdmin(app.config, { email, password: PASSWORD });
  const client = app.client();
  await signIn(client, email);
  return client;
}

const secrets = new WeakMap<Client, string>();

/** The TOTP secret a client's user enrolled through `enableTotp`. */
export function totpSecretOf(client: Client): string {
  const secret = secrets.get(client);
  if (!secret) throw new Error('this client did not enrol an authenticator');
  return secret;
}

/**
 * The code an authenticator shows now. Each accepted code burns its time-step (S41), so by default
 * the app's clock first moves to the next step, as a person would wait for the next code.
 */
export function nextCode(app: AppUnderTest, secret: string, { wait = true } = {}): string {
  if (wait) app.clock.advance(30_000);
  return totpCodeAt(secret, app.clock.now());
}

/** The value of a hidden field on a page. */
export function fieldFrom(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!match) throw new Error(`no ${name} field on the page`);
  return match[1]!;
}

/** Sets up an authenticator for the signed-in user of `client` (which needs a fresh sign-in). */
export async function enableTotp(app: AppUnderTest, client: Client): Promise<string> {
  const setup = await client.get('/account/two-step/setup');
  if (setup.status !== 200) throw new Error(`set-up page answered ${setup.status}`);
  const secret = /id="totp-secret">([A-Z2-7]+)</.exec(setup.text)?.[1];
  if (!secret) throw new Error('no secret on the set-up page');
  const res = await postForm(client, '/account/two-step/setup', {
    _csrf: csrfFrom(setup.text),
    current: PASSWORD,
    // No step of this secret was used yet; not moving the clock keeps the password step fresh.
    code: nextCode(app, secret, { wait: false }),
  });
  if (res.status !== 303) throw new Error(`enabling TOTP failed with ${res.status}`);
  secrets.set(client, secret);
  return secret;
}

/** Steps up through the `/step-up` form with the next code; returns the POST's response. */
export async function stepUpWith(app: AppUnderTest, client: Client, code?: string, returnTo = '/dashboard') {
  const form = await client.get(`/step-up?returnTo=${encodeURIComponent(returnTo)}`);
  return postForm(client, '/step-up', {
    _csrf: csrfFrom(form.text),
    challenge: fieldFrom(form.text, 'challenge'),
    returnTo,
    code: code ?? nextCode(app, totpSecretOf(client)),
  });
}

/**
 * A signed-in administrator with an authenticator app, freshly stepped up (S40): admin actions work
 * until `STEP_UP_MAX_AGE_MS` passes on the app's clock.
 */
export async function newAdmin(app: AppUnderTest, email: string): Promise<Client> {
  const client = await newPasswordOnlyAdmin(app, email);
  await enableTotp(app, client);
  return client;
}

/** Signs in a user who has TOTP: password, then the code page; throws unless it worked. */
export async function signInWithCode(app: AppUnderTest, client: Client, email: string, secret: string) {
  const password = await submit(client, '/login', '/login', { email, password: PASSWORD });
  if (password.status !== 303 || password.headers.get('location') !== '/login/code') {
    throw new Error(`password step answered ${password.status}`);
  }
  const page = await client.get('/login/code');
  const res = await postForm(client, '/login/code', {
    _csrf: csrfFrom(page.text),
    challenge: fieldFrom(page.text, 'challenge'),
    code: nextCode(app, secret),
  });
  if (res.status !== 303) throw new Error(`code step answered ${res.status}`);
}

/** The API's CSRF token for this client (creates the pre-session when anonymous). */
export async function apiToken(client: Client): Promise<string> {
  const res = await client.get('/api/session');
  return (res.json() as { csrfToken: string }).csrfToken;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
