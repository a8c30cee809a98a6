import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { newUser, PASSWORD, SECRET, signIn, startApp } from './harness.js';
import { ROOT } from './processes.js';

/** Runs the create-admin command with `input` on standard input. */
function createAdmin(args: string[], env: Record<string, string>, input = '') {
  return new Promise<{ code: number | null; output: string }>((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'app/cli/create-admin.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    child.stdin.end(input);
    child.on('exit', (code) => done({ code, output }));
  });
}

describe('create-admin command', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'coatcheck-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('creates an administrator with the password from standard input', async () => {
    const env = { DATA_DIR: dir, SESSION_SECRET: SECRET };
    const result = await createAdmin(['--email', 'Root@Example.com'], env, `${PASSWORD}\n`);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /Created administrator root@example.com/);
    const app = await startApp(env);
    try {
      const client = app.client();
      await signIn(client, 'root@example.com');
      assert.equal((await client.get('/admin')).status, 200);
    } finally {
      await app.close();
    }
  });

  it('promotes an existing user and ends their sessions', async () => {
    const env = { DATA_DIR: dir, SESSION_SECRET: SECRET };
    const app = await startApp(env);
    try {
      const user = await newUser(app, 'later-admin@example.com');
      assert.equal((await user.get('/admin')).status, 403);
      const result = await createAdmin(
        ['--email', 'later-admin@example.com'],
        { ...env, ADMIN_PASSWORD: '' },
        '\n',
      );
      assert.equal(result.code, 0, result.output);
      assert.match(result.output, /later-admin@example.com is now an administrator \(1 sessions ended\)/);
      assert.equal((await user.get('/dashboard')).status, 303, 'signed out by the promotion');
      await signIn(user, 'later-admin@example.com', PASSWORD);
      assert.equal((await user.get('/admin')).status, 200);
    } finally {
      await app.close();
    }
  });

  it('refuses a bad email or a weak password with a message and exit code 1', async () => {
    const env = { DATA_DIR: dir, SESSION_SECRET: SECRET };
    const noEmail = await createAdmin([], env, `${PASSWORD}\n`);
    assert.equal(noEmail.code, 1);
    assert.match(noEmail.output, /--email: Enter your email address/);
    const weak = await createAdmin(['--email', 'weak@example.com'], env, 'short\n');
    assert.equal(weak.code, 1);
    assert.match(weak.output, /at least 10 characters/);
  });
});
