import { CoatcheckError } from '../core/errors.js';

/**
 * The admin CLI's exit codes (documented in the README, "Admin CLI"). Scripts branch on them, so
 * they never change meaning.
 */
export const EXIT = {
  ok: 0,
  /** The session or user asked for has nothing to end or list. */
  notFound: 1,
  /** Bad command line or store configuration; nothing was done. */
  usage: 2,
  /** The store failed, timed out or could not be reached. */
  store: 3,
  /** The configured store cannot do this (e.g. `end-all` on a wrapped express-session store). */
  unsupported: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the CLI reports with its own message and exit code; `code` is stable like the library's. */
export class CliError extends CoatcheckError {
  readonly exitCode: ExitCode;
  constructor(code: string, message: string, exitCode: ExitCode, options?: { cause?: unknown }) {
    super(code, message, options);
    this.exitCode = exitCode;
  }
}

/** Bad arguments or configuration: exit 2. */
export function usageError(message: string): CliError {
  return new CliError('CLI_USAGE', message, EXIT.usage);
}

/** The CLI error for anything thrown while a command ran; never echoes a secret (no URL, no token). */
export function toCliError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'SESSION_CAPABILITY') {
    return new CliError('CLI_UNSUPPORTED', (error as Error).message, EXIT.unsupported, { cause: error });
  }
  if (code === 'SESSION_CONFIG') return new CliError('CLI_USAGE', (error as Error).message, EXIT.usage);
  // Driver errors can quote a connection string (with its password): only their class is shown.
  const kind = error instanceof Error ? error.name : 'Error';
  const operation = (error as { operation?: unknown } | null)?.operation;
  const during = typeof operation === 'string' ? ` during ${operation}` : '';
  return new CliError('CLI_STORE', `the session store failed${during} (${kind})`, EXIT.store, {
    cause: error,
  });
}
