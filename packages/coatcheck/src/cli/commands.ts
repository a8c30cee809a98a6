import type { SessionEngine } from '../core/engine.js';
import type { SessionInfo } from '../core/lifecycle/state.js';
import type { CliArgs } from './args.js';
import { EXIT, type ExitCode, usageError } from './errors.js';
import { storeHealth } from './health.js';
import type { OpenedStore } from './open-store.js';

/** What a command came to: printed as `text`, or as `json` with `--json`. */
export interface CommandResult {
  exitCode: ExitCode;
  json: Record<string, unknown>;
  text: string;
}

/** What every command gets: the engine (its events reach the audit sink), the store, who acts. */
export interface CommandContext {
  engine: SessionEngine;
  opened: OpenedStore;
  by: string;
  now: () => number;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** One session as listed: its public handle and device, never its token or CSRF secret. */
function listed(info: SessionInfo) {
  return {
    handle: info.handle,
    userAgent: info.userAgent,
    ip: info.ip,
    createdAt: iso(info.createdAt),
    authAt: iso(info.authAt),
    lastSeenAt: iso(info.lastSeenAt),
    idleExpiresAt: iso(info.idleExpiresAt),
    absoluteExpiresAt: iso(info.absoluteExpiresAt),
  };
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

async function list(ctx: CommandContext, userId: string): Promise<CommandResult> {
  const sessions = (await ctx.engine.listUserSessions(userId)).map(listed);
  const lines = sessions.map(
    (s) =>
      `${s.handle}  last seen ${s.lastSeenAt}  created ${s.createdAt}  ${s.ip ?? '-'}  ${s.userAgent ?? '-'}`,
  );
  return {
    exitCode: sessions.length === 0 ? EXIT.notFound : EXIT.ok,
    json: { userId, sessions },
    text: sessions.length === 0 ? `${userId} has no live sessions.` : lines.join('\n'),
  };
}

async function revoke(ctx: CommandContext, handle: string): Promise<CommandResult> {
  // Read first so the audit event names the session's user, as the library's own revocations do.
  const record = await ctx.opened.store.get(handle);
  const userId = record?.userId ?? undefined;
  const ended =
    record !== null && (await ctx.engine.revoke(handle, { by: ctx.by, ...(userId ? { userId } : {}) }));
  return {
    exitCode: ended ? EXIT.ok : EXIT.notFound,
    json: { handle, ended, userId: record?.userId ?? null },
    text: ended ? `Ended session ${handle}.` : `No session has the handle ${handle}.`,
  };
}

async function revokeUser(ctx: CommandContext, userId: string): Promise<CommandResult> {
  const count = await ctx.engine.revokeUserSessions(userId, { by: ctx.by });
  return {
    exitCode: EXIT.ok,
    json: { userId, sessionsEnded: count },
    text: `Ended ${plural(count, 'session')} of ${userId}.`,
  };
}

/**
 * The kill switch: ends every session (or those created before `before`) through the engine,
 * which reports them as it reports a sign-out everywhere, one `session.logout_all` per user.
 */
async function endAll(ctx: CommandContext, args: CliArgs): Promise<CommandResult> {
  if (!args.yes) throw usageError('end-all ends every matching session of every user; add --yes to confirm');
  const { sessionsEnded, users, rememberedDevicesEnded } = await ctx.engine.revokeAllSessions({
    by: ctx.by,
    ...(args.before === null ? {} : { createdBefore: args.before }),
  });
  const scope = args.before === null ? '' : ` created before ${iso(args.before)}`;
  return {
    exitCode: EXIT.ok,
    json: { sessionsEnded, users, rememberedDevicesEnded, createdBefore: iso(args.before) },
    text: `Ended ${plural(sessionsEnded, 'session')}${scope} (${plural(users, 'user')}) and ${plural(rememberedDevicesEnded, 'remembered device')}.`,
  };
}

async function prune(ctx: CommandContext): Promise<CommandResult> {
  const removed = await ctx.opened.store.pruneExpired(ctx.now());
  return {
    exitCode: EXIT.ok,
    json: { pruned: removed },
    text: `Removed ${plural(removed, 'expired record')}.`,
  };
}

async function health(ctx: CommandContext): Promise<CommandResult> {
  const report = await storeHealth(ctx.opened, ctx.now());
  const count = (n: number | null) => (n === null ? 'n/a' : String(n));
  return {
    exitCode: EXIT.ok,
    json: { ...report },
    text: [
      `store: ${report.store}`,
      `schema version: ${count(report.schemaVersion)}`,
      `records: ${report.records} (live ${count(report.live)}, signed in ${count(report.signedIn)}, expired ${report.expired})`,
      `users with sessions: ${report.users}`,
    ].join('\n'),
  };
}

/** Runs the parsed command against the opened store. */
export function runCommand(ctx: CommandContext, args: CliArgs): Promise<CommandResult> {
  const target = args.target ?? '';
  switch (args.command) {
    case 'list':
      return list(ctx, target);
    case 'revoke':
      return revoke(ctx, target);
    case 'revoke-user':
      return revokeUser(ctx, target);
    case 'end-all':
      return endAll(ctx, args);
    case 'prune':
      return prune(ctx);
    case 'health':
      return health(ctx);
  }
}
