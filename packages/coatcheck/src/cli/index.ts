#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { jsonLineSink } from '../audit/index.js';
import { createSessionEngine } from '../core/engine.js';
import { type CliArgs, parseCli, USAGE } from './args.js';
import { runCommand } from './commands.js';
import { EXIT, type ExitCode, toCliError } from './errors.js';
import { openStore } from './open-store.js';

/** Who acts, when `--by` is not given: the operator's OS account, so the audit log says who. */
function defaultActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

function auditWriter(args: CliArgs): (line: string) => void {
  const path = args.auditLog;
  // Created owner-only: audit lines name users and addresses.
  if (path) return (line) => appendFileSync(path, line, { mode: 0o600 });
  return (line) => process.stderr.write(line);
}

/**
 * `coatcheck <command>`: the session admin CLI (README, "Admin CLI"). Returns the exit code.
 * Every action goes through the session engine, so it emits the library's own audit events.
 */
export async function main(
  argv: readonly string[],
  env: Record<string, string | undefined>,
): Promise<ExitCode> {
  let args: CliArgs | null = null;
  // Read before parsing, so usage errors honour it too; after "--" it is a handle or user id.
  const dashes = argv.indexOf('--');
  const json = (dashes === -1 ? argv : argv.slice(0, dashes)).includes('--json');
  try {
    args = parseCli(argv);
    if (args === null) {
      process.stdout.write(`${USAGE}\n`);
      return EXIT.ok;
    }
    const { opened, close } = await openStore(args, env);
    try {
      const engine = createSessionEngine({
        store: opened.store,
        // Never signs a cookie: listing and revoking read only handles. A throwaway key is enough.
        secret: randomBytes(32).toString('base64url'),
        production: false,
        warn: () => {},
      });
      engine.on(jsonLineSink(auditWriter(args)));
      const result = await runCommand({ engine, opened, by: args.by ?? defaultActor(), now: Date.now }, args);
      process.stdout.write(args.json ? `${JSON.stringify(result.json)}\n` : `${result.text}\n`);
      return result.exitCode;
    } finally {
      await opened.store.close();
      await close();
    }
  } catch (thrown) {
    const error = toCliError(thrown);
    process.stderr.write(
      json
        ? `${JSON.stringify({ error: { code: error.code, message: error.message } })}\n`
        : `coatcheck: ${error.message}\n${error.exitCode === EXIT.usage ? 'Run coatcheck --help for usage.\n' : ''}`,
    );
    return error.exitCode;
  }
}

main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
  },
  () => {
    process.exitCode = EXIT.store;
  },
);
