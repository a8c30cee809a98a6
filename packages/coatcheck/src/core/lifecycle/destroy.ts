import type { SessionStore } from '../store/store.js';
import type { StoreCall } from '../store/store-calls.js';

/** Successors followed at most: a chain grows only while rotations keep racing one logout. */
const MAX_CHAIN = 8;

/**
 * Removes a session, and whatever a scheduled rotation replaced it with meanwhile: a logout or
 * revocation that races a rotation must not leave the new token alive (S21, S29). Returns whether
 * the first record existed.
 */
export async function destroySession(store: SessionStore, call: StoreCall, handle: string): Promise<boolean> {
  let removed = await call('destroy', () => store.destroy(handle));
  const existed = removed !== null;
  for (let step = 0; removed?.successor && step < MAX_CHAIN; step++) {
    const next = removed.successor;
    removed = await call('destroy', () => store.destroy(next));
  }
  return existed;
}
