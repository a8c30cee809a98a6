/** `npm run docs`: TypeDoc over every entry point in package.json "exports" builds with zero errors. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { entryPoints, root, run } from './scratch.js';

it('npm run docs builds the API reference with zero TypeDoc errors', { timeout: 300_000 }, async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'coatcheck-docs-'));
  try {
    const { log, exitCode } = await run('npm', ['run', 'docs', '--', '--out', out], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      maxBuffer: 64 * 1024 * 1024,
    }).then(
      (result) => ({ log: `${result.stdout}\n${result.stderr}`, exitCode: 0 }),
      (error: { stdout?: string; stderr?: string; code?: number }) => ({
        log: `${error.stdout ?? ''}\n${error.stderr ?? ''}`,
        exitCode: error.code ?? 1,
      }),
    );
    // TypeDoc prints the summary only when something was reported.
    const summary = /Found (\d+) errors? and (\d+) warnings?/.exec(log);
    t.diagnostic(summary?.[0] ?? 'TypeDoc reported nothing');
    assert.equal(summary?.[1] ?? '0', '0', log);
    assert.equal(exitCode, 0, log);
    // One module page per entry point, titled with its specifier (scripts/typedoc-entry-names.mjs).
    assert.deepEqual(
      (await readdir(join(out, 'modules'))).sort(),
      entryPoints.map((spec) => `${spec.replaceAll('/', '_')}.html`).sort(),
      log,
    );
    assert.ok(existsSync(join(out, 'index.html')));
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
