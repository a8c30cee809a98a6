/** Events per key within a sliding window; memory is at most `maxKeys` keys of `limit` times each. */
export interface SlidingCount {
  /** Records one event for `key` at `at` (ms); returns how many fell within the window, at most `limit`. */
  hit(key: string, at: number): number;
  /** Forgets a key, so the next alert for it needs a full new burst. */
  reset(key: string): void;
}

/** Distinct values per key within a sliding window, with the same bounds. */
export interface SlidingDistinct {
  /** Records `value` for `key` at `at`; returns how many distinct values fell within the window. */
  hit(key: string, value: string, at: number): number;
  reset(key: string): void;
}

/** Moves `key` to the newest end of the map, dropping the least recently seen key when full. */
function touch<V>(map: Map<string, V>, key: string, fresh: () => V, maxKeys: number): V {
  let entry = map.get(key);
  if (entry === undefined) {
    if (map.size >= maxKeys) map.delete(map.keys().next().value as string);
    entry = fresh();
  } else map.delete(key);
  map.set(key, entry);
  return entry;
}

/**
 * Keeps only the last `limit` times per key: whether `limit` events happened within the window is
 * all a threshold needs, so a flood costs no more memory than a burst.
 */
export function createSlidingCount(limit: number, windowMs: number, maxKeys: number): SlidingCount {
  const times = new Map<string, number[]>();
  return {
    hit(key, at) {
      const list = touch(times, key, () => [], maxKeys);
      list.push(at);
      while (list.length > limit || (list.length > 0 && list[0]! <= at - windowMs)) list.shift();
      return list.length;
    },
    reset: (key) => void times.delete(key),
  };
}

/** Keeps the last `limit` distinct values per key, each with the time it was last seen. */
export function createSlidingDistinct(limit: number, windowMs: number, maxKeys: number): SlidingDistinct {
  const seen = new Map<string, Map<string, number>>();
  return {
    hit(key, value, at) {
      const values = touch(seen, key, () => new Map<string, number>(), maxKeys);
      values.delete(value);
      values.set(value, at);
      for (const [old, when] of values) {
        if (when > at - windowMs && values.size <= limit) break;
        values.delete(old);
      }
      return values.size;
    },
    reset: (key) => void seen.delete(key),
  };
}
