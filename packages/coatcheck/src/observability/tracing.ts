import type { Attributes, SpanKind, SpanStatusCode, TraceAPI } from '@opentelemetry/api';
import { SessionConfigError } from '../core/errors.js';
import type { SessionStore } from '../core/store/store.js';
import { wrapStore } from './wrap-store.js';

/** The API's enum values, spelled out: the API is only a type import here, never loaded by coatcheck. */
const CLIENT = 2 as SpanKind.CLIENT;
const ERROR = 2 as SpanStatusCode.ERROR;

/** Options of {@link traceStore}. */
export interface TraceStoreOptions {
  /** The `trace` export of `@opentelemetry/api`, as the application imported it; the tracer is named `coatcheck`. */
  trace: Pick<TraceAPI, 'getTracer'>;
  /**
   * Put the session handle (public, non-secret, but linkable to a user) on each span as
   * `coatcheck.session.handle`. Tokens and user IDs never are. @default false
   */
  includeHandle?: boolean;
}

/** A low-cardinality name for what failed: the error's class name, never its message. */
function errorType(error: unknown): string {
  return error instanceof Error && /^\w{1,64}$/.test(error.name) ? error.name : '_OTHER';
}

/**
 * Wraps a store so each call is an OpenTelemetry span `coatcheck.store.<operation>` (kind CLIENT),
 * a child of the span active when the engine made the call. A failed call sets status ERROR and
 * `error.type` to the error's class name; the message is left out, as drivers may quote keys.
 * The result is still `instanceof` the store's class.
 *
 * @example
 * import { trace } from '@opentelemetry/api';
 * import { traceStore } from 'coatcheck/metrics';
 * const store = traceStore(new RedisStore({ client }), { trace });
 */
export function traceStore<S extends SessionStore>(store: S, options: TraceStoreOptions): S {
  if (typeof options?.trace?.getTracer !== 'function') {
    throw new SessionConfigError('trace', "must be the `trace` export of '@opentelemetry/api'");
  }
  const tracer = options.trace.getTracer('coatcheck');
  const includeHandle = options.includeHandle === true;
  return wrapStore(store, (operation, handle, run) => {
    const attributes: Attributes = { 'db.operation.name': operation };
    if (includeHandle && handle !== undefined) attributes['coatcheck.session.handle'] = handle;
    return tracer.startActiveSpan(`coatcheck.store.${operation}`, { kind: CLIENT, attributes }, (span) =>
      run().then(
        (value) => {
          span.end();
          return value;
        },
        (error: unknown) => {
          span.setAttribute('error.type', errorType(error));
          span.setStatus({ code: ERROR });
          span.end();
          throw error;
        },
      ),
    );
  });
}
