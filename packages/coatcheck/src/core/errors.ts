/** Base class of every error coatcheck throws; `code` is stable across versions. */
export class CoatcheckError extends Error {
  /** Stable machine-readable code (`SESSION_CONFIG`, `SESSION_STORE`, ...): branch on it, never on the message. */
  readonly code: string;
  /** @param options.cause the underlying error, kept as the standard `Error.cause`. */
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A bad option, thrown once at start-up; `option` names it. */
export class SessionConfigError extends CoatcheckError {
  /** The option's name as written in the options object (`cookie.sameSite`, `secret`). */
  readonly option: string;
  /** Code `SESSION_CONFIG`; the message starts with the option's name. */
  constructor(option: string, message: string) {
    super('SESSION_CONFIG', `${option}: ${message}`);
    this.option = option;
  }
}

/** The store failed or timed out; `operation` names the call, `cause` holds the driver's error. */
export class SessionStoreError extends CoatcheckError {
  /** The store call that failed (`get`, `set`, `destroy`, `touch`, ...). */
  readonly operation: string;
  /** Code `SESSION_STORE`; adapters answer it with 503. The message never carries a token or session data. */
  constructor(operation: string, options?: { cause?: unknown; message?: string }) {
    super('SESSION_STORE', options?.message ?? `session store failed during ${operation}`, {
      cause: options?.cause,
    });
    this.operation = operation;
  }
}

/** A session operation that needs a live session was called on one that has ended. */
export class SessionStateError extends CoatcheckError {
  /** Code `SESSION_STATE`. */
  constructor(message: string, options?: { cause?: unknown }) {
    super('SESSION_STATE', message, options);
  }
}

/** The configured store cannot do what was asked (a wrapped connect store has no per-user index). */
export class SessionCapabilityError extends CoatcheckError {
  /** What the store lacks: `userIndex` (per-user lists), `all` or `clear` (whole-store calls). */
  readonly capability: string;
  /** Code `SESSION_CAPABILITY`. */
  constructor(capability: string, message: string) {
    super('SESSION_CAPABILITY', message);
    this.capability = capability;
  }
}

/** A login refused because the user is at their concurrent-session limit (S36); answered as 409. */
export class SessionLimitError extends CoatcheckError {
  /** HTTP status for frameworks that read `status` off thrown errors (Express, Koa's http-errors convention). */
  readonly status = 409;
  /** The message is safe to show the client: it holds only the limit. */
  readonly expose = true;
  /**
   * Code `SESSION_LIMIT`.
   * @param max the `maxSessionsPerUser` in force.
   */
  constructor(max: number) {
    super('SESSION_LIMIT', `the user already has ${max} active sessions`);
  }
}
