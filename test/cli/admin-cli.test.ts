import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AppUnderTest, newUser, signIn, startApp } from '../app/harness.js';
import { ROOT } from '../app/processes.js';
import { findPostgres, type PostgresServer, startPostgres } from '../support/postgres-server.js';
import { hasRedis, type RedisServer, startRedis } from '../support/redis-server.js';

const CLI = join(ROOT, 'packages/coatcheck/dist/esm/cli/index.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Audit records the CLI wrote (JSON lines on stderr). */
  audit: Record<string, unknown>[];
}

/** Runs the built CLI as an operator would, with only the given store variables set. */
function coatcheck(args: string[], env: Record<string, string>): Promise<Run> {
  const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...base, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('exit', (code) => {
      const audit = stderr
        .split('\n')
        .filter((line) => line.startsWith('{"event"'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      done({ code, stdout, stderr, audit });
    });
  });
}

const json = (run: Run) => JSON.parse(run.stdout) as Record<string, unknown>;
const signedIn = async (client: ReturnType<AppUnderTest['client']>) =>
  (await client.get('/dashboard')).status === 200;

/**
 * One operator's session against a running app: list, revoke one, revoke a user, the kill switch
 * with and without a cut-off time, prune and health. `store` selects the backend for the CLI.
 */
function adminScenario(
  open: () => Promise<{ app: AppUnderTest; env: Record<string, string>; args: string[] }>,
) {
  let app: AppUnderTest;
  let env: Record<string, string>;
  let store: string[];
  before(async () => {
    ({ app, env, args: store } = await open());
  });
  after(() => app?.close());
  const run = (args: string[]) => coatcheck([...args, ...store], env);
  const idOf = async (email: string) => (await app.running.backends.users.findByEmail(email))!.id;

  it('lists, revokes one session and all of a user, with the library audit events', async () => {
    const laptop = await newUser(app, 'alice@example.com');
    const phone = app.client();
    await signIn(phone, 'alice@example.com');
    const alice = await idOf('alice@example.com');

    const listed = await run(['list', alice, '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const sessions = json(listed).sessions as { handle: string; createdAt: string; userAgent: unknown }[];
    assert.equal(sessions.length, 2);
    for (const cookie of [laptop.cookieHeader, phone.cookieHeader]) {
      const token = cookie.split('=')[1]!.split(';')[0]!;
      assert.ok(!listed.stdout.includes(token.split('.')[1]!), 'no token secret is ever listed');
    }
    const text = await run(['list', alice]);
    assert.equal(text.code, 0);
    assert.match(text.stdout, new RegExp(sessions[0]!.handle));

    // The phone's session: the one created last is listed by its handle.
    const phoneHandle = phone.cookieHeader.split('=')[1]!.split('.')[0]!;
    const revoked = await run(['revoke', phoneHandle, '--by', 'ops@example.com']);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(await signedIn(phone), false, 'the revoked session no longer works');
    assert.equal(await signedIn(laptop), true, 'the other session still works');
    assert.deepEqual(
      revoked.audit.map((r) => [r.event, r.handle, r.userId, r.by]),
      [['session.revoked', phoneHandle, alice, 'ops@example.com']],
    );
    const again = await run(['revoke', phoneHandle, '--json']);
    assert.equal(again.code, 1, 'nothing to revoke: exit 1');
    assert.equal(json(again).ended, false);

    const all = await run(['revoke-user', alice, '--json']);
    assert.equal(all.code, 0, all.stderr);
    assert.equal(json(all).sessionsEnded, 1);
    assert.equal(await signedIn(laptop), false);
    assert.equal(all.audit[0]?.event, 'session.logout_all');
    assert.equal(all.audit[0]?.count, 1);
    assert.match(String(all.audit[0]?.by), /^cli/);
    const none = await run(['list', alice]);
    assert.equal(none.code, 1, 'no live sessions: exit 1');
  });

  it('ends every session, or only those created before a time, once confirmed', async () => {
    const bob = await newUser(app, 'bob@example.com');
    const carol = await newUser(app, 'carol@example.com');
    const refused = await run(['end-all']);
    assert.equal(refused.code, 2, 'end-all needs --yes');
    assert.match(refused.stderr, /--yes/);
    assert.equal(await signedIn(bob), true);
    // Whole milliseconds, yet past the last time a Date can hold: refused before anything ends.
    const unreadable = await run(['end-all', '--yes', '--before', '99999999999999999999']);
    assert.equal(unreadable.code, 2, unreadable.stderr);
    assert.match(unreadable.stderr, /--before/);
    assert.deepEqual(unreadable.audit, []);
    assert.equal(await signedIn(bob), true);

    const past = new Date(Date.now() - 3_600_000).toISOString();
    const early = await run(['end-all', '--yes', '--before', past, '--json']);
    assert.equal(early.code, 0, early.stderr);
    assert.equal(json(early).sessionsEnded, 0, 'nothing was created an hour ago');
    assert.equal(await signedIn(bob), true);

    const ended = await run(['end-all', '--yes', '--json', '--before', String(Date.now() + 1000)]);
    assert.equal(ended.code, 0, ended.stderr);
    assert.ok((json(ended).sessionsEnded as number) >= 2);
    assert.equal(await signedIn(bob), false);
    assert.equal(await signedIn(carol), false);
    const users = ended.audit.filter((r) => r.event === 'session.logout_all').map((r) => r.userId);
    assert.ok(users.includes(await idOf('bob@example.com')));
    assert.ok(users.includes(await idOf('carol@example.com')));
    assert.ok(ended.audit.every((r) => r.reason === 'end_all_before'));
  });

  it('reports health and prunes', async () => {
    await newUser(app, 'dave@example.com');
    const health = await run(['health', '--json']);
    assert.equal(health.code, 0, health.stderr);
    const report = json(health);
    assert.ok((report.records as number) >= 1);
    assert.ok((report.users as number) >= 1);
    if (report.store !== 'redis') {
      assert.equal(report.schemaVersion, 4);
      assert.ok((report.live as number) >= 1);
    }
    const text = await run(['health']);
    assert.match(text.stdout, /store: (sqlite|redis|postgres)/);
    const pruned = await run(['prune', '--json']);
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.equal(typeof json(pruned).pruned, 'number');
  });
}

describe('admin CLI on SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coatcheck-admin-cli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  adminScenario(async () => ({
    app: await startApp({ DATA_DIR: dir }),
    env: {},
    args: ['--sqlite', join(dir, 'coatcheck.db')],
  }));

  it('explains usage errors with exit 2 and never creates a database', async () => {
    const missing = join(dir, 'nope.db');
    const runs = await Promise.all([
      coatcheck(['health'], {}),
      coatcheck(['frobnicate', '--sqlite', missing], {}),
      coatcheck(['health', '--sqlite', missing], {}),
      coatcheck(['list'], { SQLITE_PATH: join(dir, 'coatcheck.db') }),
      coatcheck(['end-all', '--yes', '--before', 'yesterday-ish'], {
        SQLITE_PATH: join(dir, 'coatcheck.db'),
      }),
      coatcheck(['health', '--bogus'], {}),
    ]);
    for (const result of runs) assert.equal(result.code, 2, result.stderr);
    assert.match(runs[0]!.stderr, /no store configured/);
    assert.match(runs[1]!.stderr, /unknown command "frobnicate"/);
    assert.match(runs[2]!.stderr, /no database file/);
    assert.equal(existsSync(missing), false);
    assert.match(runs[3]!.stderr, /list needs exactly one <userId>/);
    assert.match(runs[4]!.stderr, /--before/);
    const asJson = await coatcheck(['health', '--json'], {});
    assert.equal((JSON.parse(asJson.stderr) as { error: { code: string } }).error.code, 'CLI_USAGE');
    const help = await coatcheck(['--help'], {});
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Exit codes/);
  });

  it('appends audit events to --audit-log, owner-only', async () => {
    const log = join(dir, 'audit.log');
    const result = await coatcheck(
      ['revoke-user', 'nobody', '--audit-log', log, '--sqlite', join(dir, 'coatcheck.db')],
      {},
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.audit.length, 0);
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    assert.equal((JSON.parse(lines[0]!) as { event: string }).event, 'session.logout_all');
  });
});

