import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../packages/coatcheck/src/cli/index.ts', import.meta.url));

// After "--", "--json" is a user id like any other: an error must stay plain text.
test('a user id "--json" after "--" does not switch errors to JSON', () => {
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', CLI, '--sqlite', '/nonexistent/coatcheck.db', 'list', '--', '--json'],
    { encoding: 'utf8' },
  );
  assert.equal(run.status, 2);
  assert.match(run.stderr, /^coatcheck: --sqlite: no database file/);
});
