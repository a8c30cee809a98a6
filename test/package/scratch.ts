/**
 * The package as a consumer installs it: the `npm pack` tarball of the built tree, extracted into
 * `node_modules/coatcheck` of a scratch project in a temporary folder. The runtime dependencies and
 * peers are symlinked from this repository's node_modules, so no registry is needed.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

export const run = promisify(execFile);

/** The repository (its node_modules holds every dependency and peer). */
export const root = resolve(import.meta.dirname, '../..');
/** The published library's folder: its package.json, dist/ and sql/. */
export const library = join(root, 'packages/coatcheck');
const repoModules = realpathSync(join(root, 'node_modules'));

interface PackageJson {
  exports: Record<string, unknown>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

export const manifest = JSON.parse(readFileSync(join(library, 'package.json'), 'utf8')) as PackageJson;

/** Every code entry point in package.json "exports", as the specifier a consumer writes. */
export const entryPoints: string[] = Object.keys(manifest.exports)
  .filter((subpath) => !subpath.endsWith('.json'))
  .map((subpath) => `coatcheck${subpath.slice(1)}`);

export interface Packed {
  tarball: string;
  /** Bytes of the .tgz. */
  size: number;
  unpackedSize: number;
  entryCount: number;
  /** Paths inside the tarball, relative to its package folder. */
  files: string[];
}

/** `npm pack` of the library's current dist/ (built by `npm run build`, which the test script runs first). */
export async function pack(destination: string): Promise<Packed> {
  for (const subpath of ['dist/esm', 'dist/cjs']) {
    if (!existsSync(join(library, subpath)))
      throw new Error(`${subpath} is missing: run npm run build first`);
  }
  // --ignore-scripts: a prepack hook must not rebuild while other tests read dist/.
  const { stdout } = await run(
    'npm',
    ['pack', '--json', '--ignore-scripts', '--pack-destination', destination],
    { cwd: library },
  );
  const [info] = JSON.parse(stdout) as {
    filename: string;
    size: number;
    unpackedSize: number;
    entryCount: number;
    files: { path: string }[];
  }[];
  if (!info) throw new Error('npm pack printed no result');
  return {
    tarball: join(destination, info.filename),
    size: info.size,
    unpackedSize: info.unpackedSize,
    entryCount: info.entryCount,
    files: info.files.map((file) => file.path),
  };
}

export interface Scratch {
  dir: string;
  packed: Packed;
}

/** A temporary project with the tarball installed and every dependency and peer linked. */
export async function scratchProject(): Promise<Scratch> {
  const base = await mkdtemp(join(tmpdir(), 'coatcheck-consumer-'));
  const packed = await pack(base);
  const dir = join(base, 'consumer');
  const installed = join(dir, 'node_modules', 'coatcheck');
  await mkdir(installed, { recursive: true });
  await run('tar', ['-xzf', packed.tarball, '-C', installed, '--strip-components=1']);
  await writeFile(join(dir, 'package.json'), '{ "name": "consumer", "private": true, "type": "module" }\n');
  const linked = [
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}),
    // Declarations the entry points' types refer to (express, pg, better-sqlite3 and node itself).
    '@types',
  ];
  for (const name of linked) {
    const target = join(dir, 'node_modules', name);
    await mkdir(dirname(target), { recursive: true });
    await symlink(join(repoModules, name), target, 'dir');
  }
  return { dir, packed };
}
