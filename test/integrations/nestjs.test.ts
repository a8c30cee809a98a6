import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Client } from '../support/http.js';

const root = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const SECRET = 'nest-example-secret-long-enough-0123456789';

/** A throwaway application folder that depends on the built coatcheck package, as an installed one would. */
function consumerFolder(prefix: string, packages: string[]): string {
  assert.ok(
    existsSync(join(root, 'packages', 'coatcheck', 'dist', 'cjs', 'express', 'require.js')),
    'the package is built (npm run build)',
  );
  const dir = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(join(root, 'packages', 'coatcheck'), join(dir, 'node_modules', 'coatcheck'));
  for (const name of packages) symlinkSync(join(root, 'node_modules', name), join(dir, 'node_modules', name));
  return dir;
}

async function compile(dir: string): Promise<void> {
  const result = await run(process.execPath, [tsc, '-p', dir]).catch((error: { stdout: string }) => error);
  assert.equal('stdout' in result ? result.stdout : '', '', 'the application compiles');
}

interface NestApp {
  listen(port: number, host: string): Promise<unknown>;
  getHttpServer(): { address(): AddressInfo };
  close(): Promise<void>;
}

describe('NestJS example (examples/nestjs): app.use(session()) and @Session()', () => {
  let dir: string;
  let app: NestApp;
  let url: string;
  before(async () => {
    // Compiled by tsc, as Nest's own CLI does: decorators need experimentalDecorators, and Nest's
    // dependency injection reads the parameter types emitDecoratorMetadata writes, which esbuild omits.
    dir = consumerFolder('coatcheck-nest-', ['@nestjs', '@types', 'express', 'reflect-metadata', 'rxjs']);
    for (const entry of ['package.json', 'tsconfig.json', 'src']) {
      cpSync(join(root, 'examples', 'nestjs', entry), join(dir, entry), { recursive: true });
    }
    await compile(dir);
    const { createApp } = createRequire(join(dir, 'dist', 'main.js'))('./main.js') as {
      createApp(secret: string): Promise<NestApp>;
    };
    app = await createApp(SECRET);
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${app.getHttpServer().address().port}`;
  });
  after(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps an anonymous cart, signs in with rotation, reads the session, and signs out for real', async () => {
    const browser = new Client(url);
    const cart = await browser.post('/cart', { item: 'apple' });
    assert.equal(cart.status, 200);
    assert.equal(cart.setCookies.length, 1, 'the first write sets the session cookie');
    assert.equal((await browser.get('/me')).status, 403, 'the guard refuses an anonymous session');
    const anonymous = browser.cookieHeader;

    assert.equal((await browser.post('/login', { username: 'alice', password: 'wrong' })).status, 401);
    const login = await browser.post('/login', { username: 'alice', password: 'alice-password' });
    assert.equal(login.status, 200);
    assert.notEqual(browser.cookieHeader, anonymous, 'sign-in rotates the token');
    const me = await browser.get('/me');
    assert.equal(me.status, 200);
    assert.deepEqual(me.json(), { userId: 'u-alice', name: 'Alice', cart: ['apple'] });
    assert.equal(
      (await browser.get('/me', { cookie: anonymous })).status,
      403,
      'the pre-login token is dead',
    );

    const signedIn = browser.cookieHeader;
    const logout = await browser.post('/logout');
    assert.equal(logout.status, 200);
    assert.equal(browser.jar.size, 0, 'the cookie is cleared');
    assert.equal((await browser.get('/me', { cookie: signedIn })).status, 403, 'the old cookie is dead');
  });
});

describe('CommonJS TypeScript without esModuleInterop', () => {
  const consumer = `
import * as session from 'coatcheck/express';
import { MemoryStore, requireAuth, type TypedSession } from 'coatcheck/express';
import express = require('express');

const app = express();
app.use(session({ secret: '${SECRET}', store: new MemoryStore() }));
app.get('/me', requireAuth(), (req, res) => {
  const current: TypedSession = req.session;
  res.json({ userId: current.meta?.userId ?? null });
});
const server = app.listen(0, '127.0.0.1', async () => {
  const { port } = server.address() as { port: number };
  const res = await fetch('http://127.0.0.1:' + port + '/me');
  console.log(JSON.stringify({ factory: typeof session, requireAuth: typeof requireAuth, status: res.status }));
  server.close();
});
`;

  it('compiles with module CommonJS output and runs against the built package', async () => {
    const dir = consumerFolder('coatcheck-cjs-', ['@types', 'express']);
    try {
      writeFileSync(join(dir, 'package.json'), '{ "type": "commonjs" }');
      writeFileSync(join(dir, 'index.ts'), consumer);
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            // node16 emits CommonJS in a "type": "commonjs" folder and is the CommonJS setting
            // that reads package.json "exports" (module "commonjs" resolves as node10 and does not).
            module: 'node16',
            moduleResolution: 'node16',
            esModuleInterop: false,
            target: 'ES2022',
            skipLibCheck: true,
            types: ['node'],
            outDir: 'out',
          },
          files: ['index.ts'],
        }),
      );
      await compile(dir);
      const { stdout } = await run(process.execPath, [join(dir, 'out', 'index.js')]);
      assert.deepEqual(JSON.parse(stdout), { factory: 'function', requireAuth: 'function', status: 401 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
