/**
 * What a consumer writes: a script that loads every entry point (as ESM or CommonJS) and reports
 * its exports, and a TypeScript file that imports every entry point under each module setting.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One export each entry point is known to have; an entry point missing here is still loaded and typed. */
export const knownExports: Record<string, string> = {
  coatcheck: 'createSessionEngine',
  'coatcheck/express': 'session',
  'coatcheck/fastify': 'requireAuth',
  'coatcheck/hono': 'session',
  'coatcheck/stores/memory': 'MemoryStore',
  'coatcheck/stores/sqlite': 'SqliteStore',
  'coatcheck/stores/redis': 'RedisStore',
  'coatcheck/stores/postgres': 'PostgresStore',
  'coatcheck/stores/connect': 'ConnectStore',
  'coatcheck/audit': 'auditSink',
  'coatcheck/testing': 'runStoreConformance',
  'coatcheck/metrics': 'sessionMetrics',
};

export interface Loaded {
  /** The file the specifier resolved to. */
  resolved?: string;
  keys?: string[];
  error?: string;
}

/** Source for `node -e` that loads each specifier in argv[1] and prints `{ [specifier]: Loaded }`. */
export function loaderSource(kind: 'import' | 'require'): string {
  const load = kind === 'import' ? 'await import(spec)' : 'require(spec)';
  const where = kind === 'import' ? 'import.meta.resolve(spec)' : 'require.resolve(spec)';
  const body = `const out = {};
for (const spec of JSON.parse(process.argv[1])) {
  try { const m = ${load}; out[spec] = { resolved: String(${where}), keys: Object.keys(m) }; }
  catch (error) { out[spec] = { error: String(error) }; }
}
process.stdout.write(JSON.stringify(out));`;
  return kind === 'import' ? body : `(() => { ${body} })();`;
}

export type TypeSetting = 'node16-esm' | 'node16-cjs' | 'bundler' | 'node10';

interface Setting {
  file: string;
  format: 'esm' | 'cjs';
  options: Record<string, unknown>;
}

// Library checking (skipLibCheck: false) costs ~10 s of CPU a program, so it runs where it covers
// coatcheck's two declaration trees: node16 ESM reads dist/esm, node16 CJS reads dist/cjs. One program
// holding both trees would see each framework augmentation twice (TS2717): consumers pick one format.
const settings: Record<TypeSetting, Setting> = {
  'node16-esm': {
    file: 'node16.mts',
    format: 'esm',
    options: { module: 'node16', moduleResolution: 'node16', skipLibCheck: false },
  },
  'node16-cjs': {
    file: 'node16.cts',
    format: 'cjs',
    options: { module: 'node16', moduleResolution: 'node16', skipLibCheck: false },
  },
  bundler: { file: 'bundler.ts', format: 'esm', options: { module: 'esnext', moduleResolution: 'bundler' } },
  // `tsc --init` turns esModuleInterop on; the CJS declarations default-import pg and better-sqlite3.
  node10: {
    file: 'node10.ts',
    format: 'cjs',
    options: { module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true },
  },
};

function esmSource(entries: string[]): string {
  const lines = entries.map((spec, i) => `import * as e${i} from '${spec}';`);
  return [
    "import express from 'express';",
    ...lines,
    probes(entries),
    // The headline: the express entry's middleware fits express's own types.
    `express().use(e${expressIndex(entries)}.session({ secret: 'a-consumer-secret-of-forty-characters-x' }));`,
  ].join('\n');
}

function cjsSource(entries: string[]): string {
  const lines = entries.map((spec, i) => `import e${i} = require('${spec}');`);
  return [
    "import express = require('express');",
    ...lines,
    probes(entries),
    // require('coatcheck/express') is the middleware factory itself, as require('express-session') is.
    `express().use(e${expressIndex(entries)}({ secret: 'a-consumer-secret-of-forty-characters-x' }));`,
  ].join('\n');
}

function expressIndex(entries: string[]): number {
  const index = entries.indexOf('coatcheck/express');
  if (index < 0) throw new Error('package.json exports has no ./express');
  return index;
}

function probes(entries: string[]): string {
  const types = entries.map((spec, i) => {
    const name = knownExports[spec];
    return name === undefined ? `typeof e${i}` : `typeof e${i}.${name}`;
  });
  return `export type Probes = [\n  ${types.join(',\n  ')},\n];`;
}

/** Writes the consumer file and a tsconfig for one setting; returns the tsconfig's path. */
export async function writeTypeProject(
  dir: string,
  setting: TypeSetting,
  entries: string[],
): Promise<string> {
  const { file, format, options } = settings[setting];
  const source = format === 'esm' ? esmSource(entries) : cjsSource(entries);
  await writeFile(join(dir, file), `${source}\n`);
  const tsconfig = {
    compilerOptions: {
      target: 'es2022',
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
      ...options,
    },
    files: [file],
  };
  const path = join(dir, `tsconfig.${setting}.json`);
  await writeFile(path, JSON.stringify(tsconfig, null, 2));
  return path;
}
