// Builds the ESM and CommonJS outputs with tsc; the CommonJS folder is marked as such.
// Runs in the package's folder (`npm run build` there, or `npm run build` in the repository root).
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

process.chdir(new URL('..', import.meta.url).pathname);
const tscBin = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const tsc = (project) => execFileSync(process.execPath, [tscBin, '-p', project], { stdio: 'inherit' });
rmSync('dist', { recursive: true, force: true });
tsc('tsconfig.build.json');
tsc('tsconfig.cjs.json');
mkdirSync('dist/cjs', { recursive: true });
writeFileSync('dist/cjs/package.json', '{ "type": "commonjs" }\n');
