import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { it } from 'node:test';

it('scenarios an adapter declares unsupported are reported by name with the reason; the rest still run', () => {
  const run = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      '--test-reporter=tap',
      'test/support/fixtures/unsupported-adapter.fixture.ts',
    ],
    { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_TEST_CONTEXT: undefined } },
  );
  const out = run.stdout;
  assert.match(
    out,
    /ok \d+ - parallel-writers: .* # SKIP unsupported by this adapter: requests to one session are serialised by the framework/,
  );
  assert.match(
    out,
    /ok \d+ - hostile-cookies: .* # SKIP unsupported by this adapter: the framework rejects malformed Cookie headers itself/,
  );
  assert.match(out, /# skipped 2\n/);
  // Nothing else is skipped quietly: every other scenario ran, and failed on the adapter that cannot start.
  assert.match(out, /not ok \d+ - lazy-creation: /);
  assert.match(out, /# fail 15\n/);
  assert.notEqual(run.status, 0);
});
