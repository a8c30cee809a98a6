import { SessionStoreError } from './errors.js';
import type { EventBus } from './events.js';

export type StoreCall = <T>(operation: string, run: () => Promise<T>) => Promise<T>;

/**
 * Wraps every store call with a timeout and one error type, and reports failure and recovery once
 * each: a store outage fails closed (503) and the process recovers by itself when the store returns.
 */
export function createStoreCall(timeoutMs: number, events: EventBus): StoreCall {
  let failing = false;
  return async (operation, run) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        run(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new SessionStoreError(operation, { message: `session store timed out during ${operation}` }),
              ),
            timeoutMs,
          );
        }),
      ]);
      if (failing) {
        failing = false;
        events.emit({ type: 'store.recovered', reason: operation });
      }
      return result;
    } catch (error) {
      failing = true;
      const storeError =
        error instanceof SessionStoreError ? error : new SessionStoreError(operation, { cause: error });
      events.emit({ type: 'store.error', reason: storeError.message });
      throw storeError;
    } finally {
      clearTimeout(timer);
    }
  };
}
