import { flatCopy } from '../tokens/flat-string.js';

/**
 * Renewals this process has just decided, per handle, so that concurrent requests of one session
 * do not all write the same renewal while the first write is in flight (one write per renewal
 * interval). Bounded: the oldest entries are forgotten first, which at worst allows one more write.
 */
export interface RecentRenewals {
  /** Whether a renewal of this session is due now, and if so, claims it. */
  claim(handle: string, lastSeenAt: number, now: number): boolean;
}

export function createRecentRenewals(intervalMs: number, maxEntries = 10_000): RecentRenewals {
  const renewedAt = new Map<string, number>();
  return {
    claim(handle, lastSeenAt, now) {
      if (now - lastSeenAt < intervalMs) return false;
      const recent = renewedAt.get(handle);
      if (recent !== undefined && now - recent < intervalMs) return false;
      renewedAt.delete(handle);
      if (renewedAt.size >= maxEntries) renewedAt.delete(renewedAt.keys().next().value as string);
      // The handle may be cut from the Cookie header: the map outlives the request.
      renewedAt.set(flatCopy(handle), now);
      return true;
    },
  };
}
