import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { it } from 'node:test';

it('the suite runs with a guard: a rejection left unhandled after a passing test fails the run', () => {
  const run = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      './test/support/strict-process.ts',
      '--test',
      'test/support/fixtures/late-rejection.fixture.ts',
    ],
    { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_TEST_CONTEXT: undefined } },
  );
  assert.notEqual(run.status, 0, run.stdout);
  assert.match(run.stdout + run.stderr, /left behind/);
});
