import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCli } from '../../packages/coatcheck/src/cli/args.js';

describe('admin CLI arguments', () => {
  // A handle is base64url: one in 32 begins with "-", and a user id may begin with anything.
  const dashed = ['-Xq3vYk2Lr8Ttz0Aa1Bb2Cc', '--Xq3vYk2Lr8Ttz0Aa1Bb2C', '-h-but-longer', '-'];

  it('takes the word after list, revoke and revoke-user as the target whatever it begins with', () => {
    for (const command of ['list', 'revoke', 'revoke-user']) {
      for (const target of dashed) {
        for (const argv of [
          [command, target],
          [command, target, '--json', '--sqlite', 'x.db'],
          ['--sqlite', 'x.db', '--by', 'ops', command, target],
          ['--json', command, target, '--by', 'ops'],
          [command, '--', target],
        ]) {
          const parsed = parseCli(argv);
          assert.equal(parsed?.command, command, argv.join(' '));
          assert.equal(parsed?.target, target, argv.join(' '));
        }
      }
    }
    assert.equal(parseCli(['revoke', '-abc', '--json'])?.json, true);
    assert.deepEqual(
      [parseCli(['list', '--json', 'alice'])?.target, parseCli(['list', '--by=ops', 'alice'])?.by],
      ['alice', 'ops'],
      'an option after the command is still an option',
    );
    assert.equal(parseCli(['revoke', '--', '--json'])?.target, '--json', 'a target spelled like an option');
    assert.equal(
      parseCli(['--by', 'list', 'revoke', '-abc'])?.by,
      'list',
      'an option value is not a command',
    );
  });

  it('still reads --help, refuses unknown options, and counts targets', () => {
    assert.equal(parseCli(['revoke', '--help']), null);
    assert.equal(parseCli(['list', '-h']), null);
    assert.throws(() => parseCli(['health', '--bogus']), /Unknown option '--bogus'/);
    assert.throws(() => parseCli(['revoke', 'a', '--bogus']), /Unknown option '--bogus'/);
    assert.throws(() => parseCli(['revoke', '-a', 'b']), /revoke needs exactly one <handle>/);
    assert.throws(() => parseCli(['health', '-a']), /Unknown option '-a'/);
    assert.throws(() => parseCli(['revoke']), /revoke needs exactly one <handle>/);
  });
});
