import { parseArgs } from 'node:util';
import { usageError } from './errors.js';

/** Every command of the admin CLI. */
export const COMMANDS = ['list', 'revoke', 'revoke-user', 'end-all', 'prune', 'health'] as const;
/** One of COMMANDS. */
export type Command = (typeof COMMANDS)[number];

/** The `--help` text: commands, store selection, options and exit codes. */
export const USAGE = `Usage: coatcheck <command> [options]

Commands:
  list <userId>            A user's live sessions: handle, device, address, times (never tokens).
  revoke <handle>          End one session.
  revoke-user <userId>     End every session of one user.
  end-all --yes [--before TIME]
                           End every session of every user, or those created before TIME
                           (ISO 8601 or milliseconds since the epoch): the kill switch.
  prune                    Remove expired records.
  health                   Store kind, schema version and session counts.
  A <handle> or <userId> may begin with "-"; one spelled like an option goes after "--".

Store (the first one given is used):
  --sqlite PATH            SQLite database file (or SQLITE_PATH); must exist.
  REDIS_URL                Redis (environment), keys under --redis-prefix (default coatcheck:).
  DATABASE_URL             PostgreSQL (environment), table --pg-schema.--pg-table
                           (default public.coatcheck_sessions).

Options:
  --json                   Machine-readable output on stdout (errors as JSON on stderr).
  --by NAME                Who acts, in audit events (default cli:<OS user>).
  --audit-log PATH         Append audit events (JSON lines) here instead of stderr.
  --yes                    Confirm end-all.
  --help                   This text.

Exit codes: 0 done, 1 no such session or user, 2 usage or configuration error,
3 store failure, 4 not supported by this store.`;

/** The parsed command line. */
export interface CliArgs {
  command: Command;
  /** The user id or handle the command names, when it takes one. */
  target: string | null;
  json: boolean;
  yes: boolean;
  by: string | null;
  auditLog: string | null;
  /** ms since the epoch, for `end-all --before`. */
  before: number | null;
  sqlite: string | null;
  redisPrefix: string;
  pgSchema: string;
  pgTable: string;
}

const TARGETS: Partial<Record<Command, string>> = {
  list: 'userId',
  revoke: 'handle',
  'revoke-user': 'userId',
};

/** ISO 8601 (with a zone, or UTC when only a date) or whole milliseconds since the epoch, within a Date's range. */
export function parseTime(text: string): number {
  const at = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  // Beyond ±8.64e15 ms a Date is invalid: the report of what ended could not be written after
  // the sessions were already gone.
  if (!Number.isFinite(at) || Number.isNaN(new Date(at).getTime())) {
    throw usageError(`--before: "${text}" is not an ISO 8601 time or milliseconds since the epoch`);
  }
  return at;
}

/**
 * Parses argv (without node and the script) with node:util's parseArgs: unknown options and missing
 * values are usage errors (exit 2). Returns null for `--help`.
 */
export function parseCli(argv: readonly string[]): CliArgs | null {
  const { args, target: leading } = takeLeadingTarget(argv);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    throw usageError((error as Error).message);
  }
  const { values } = parsed;
  if (values.help) return null;
  const positionals = [...parsed.positionals];
  if (leading !== null) positionals.splice(1, 0, leading);
  const [name, ...rest] = positionals;
  if (name === undefined)
    throw usageError('give a command: list, revoke, revoke-user, end-all, prune or health');
  if (!(COMMANDS as readonly string[]).includes(name)) throw usageError(`unknown command "${name}"`);
  const command = name as Command;
  const needs = TARGETS[command];
  if (needs && rest.length !== 1) throw usageError(`${command} needs exactly one <${needs}>`);
  if (!needs && rest.length > 0) throw usageError(`${command} takes no argument`);
  const target = rest[0] ?? null;
  if (target !== null && (target.length === 0 || target.length > 256)) {
    throw usageError(`<${needs}> must be 1 to 256 characters`);
  }
  if (values.before !== undefined && command !== 'end-all') throw usageError('--before applies to end-all');
  return {
    command,
    target,
    json: values.json ?? false,
    yes: values.yes ?? false,
    by: values.by ?? null,
    auditLog: values['audit-log'] ?? null,
    before: values.before === undefined ? null : parseTime(values.before),
    sqlite: values.sqlite ?? null,
    redisPrefix: values['redis-prefix'] ?? 'coatcheck:',
    pgSchema: values['pg-schema'] ?? 'public',
    pgTable: values['pg-table'] ?? 'coatcheck_sessions',
  };
}

const VALUE_OPTIONS = new Set([
  '--by',
  '--audit-log',
  '--before',
  '--sqlite',
  '--redis-prefix',
  '--pg-schema',
  '--pg-table',
]);
const OPTIONS = new Set([...VALUE_OPTIONS, '--json', '--yes', '--help', '-h', '--']);
const isOption = (word: string) => OPTIONS.has(word.split('=')[0]!);

/**
 * A handle is base64url, so one in 32 begins with `-`, and a user id may too. The word right after a
 * command that takes a target is that target whatever it begins with, unless it is one of the CLI's
 * own options, so `coatcheck revoke -Xq3…` ends that session instead of failing as an unknown option.
 * A target spelled like an option goes after `--`.
 */
function takeLeadingTarget(argv: readonly string[]): { args: string[]; target: string | null } {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') break;
    if (VALUE_OPTIONS.has(word)) {
      i++;
      continue;
    }
    if (word.startsWith('-')) continue;
    const next = argv[i + 1];
    const takesTarget = TARGETS[word as Command] !== undefined;
    if (!takesTarget || next === undefined || !next.startsWith('-') || isOption(next)) break;
    return { args: [...argv.slice(0, i + 1), ...argv.slice(i + 2)], target: next };
  }
  return { args: [...argv], target: null };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: 'boolean' },
      yes: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      by: { type: 'string' },
      'audit-log': { type: 'string' },
      before: { type: 'string' },
      sqlite: { type: 'string' },
      'redis-prefix': { type: 'string' },
      'pg-schema': { type: 'string' },
      'pg-table': { type: 'string' },
    },
  });
}
