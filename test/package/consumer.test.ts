/**
 * The published package as consumers see it: the `npm pack` tarball passes publint (strict) and
 * Are the Types Wrong (strict profile: node10, node16 from CJS and ESM, bundler), every entry point
 * in package.json "exports" loads through `import` and `require` from an installed copy, and a
 * TypeScript consumer type-checks under node16, bundler and node10 resolution. Needs `npm run build`.
 */
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import {
  knownExports,
  type Loaded,
  loaderSource,
  type TypeSetting,
  writeTypeProject,
} from './consumer-files.js';
import { entryPoints, root, run, type Scratch, scratchProject } from './scratch.js';

const node = process.execPath;
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const attw = join(root, 'node_modules/@arethetypeswrong/cli/dist/index.js');

/** Output of a child process, whether it exited 0 or not. */
async function output(file: string, args: string[], cwd: string): Promise<string> {
  return run(file, args, { cwd, env: { PATH: process.env.PATH ?? '' }, maxBuffer: 64 * 1024 * 1024 }).then(
    (result) => result.stdout,
    (error: { stdout?: string; message: string }) => error.stdout || error.message,
  );
}

const typeSettings: Record<TypeSetting, string> = {
  'node16-esm': 'module node16 / moduleResolution node16, from ESM (.mts)',
  'node16-cjs': 'module node16 / moduleResolution node16, from CommonJS (.cts)',
  bundler: 'module esnext / moduleResolution bundler',
  node10: 'module commonjs / moduleResolution node10 (typesVersions)',
};

describe('the packed package', () => {
  let scratch: Scratch;
  // The child processes run side by side; each test awaits the one it reads.
  const pending: {
    attw?: Promise<string>;
    load?: Record<'import' | 'require', Promise<string>>;
    tsc?: Record<string, Promise<string>>;
  } = {};
  before(async () => {
    scratch = await scratchProject();
    const { dir, packed } = scratch;
    // attw exits 1 when it finds problems; the JSON on stdout says which.
    const attwArgs = ['--profile', 'strict', '--no-definitely-typed', '--format', 'json'];
    pending.attw = output(node, [attw, packed.tarball, ...attwArgs], dir);
    const entries = JSON.stringify(entryPoints);
    pending.load = {
      import: output(node, ['--input-type=module', '-e', loaderSource('import'), entries], dir),
      require: output(node, ['-e', loaderSource('require'), entries], dir),
    };
    pending.tsc = {};
    for (const setting of Object.keys(typeSettings) as TypeSetting[]) {
      const project = await writeTypeProject(dir, setting, entryPoints);
      pending.tsc[setting] = output(node, [tsc, '-p', project, '--pretty', 'false'], dir);
    }
  });
  after(async () => {
    await Promise.allSettled([
      pending.attw,
      ...Object.values(pending.load ?? {}),
      ...Object.values(pending.tsc ?? {}),
    ]);
    if (scratch) await rm(dirname(scratch.dir), { recursive: true, force: true });
  });

  it('reports its tarball size and file count', (t) => {
    const { size, unpackedSize, entryCount } = scratch.packed;
    t.diagnostic(`tarball ${size} bytes (${unpackedSize} unpacked), ${entryCount} files`);
    assert.ok(entryCount > 0);
  });

  it('contains only the library: its build, SQL schema files, README, LICENSE and package.json', () => {
    const outside = scratch.packed.files.filter(
      (path) =>
        !/^(dist\/(esm|cjs)\/.+\.(js|d\.ts|json)|sql\/.+\.sql)$/.test(path) &&
        !['README.md', 'LICENSE', 'package.json'].includes(path),
    );
    assert.deepEqual(outside, []);
    for (const path of [
      'README.md',
      'LICENSE',
      'package.json',
      'dist/esm/core/index.js',
      'dist/cjs/core/index.js',
    ])
      assert.ok(scratch.packed.files.includes(path), `${path} is in the tarball`);
    assert.ok(
      scratch.packed.files.some((path) => path.startsWith('sql/postgres/')),
      'the SQL schema files are in it',
    );
  });

  it('passes publint in strict mode', async (t) => {
    const tarball = await readFile(scratch.packed.tarball);
    const { messages, pkg } = await publint({
      pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) },
      strict: true,
    });
    const text = messages.map(
      (message) => `${message.type}: ${formatMessage(message, pkg, { color: false })}`,
    );
    for (const line of text) t.diagnostic(line);
    assert.deepEqual(
      text.filter((line) => line.startsWith('error')),
      [],
    );
  });

  it('has no Are the Types Wrong problems under the strict profile', async () => {
    const report = JSON.parse((await pending.attw) ?? '') as {
      analysis: { problems: unknown[]; entrypoints: object };
    };
    assert.deepEqual(report.analysis.problems, []);
    const checked = Object.keys(report.analysis.entrypoints).filter((subpath) => !subpath.endsWith('.json'));
    assert.deepEqual(
      checked.map((subpath) => `coatcheck${subpath.slice(1)}`),
      entryPoints,
    );
  });

  describe('loads every entry point from an installed copy', () => {
    const loaded: Record<'import' | 'require', Record<string, Loaded>> = { import: {}, require: {} };
    before(async () => {
      for (const kind of ['import', 'require'] as const) {
        loaded[kind] = JSON.parse((await pending.load?.[kind]) ?? '') as Record<string, Loaded>;
      }
    });

    for (const spec of entryPoints) {
      for (const kind of ['import', 'require'] as const) {
        it(`${spec} through ${kind}`, () => {
          const result = loaded[kind][spec];
          assert.equal(result?.error, undefined, `${kind}('${spec}') failed`);
          const resolved = result?.resolved?.replace(/^file:\/\//, '') ?? '';
          assert.ok(resolved.startsWith(join(scratch.dir, 'node_modules', 'coatcheck') + sep), resolved);
          assert.ok(result?.keys?.length, `${spec} has no exports`);
          const known = knownExports[spec];
          if (known !== undefined) assert.ok(result.keys.includes(known), `${spec} lacks ${known}`);
        });
      }
      it(`${spec} gives CommonJS every export ESM gets`, () => {
        const esm = (loaded.import[spec]?.keys ?? []).filter((key) => key !== 'default');
        const cjs = new Set(loaded.require[spec]?.keys ?? []);
        assert.deepEqual(
          esm.filter((key) => !cjs.has(key)),
          [],
        );
      });
    }
  });

  describe('type-checks a consumer importing every entry point', () => {
    for (const [setting, label] of Object.entries(typeSettings)) {
      it(label, async () => {
        assert.equal(((await pending.tsc?.[setting]) ?? 'not run').trim(), '');
      });
    }
  });
});
