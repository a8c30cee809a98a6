/**
 * The library's build (packages/coatcheck/scripts/build.mjs) as two `npm start`s on one checkout
 * run it: on a copy of the package, two builds at once while another process keeps loading modules
 * from `dist`, then a build with nothing changed.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  utimesSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

const repository = new URL('../..', import.meta.url).pathname;
const library = join(repository, 'packages/coatcheck');

function exited(child: ChildProcess): Promise<{ code: number | null; output: string }> {
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

const build = (packageDir: string) =>
  exited(
    spawn(process.execPath, [join(packageDir, 'scripts/build.mjs')], { stdio: ['ignore', 'pipe', 'pipe'] }),
  );

describe('the library build', { timeout: 300_000 }, () => {
  let root: string;
  let packageDir: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'coatcheck-build-'));
    packageDir = join(root, 'packages/coatcheck');
    cpSync(join(repository, 'tsconfig.json'), join(root, 'tsconfig.json'));
    symlinkSync(join(repository, 'node_modules'), join(root, 'node_modules'));
    for (const entry of ['package.json', 'src', 'scripts', 'tsconfig.build.json', 'tsconfig.cjs.json']) {
      cpSync(join(library, entry), join(packageDir, entry), { recursive: true });
    }
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('builds, and two builds at once never leave a running process without dist', async () => {
    const first = await build(packageDir);
    assert.equal(first.code, 0, first.output);
    // A source file changed: both builds below run in full.
    const now = new Date();
    utimesSync(join(packageDir, 'src/core/index.ts'), now, now);

    // Loads a module from dist again and again (a fresh URL each time) until told to stop.
    const loader = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `let loads = 0;
         let stop = false;
         process.stdin.on('data', () => { stop = true; });
         while (!stop) {
           await import(${JSON.stringify(join(packageDir, 'dist/esm/core/index.js'))} + '?' + loads);
           loads++;
           await new Promise((resolve) => setImmediate(resolve));
         }
         console.log('loads', loads);
         process.exit(0);`,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const loading = exited(loader);
    const [a, b] = await Promise.all([build(packageDir), build(packageDir)]);
    loader.stdin!.write('stop\n');
    const loaded = await loading;
    assert.equal(a.code, 0, a.output);
    assert.equal(b.code, 0, b.output);
    assert.equal(loaded.code, 0, `a module load failed during the builds: ${loaded.output}`);
    assert.ok(Number(/loads (\d+)/.exec(loaded.output)?.[1]) > 0, loaded.output);
    assert.ok(existsSync(join(packageDir, 'dist/esm/core/index.js')));
    assert.ok(existsSync(join(packageDir, 'dist/cjs/package.json')));
    assert.deepEqual(
      readdirSync(packageDir).filter((name) => name.startsWith('dist.')),
      [],
      'no staging folder is left behind',
    );
  });

  it('builds again when part of dist is gone, and removes what interrupted builds left', async () => {
    rmSync(join(packageDir, 'dist/esm/stores'), { recursive: true, force: true });
    // A folder of a build whose process is gone (pid beyond pid_max).
    mkdirSync(join(packageDir, 'dist.next-99999999/esm'), { recursive: true });
    const again = await build(packageDir);
    assert.equal(again.code, 0, again.output);
    assert.doesNotMatch(again.output, /dist is up to date/);
    assert.ok(existsSync(join(packageDir, 'dist/esm/stores/sqlite.js')));
    assert.deepEqual(
      readdirSync(packageDir).filter((name) => name.startsWith('dist.')),
      [],
    );
  });

  it('does nothing when no input changed', async () => {
    const again = await build(packageDir);
    assert.equal(again.code, 0, again.output);
    assert.match(again.output, /dist is up to date/);
  });
});
