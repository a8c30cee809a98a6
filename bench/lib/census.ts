/**
 * Redis round trips per request, by case: a few requests sent one at a time while a MONITOR
 * connection records every command. MONITOR marks commands run inside a Lua script as `[… lua]`,
 * which `INFO commandstats` cannot tell apart from commands sent by the client.
 */
import { connect } from 'node:net';
import type { CaseId } from '../config.js';
import type { RunningServer } from './servers.js';
import { createSessions, send as fetchOnce, forge } from './sessions.js';

/**
 * The matrix's cases, and `relogin`: a sign-in of a user who already has a session (and so a user
 * index), where `login` signs in a new user each time.
 */
export type CensusCase = CaseId | 'relogin';

export interface Census {
  /** Commands the server's client sent, per request. */
  roundTrips: number;
  /** Commands run inside scripts, per request. */
  scriptCommands: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function send(server: RunningServer, method: string, path: string, cookie?: string): Promise<void> {
  const res = await fetchOnce(server.url + path, { method, headers: cookie ? { cookie } : {} });
  await res.arrayBuffer();
  if (res.status >= 400) throw new Error(`${method} ${path} answered ${res.status}`);
}

/** The requests of one case, after whatever setup they need (done before MONITOR starts). */
async function plan(server: RunningServer, caseId: CensusCase, count: number): Promise<() => Promise<void>> {
  const [cookie] = await createSessions(server.url, 1, `census-${caseId}-`);
  switch (caseId) {
    case 'read':
      return async () => {
        for (let i = 0; i < count; i++) await send(server, 'GET', '/me', cookie);
      };
    case 'renew':
      return async () => {
        for (let i = 0; i < count; i++) {
          await sleep(2);
          await send(server, 'GET', '/renew/me', cookie);
        }
      };
    case 'login':
      return async () => {
        for (let i = 0; i < count; i++) await send(server, 'POST', `/login?user=census${i}`);
      };
    case 'relogin': {
      const user = `census-again-${server.spec.id}`;
      await send(server, 'POST', `/login?user=${user}`);
      return async () => {
        for (let i = 0; i < count; i++) await send(server, 'POST', `/login?user=${user}`);
      };
    }
    case 'logout': {
      const pool = await createSessions(server.url, count, 'census-logout-');
      return async () => {
        for (const each of pool) await send(server, 'POST', '/logout', each);
      };
    }
    case 'mix':
      return async () => {
        for (let i = 1; i <= count; i++) {
          await send(server, i % 10 === 0 ? 'POST' : 'GET', i % 10 === 0 ? '/write' : '/me', cookie);
        }
      };
    case 'anon':
      return async () => {
        for (let i = 0; i < count; i++) await send(server, 'GET', '/public');
      };
    case 'forged':
      return async () => {
        for (let i = 0; i < count; i++) await send(server, 'GET', '/public', forge(cookie!));
      };
  }
}

export async function redisCensus(
  redisUrl: string,
  server: RunningServer,
  caseId: CensusCase,
  count: number,
): Promise<Census> {
  const run = await plan(server, caseId, count);
  const { hostname, port } = new URL(redisUrl);
  const socket = connect(Number(port), hostname);
  let text = '';
  let started: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    started = resolve;
  });
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    if (text.startsWith('+OK')) started();
  });
  socket.write('MONITOR\r\n');
  await ready;
  await run();
  await sleep(100);
  socket.destroy();
  let client = 0;
  let script = 0;
  for (const line of text.split('\r\n')) {
    const match = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]+)"/.exec(line);
    if (!match) continue;
    if (match[1] === 'lua') script++;
    else if (match[2]!.toLowerCase() !== 'monitor') client++;
  }
  return { roundTrips: client / count, scriptCommands: script / count };
}
