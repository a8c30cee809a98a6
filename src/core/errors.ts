/** Base class of every error coatcheck throws; `code` is stable across versions. */
export class CoatcheckError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A bad option, thrown once at start-up; `option` names it. */
export class SessionConfigError extends CoatcheckError {
  readonly option: string;
  constructor(option: string, message: string) {
    super('SESSION_CONFIG', `${option}: ${message}`);
    this.option = option;
  }
}

/** The store failed or timed out; `operation` names the call, `cause` holds the driver's error. */
export class SessionStoreError extends CoatcheckError {
  readonly operation: string;
  constructor(operation: string, options?: { cause?: unknown; message?: string }) {
    super('SESSION_STORE', options?.message ?? `session store failed during ${operation}`, {
      cause: options?.cause,
    });
    this.operation = operation;
  }
}

/** A session operation that needs a live session was called on one that has ended. */
export class SessionStateError extends CoatcheckError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SESSION_STATE', message, options);
  }
}

/** The configured store cannot do what was asked (a wrapped connect store has no per-user index). */
export class SessionCapabilityError extends CoatcheckError {
  readonly capability: string;
  constructor(capability: string, message: string) {
    super('SESSION_CAPABILITY', message);
    this.capability = capability;
  }
}

/** A login refused because the user is at their concurrent-session limit (S36); answered as 409. */
export class SessionLimitError extends CoatcheckError {
  readonly status = 409;
  readonly expose = true;
  constructor(max: number) {
    super('SESSION_LIMIT', `the user already has ${max} active sessions`);
  }
}
