import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Client } from '../support/http.js';
import { csrfFrom, PASSWORD, postForm } from './harness.js';
import { ROOT, spawnChild } from './processes.js';

const INSTALL_AND_START_MS = 10 * 60_000;
/** The repository to clone: this one, unless FRESH_CLONE_SOURCE names another (to try the test itself). */
const SOURCE = process.env.FRESH_CLONE_SOURCE ?? ROOT;

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

/** The first command of the README's first fenced shell block. */
function firstReadmeCommand(readme: string): string {
  const block = /```(?:bash|sh|shell)?\n([\s\S]*?)```/.exec(readme);
  const line = block?.[1]?.split('\n').find((text) => text.trim() && !text.trim().startsWith('#'));
  assert.ok(line, 'the README starts with a command block');
  return line.trim();
}

describe('a fresh clone of the committed repository', () => {
  it("runs the README's first command and serves the app: register and sign in over HTTP", {
    timeout: INSTALL_AND_START_MS + 60_000,
  }, async () => {
    try {
      execFileSync('git', ['-C', SOURCE, 'cat-file', '-e', 'HEAD:app/server.ts'], { stdio: 'ignore' });
    } catch {
      assert.fail('app/server.ts is not in the committed HEAD: commit the app first');
    }
    const dir = mkdtempSync(join(tmpdir(), 'coatcheck-clone-'));
    const dataDir = mkdtempSync(join(tmpdir(), 'coatcheck-clone-data-'));
    const clone = join(dir, 'coatcheck');
    execFileSync('git', ['clone', '--quiet', SOURCE, clone], { stdio: 'ignore' });
    const command = firstReadmeCommand(readFileSync(join(clone, 'README.md'), 'utf8'));
    assert.equal(command, 'npm install && npm start');
    // The install takes minutes, and a parallel test process may take the free port meanwhile: an
    // app that cannot bind it is started again on another (the install is done by then).
    let port = 0;
    let child: ReturnType<typeof spawnChild> | null = null;
    let url: string | undefined;
    try {
      for (let attempt = 1; !url; attempt++) {
        port = await freePort();
        child = spawnChild('bash', ['-c', command], {
          cwd: clone,
          env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, NODE_ENV: 'development' },
        });
        try {
          [, url] = await child.waitFor(
            /coatcheck reference app on (http:\/\/127\.0\.0\.1:\d+)/,
            INSTALL_AND_START_MS,
          );
        } catch (error) {
          if (attempt >= 3 || !String(error).includes('EADDRINUSE')) throw error;
          await child.stop();
        }
      }
      assert.equal(url, `http://127.0.0.1:${port}`);
      const client = new Client(url!, { origin: url! });
      const form = await client.get('/register');
      assert.equal(form.status, 200);
      const registered = await postForm(client, '/register', {
        _csrf: csrfFrom(form.text),
        email: 'clone@example.com',
        password: PASSWORD,
        confirm: PASSWORD,
      });
      assert.equal(registered.status, 303);
      const login = await client.get('/login');
      const signedIn = await postForm(client, '/login', {
        _csrf: csrfFrom(login.text),
        email: 'clone@example.com',
        password: PASSWORD,
      });
      assert.equal(signedIn.status, 303);
      const dashboard = await client.get('/dashboard');
      assert.equal(dashboard.status, 200);
      assert.match(dashboard.text, /Hello, clone@example.com/);
    } finally {
      await child?.stop();
      rmSync(dir, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