describe('admin CLI on Redis', { skip: !hasRedis && 'redis-server is not installed' }, () => {
  let redis: RedisServer;
  const dir = mkdtempSync(join(tmpdir(), 'coatcheck-admin-cli-redis-'));
  after(async () => {
    await redis?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  adminScenario(async () => {
    redis = await startRedis();
    return {
      app: await startApp({ DATA_DIR: dir, REDIS_URL: redis.url }),
      env: { REDIS_URL: redis.url },
      args: [],
    };
  });

  it('exits 3 with a message that never shows the URL when Redis is down', async () => {
    const url = 'redis://admin:hunter2-password@127.0.0.1:1';
    const result = await coatcheck(['health'], { REDIS_URL: url });
    assert.equal(result.code, 3);
    assert.match(result.stderr, /cannot connect to Redis/);
    assert.ok(!result.stderr.includes('hunter2'));
  });
});

describe('admin CLI on PostgreSQL', { skip: !findPostgres() && 'postgres is not installed' }, () => {
  let postgres: PostgresServer;
  const dir = mkdtempSync(join(tmpdir(), 'coatcheck-admin-cli-pg-'));
  after(async () => {
    await postgres?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  adminScenario(async () => {
    postgres = await startPostgres();
    const url = postgres.connectionString;
    return {
      app: await startApp({ DATA_DIR: dir, DATABASE_URL: url }),
      env: { DATABASE_URL: url },
      args: [],
    };
  });
});
