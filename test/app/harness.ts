import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type RunningApp } from '../../app/app.js';
import { createAdmin } from '../../app/cli/create-admin.js';
import { type AppConfig, loadConfig } from '../../app/config.js';
import { Client } from '../support/http.js';

export const SECRET = 'app-test-secret-that-is-long-enough-0123456789';
export const PASSWORD = 'correct horse battery staple';

/** The reference app running in-process on a free loopback port, on a throwaway DATA_DIR. */
export interface AppUnderTest {
  url: string;
  config: AppConfig;
  running: RunningApp;
  server: Server;
  /** Errors the app logged as unexpected (500s). */
  errors: unknown[];
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
  const running = await createApp({ ...config, port }, { warn: () => {}, logError: (e) => errors.push(e) });
  server.on('request', running.app);
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    config: { ...config, port },
    running,
    server,
    errors,
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

/** A signed-in administrator (created as the CLI does). */
export async function newAdmin(app: AppUnderTest, email: string): Promise<Client> {
  await createAdmin(app.config, { email, password: PASSWORD });
  const client = app.client();
  await signIn(client, email);
  return client;
}

/** The API's CSRF token for this client (creates the pre-session when anonymous). */
export async function apiToken(client: Client): Promise<string> {
  const res = await client.get('/api/session');
  return (res.json() as { csrfToken: string }).csrfToken;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
