import type { SessionStore } from '../core/store/store.js';

/** The store calls the engine makes, and so the ones measured and traced. */
export const STORE_OPERATIONS = [
  'get',
  'create',
  'update',
  'renew',
  'replace',
  'destroy',
  'listByUser',
  'destroyByUser',
  'pruneExpired',
  'getLegacy',
  'destroyLegacy',
] as const;

/** A store method the metrics and traces wrap: the `operation` label and span name. */
export type StoreOperation = (typeof STORE_OPERATIONS)[number];

/** Runs one store call; `handle` is the session it concerns, when the call names one. */
export type AroundStoreCall = (
  operation: StoreOperation,
  handle: string | undefined,
  run: () => Promise<unknown>,
) => Promise<unknown>;

const OPERATIONS = new Set<string | symbol>(STORE_OPERATIONS);

function handleOf(operation: StoreOperation, args: readonly unknown[]): string | undefined {
  const first = args[0];
  if (operation === 'create' || operation === 'renew')
    return (first as { handle?: string } | undefined)?.handle;
  if (operation === 'listByUser' || operation === 'destroyByUser' || operation === 'pruneExpired') return;
  return typeof first === 'string' ? first : undefined;
}

/**
 * Wraps a store so each contract call goes through `around`. A Proxy rather than a new class: the
 * wrapped store stays `instanceof` what it was (the Express layer recognises a connect store and
 * express-session's MemoryStore that way) and keeps its other methods. express-session style calls
 * that pass a callback (`get(sid, cb)` on `req.sessionStore`) go straight through, unmeasured.
 */
export function wrapStore<S extends SessionStore>(store: S, around: AroundStoreCall): S {
  // Keyed by the method itself, so a method replaced on the store later is wrapped afresh.
  const cache = new WeakMap<object, unknown>();
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      const cached = cache.get(method);
      if (cached) return cached;
      let wrapped: (...args: unknown[]) => unknown;
      if (OPERATIONS.has(property)) {
        const operation = property as StoreOperation;
        wrapped = (...args) => {
          if (typeof args.at(-1) === 'function') return method.apply(target, args);
          return around(operation, handleOf(operation, args), () => {
            try {
              return Promise.resolve(method.apply(target, args));
            } catch (error) {
              return Promise.reject(error);
            }
          });
        };
      } else {
        // Bound to the store itself: its private fields are not reachable through the Proxy.
        wrapped = method.bind(target);
      }
      cache.set(method, wrapped);
      return wrapped;
    },
  });
}
