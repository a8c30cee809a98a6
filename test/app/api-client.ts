import assert from 'node:assert/strict';
import type { Client } from '../support/http.js';
import { type AppUnderTest, apiToken, PASSWORD } from './harness.js';

/** The body of every API failure. */
export interface ErrorBody {
  error: string;
  message: string;
}

/** Asserts the status and a `{ error, message }` body with this code. */
export function assertError(res: { status: number; json(): unknown }, status: number, error: string): void {
  assert.equal(res.status, status);
  const body = res.json() as ErrorBody;
  assert.equal(body.error, error);
  assert.equal(typeof body.message, 'string');
  assert.ok(body.message.length > 0);
}

/** Calls the API with the CSRF header, as a script on the app's pages does. */
export async function call(client: Client, method: string, path: string, body?: unknown) {
  const token = await apiToken(client);
  return client.request(path, {
    method,
    headers: { 'content-type': 'application/json', 'x-csrf-token': token },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** Registers and signs in through the API. */
export async function apiUser(
  app: AppUnderTest,
  email: string,
  headers: Record<string, string> = {},
): Promise<Client> {
  const client = app.client(headers);
  assert.equal((await call(client, 'POST', '/api/register', { email, password: PASSWORD })).status, 202);
  const res = await call(client, 'POST', '/api/login', { email, password: PASSWORD });
  assert.equal(res.status, 200);
  return client;
}
