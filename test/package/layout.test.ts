import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../packages/coatcheck/src');
const files = (readdirSync(SRC, { recursive: true }) as string[])
  .filter((name) => name.endsWith('.ts'))
  .map((name) => join(SRC, name));
const folderOf = (file: string) => relative(SRC, file).split('/')[0]!;

/** Every `from '…'` and `import('…')` of a file, relative ones resolved to a path under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import\()\s*'([^']+)'/g)].map(([, spec]) =>
    spec!.startsWith('.') ? relative(SRC, resolve(dirname(file), spec!)) : spec!,
  );
}

describe('source layout', () => {
  it('keeps dependencies pointing inward: the core imports no adapter, store or driver', () => {
    const outward = files
      .filter((file) => folderOf(file) === 'core')
      .flatMap((file) =>
        importsOf(file)
          .filter((spec) => !spec.startsWith('core/') && !spec.startsWith('node:') && spec !== 'cookie')
          .map((spec) => `${relative(SRC, file)} imports ${spec}`),
      );
    assert.deepEqual(outward, []);
  });

  it('keeps stores on the core and their drivers, never on an adapter', () => {
    const adapters = ['express/', 'fastify/', 'hono/', 'cli/', 'testing/'];
    const wrong = files
      .filter((file) => folderOf(file) === 'stores')
      .flatMap((file) =>
        importsOf(file)
          .filter((spec) => adapters.some((folder) => spec.startsWith(folder)))
          .map((spec) => `${relative(SRC, file)} imports ${spec}`),
      );
    assert.deepEqual(wrong, []);
  });

  it('keeps each framework adapter off the others: Express, Fastify and Hono share only neutral modules', () => {
    const adapters = ['express', 'fastify', 'hono'];
    const crossing = files
      .filter((file) => adapters.includes(folderOf(file)))
      .flatMap((file) =>
        importsOf(file)
          .filter((spec) =>
            adapters.some((folder) => folder !== folderOf(file) && spec.startsWith(`${folder}/`)),
          )
          .map((spec) => `${relative(SRC, file)} imports ${spec}`),
      );
    assert.deepEqual(crossing, []);
  });

  it('states why at the top of any source file over ~250 lines', () => {
    const unexplained = files.filter((file) => {
      const text = readFileSync(file, 'utf8');
      return text.trimEnd().split('\n').length > 250 && !text.startsWith('// Over ~250 lines on purpose:');
    });
    assert.deepEqual(
      unexplained.map((file) => relative(SRC, file)),
      [],
    );
  });
});
