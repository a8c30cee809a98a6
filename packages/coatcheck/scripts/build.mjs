// Builds the ESM and CommonJS outputs with tsc; the CommonJS folder is marked as such.
// Runs in the package's folder (`npm run build` there, or `npm run build` in the repository root).
//
// Processes of this checkout may be running from `dist` while it builds (a second `npm start` on the
// same DATA_DIR rebuilds while the first serves): so the build is skipped when its inputs are the
// ones `dist` was built from, and otherwise written to a folder of its own and moved in file by file,
// each with one rename, never emptied in place.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

process.chdir(new URL('..', import.meta.url).pathname);
const tscBin = createRequire(import.meta.url).resolve('typescript/bin/tsc');
/** Digest of the inputs `dist` was built from (outside `dist`, so never in the package). */
const STAMP = '.build-inputs';

/** Every source file, relative to the package. */
function sources() {
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.push(path);
    }
  };
  walk('src');
  return files;
}

/** Whether `dist` holds an output for every source file (a folder removed by hand shows here). */
function distComplete(files) {
  return files
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .every((file) => {
      const js = `${file.slice('src/'.length, -'.ts'.length)}.js`;
      const esm = file === 'src/express/require.ts' || existsSync(join('dist/esm', js));
      return esm && existsSync(join('dist/cjs', js));
    });
}

/** Every input of the build: path, size and modification time, hashed. */
function inputsDigest(sourceFiles) {
  const files = [
    'tsconfig.build.json',
    'tsconfig.cjs.json',
    '../../tsconfig.json',
    'scripts/build.mjs',
    ...sourceFiles,
  ];
  const hash = createHash('sha256');
  for (const file of files.sort()) {
    const { size, mtimeMs } = statSync(file);
    hash.update(`${file}\0${size}\0${mtimeMs}\n`);
  }
  return hash.digest('hex');
}

// Staging folders of builds that were interrupted (their process is gone).
for (const name of readdirSync('.')) {
  const pid = Number(/^dist\.(?:next|old)-(\d+)$/.exec(name)?.[1]);
  if (!pid) continue;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if (error.code === 'ESRCH') rmSync(name, { recursive: true, force: true });
  }
}

const sourceFiles = sources();
const digest = inputsDigest(sourceFiles);
let built = null;
try {
  if (existsSync('dist/cjs/package.json') && distComplete(sourceFiles))
    built = readFileSync(STAMP, 'utf8').trim();
} catch {
  // No stamp or no dist: never built, or built by an older script.
}
if (built === digest && !process.argv.includes('--force')) {
  console.log('coatcheck: dist is up to date');
  process.exit(0);
}

const next = `dist.next-${process.pid}`;
const tsc = (project, outDir) =>
  execFileSync(process.execPath, [tscBin, '-p', project, '--outDir', outDir], { stdio: 'inherit' });
rmSync(next, { recursive: true, force: true });
rmSync(STAMP, { force: true });
try {
  tsc('tsconfig.build.json', join(next, 'esm'));
  tsc('tsconfig.cjs.json', join(next, 'cjs'));
  mkdirSync(join(next, 'cjs'), { recursive: true });
  writeFileSync(join(next, 'cjs', 'package.json'), '{ "type": "commonjs" }\n');
  // Each file is moved into `dist` with one rename, which replaces the old file atomically: a process
  // loading modules meanwhile finds every file, old or new. Files the new build no longer has go last.
  const kept = new Set();
  const moveInto = (from, to) => {
    mkdirSync(to, { recursive: true });
    for (const entry of readdirSync(from, { withFileTypes: true })) {
      const source = join(from, entry.name);
      const target = join(to, entry.name);
      kept.add(target);
      if (entry.isDirectory()) moveInto(source, target);
      else renameSync(source, target);
    }
  };
  moveInto(next, 'dist');
  const removeStale = (folder) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (!kept.has(path)) rmSync(path, { recursive: true, force: true });
      else if (entry.isDirectory()) removeStale(path);
    }
  };
  removeStale('dist');
  writeFileSync(STAMP, `${digest}\n`);
} finally {
  rmSync(next, { recursive: true, force: true });
}
