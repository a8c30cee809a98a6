/**
 * Renewal-write check: a few sessions, each hit by several connections at once, on the route whose
 * renewal interval is one second. The server counts `update` calls per session; a session may be
 * written at most once per interval elapsed since it was created.
 */
import { join } from 'node:path';
import { CHECK_RENEWAL_MS } from '../servers/common.js';
import { type BenchContext, storeCounter, storeOpsBetween } from './measure.js';
import { LOAD_CORE, type RunningServer } from './servers.js';
import { createSessions, send, writeCookieFile } from './sessions.js';
import { runWrk } from './wrk.js';

export interface RenewalCheck {
  server: string;
  sessions: number;
  intervalMs: number;
  elapsedMs: number;
  /** Writes one session may have had: one per whole interval since it was created. */
  allowedPerSession: number;
  maxWritesPerSession: number;
  totalWrites: number;
  requests: number;
  storeOpsPerRequest: number | null;
  errors: number;
  met: boolean;
}

interface Stats {
  renewCheck: { total: number; sessions: number; maxPerSession: number } | null;
}

async function stats(server: RunningServer, method: 'GET' | 'POST'): Promise<Stats> {
  const res = await send(`${server.url}/__stats`, { method });
  return (await res.json()) as Stats;
}

export async function checkRenewal(server: RunningServer, context: BenchContext): Promise<RenewalCheck> {
  const { settings } = context;
  const createdAt = Date.now();
  const cookies = await createSessions(server.url, settings.renewCheckSessions, 'renewal-');
  await stats(server, 'POST');
  const counter = storeCounter(server, context);
  const before = counter ? await counter() : null;
  const result = await runWrk({
    binary: context.wrk,
    core: LOAD_CORE,
    url: server.url,
    script: 'read',
    args: [
      '/renew-check/me',
      writeCookieFile(join(context.workDir, `${server.spec.id}-renewal.txt`), cookies),
    ],
    durationSec: settings.renewCheckSec,
    connections: settings.connections,
    workDir: context.workDir,
  });
  const after = counter ? await counter() : null;
  const elapsedMs = Date.now() - createdAt;
  const counted = (await stats(server, 'GET')).renewCheck ?? { total: 0, sessions: 0, maxPerSession: 0 };
  const allowedPerSession = Math.floor(elapsedMs / CHECK_RENEWAL_MS);
  return {
    server: server.spec.id,
    sessions: cookies.length,
    intervalMs: CHECK_RENEWAL_MS,
    elapsedMs,
    allowedPerSession,
    maxWritesPerSession: counted.maxPerSession,
    totalWrites: counted.total,
    requests: result.requests,
    storeOpsPerRequest: counter ? storeOpsBetween(before, after) / Math.max(1, result.requests) : null,
    errors: result.errors,
    met: result.errors === 0 && counted.maxPerSession <= allowedPerSession,
  };
}
