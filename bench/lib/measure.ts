/**
 * One timed run: prepare the cookies through the server's login route, snapshot CPU and store
 * counters, run wrk, snapshot again.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CaseSpec, ModeSettings } from '../config.js';
import type { BenchPostgres } from './postgres.js';
import { coreBusyMicros, cpuMicros, rssMiB } from './processes.js';
import { type BenchRedis, callDelta } from './redis.js';
import { LOAD_CORE, type RunningServer, SERVER_CORE } from './servers.js';
import { createSessions, DUMMY_COOKIE, forge, writeCookieFile } from './sessions.js';
import { runWrk, type WrkScript } from './wrk.js';

export interface Sample {
  rps: number;
  p50Us: number;
  p99Us: number;
  cpuUsPerRequest: number;
  /** CPU 0 time used by anything but the server during the run, in % of the run: other work on the machine. */
  foreignCpuPercent: number;
  /** Redis commands or Postgres statements per request; null for in-process stores. */
  storeOpsPerRequest: number | null;
  rssMiB: number;
  errors: number;
  requests: number;
  /** Redis commands per request by name (script-internal ones included), for the JSON output. */
  storeCommands?: Record<string, number>;
  note?: string;
}

export interface BenchContext {
  settings: ModeSettings;
  workDir: string;
  wrk: string;
  redis: BenchRedis | null;
  postgres: BenchPostgres | null;
  /** Database the Postgres-backed server uses. */
  postgresDatabase: string;
}

/** Reads the store's command counter for a server, or null when its store is in-process. */
export function storeCounter(server: RunningServer, context: BenchContext): (() => Promise<unknown>) | null {
  const { redis, postgres } = context;
  if (server.spec.store === 'redis' && redis) return () => redis.commandCalls();
  if (server.spec.store === 'postgres' && postgres)
    return () => postgres.statementCount(context.postgresDatabase);
  return null;
}

function commandsPerRequest(
  before: unknown,
  after: unknown,
  requests: number,
): Record<string, number> | null {
  if (!(before instanceof Map && after instanceof Map)) return null;
  const rates: Record<string, number> = {};
  for (const [name, calls] of after as Map<string, number>) {
    const delta = calls - ((before as Map<string, number>).get(name) ?? 0);
    if (delta > 0) rates[name] = Number((delta / requests).toFixed(4));
  }
  return rates;
}

export function storeOpsBetween(before: unknown, after: unknown): number {
  if (before instanceof Map && after instanceof Map) return callDelta(before, after);
  return Number(after) - Number(before);
}

function completeLines(path: string): string[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  // A line without its newline may have been cut short by wrk's exit.
  lines.pop();
  return lines.filter((line) => line.length > 0);
}

/** The wrk script and arguments for a case, after creating the sessions it needs. */
async function prepare(
  server: RunningServer,
  spec: CaseSpec,
  context: BenchContext,
  tag: string,
): Promise<{ script: WrkScript; args: string[]; note?: string }> {
  const file = (name: string) => join(context.workDir, `${server.spec.id}-${name}.txt`);
  const stateless = server.spec.store === 'none';
  switch (spec.cookies) {
    case 'none':
      return { script: 'read', args: [spec.path, '-'] };
    case 'sessions': {
      const cookies = await createSessions(server.url, context.settings.sessions, `${tag}-`);
      return { script: spec.script, args: [spec.path, writeCookieFile(file(spec.id), cookies)] };
    }
    case 'forged': {
      const cookies = await createSessions(server.url, context.settings.sessions, `${tag}-`);
      const forged = cookies.map((cookie) => (stateless ? cookie : forge(cookie)));
      if (!stateless && forged.some((cookie, k) => cookie === cookies[k])) throw new Error('could not forge');
      return { script: 'read', args: [spec.path, writeCookieFile(file(spec.id), forged)] };
    }
    case 'output':
      return { script: 'login', args: [spec.path, file('login-pool')] };
    case 'login-pool': {
      if (stateless)
        return { script: 'read', args: [spec.path, writeCookieFile(file('dummy'), [DUMMY_COOKIE]), 'POST'] };
      const pool = completeLines(file('login-pool'));
      if (pool.length === 0) throw new Error('the login run left no sessions to log out');
      return { script: 'logout', args: [spec.path, writeCookieFile(file('logout-pool'), pool)] };
    }
  }
}

export async function measure(
  server: RunningServer,
  spec: CaseSpec,
  context: BenchContext,
  tag: string,
  durationSec?: number,
): Promise<Sample> {
  const { settings } = context;
  const { script, args } = await prepare(server, spec, context, tag);
  const counter = storeCounter(server, context);
  const storeBefore = counter ? await counter() : null;
  const cpuBefore = cpuMicros(server.pid);
  const coreBefore = coreBusyMicros(SERVER_CORE);
  const wallBefore = performance.now();
  const result = await runWrk({
    binary: context.wrk,
    core: LOAD_CORE,
    url: server.url,
    script,
    args,
    durationSec: durationSec ?? (spec.short ? settings.shortDurationSec : settings.durationSec),
    connections: settings.connections,
    workDir: context.workDir,
  });
  const cpuAfter = cpuMicros(server.pid);
  const foreignUs = coreBusyMicros(SERVER_CORE) - coreBefore - (cpuAfter - cpuBefore);
  const wallUs = (performance.now() - wallBefore) * 1000;
  const storeAfter = counter ? await counter() : null;
  const requests = Math.max(1, result.requests);
  const commands = commandsPerRequest(storeBefore, storeAfter, requests);
  return {
    rps: result.rps,
    p50Us: result.p50Us,
    p99Us: result.p99Us,
    cpuUsPerRequest: (cpuAfter - cpuBefore) / requests,
    foreignCpuPercent: Math.max(0, (100 * foreignUs) / wallUs),
    storeOpsPerRequest: counter ? storeOpsBetween(storeBefore, storeAfter) / requests : null,
    rssMiB: rssMiB(server.pid),
    errors: result.errors,
    requests: result.requests,
    ...(commands ? { storeCommands: commands } : {}),
    ...(result.exhausted ? { note: 'logout pool ran out before the end of the run' } : {}),
  };
}
