/**
 * The engine's own work per authenticated read, without HTTP: bench/engine/child.ts on each store,
 * pinned to the server core. Steadier than the own cost over HTTP, which is the difference of two
 * whole-server figures and moves with everything else on the machine.
 */

import { startPinned, waitForLine } from './processes.js';
import { SERVER_CORE } from './servers.js';
import { median } from './stats.js';

export interface EngineCost {
  store: 'memory' | 'sqlite' | 'redis';
  reads: number;
  /** CPU µs per read, one per round. */
  perRead: number[];
  median: number;
  /**
   * JavaScript heap bytes allocated per read (median of the rounds of a second child, 1,000 reads
   * each, no collection during a round): unlike CPU time, the same on a busy machine as on an idle
   * one. Absent from reports saved before it was measured.
   */
  heapBytesPerRead?: number;
}

/** Runs bench/engine/child.ts on one store, pinned to the server core, and returns its rounds. */
async function engineRounds(
  store: EngineCost['store'],
  env: Record<string, string>,
  nodeArgs: string[],
): Promise<number[]> {
  const child = startPinned(
    SERVER_CORE,
    process.execPath,
    [...nodeArgs, '--import', 'tsx', 'bench/engine/child.ts'],
    {
      env: { ...process.env, ...env, NODE_ENV: 'production', STORE: store },
    },
  );
  try {
    const match = await waitForLine(child, /^ENGINE (\{.*\})$/m, 300_000);
    return (JSON.parse(match[1]!) as { perRead: number[] }).perRead;
  } finally {
    await child.stop();
  }
}

export async function measureEngineCost(
  stores: EngineCost['store'][],
  env: Record<string, string>,
  reads: number,
  rounds: number,
): Promise<EngineCost[]> {
  const costs: EngineCost[] = [];
  for (const store of stores) {
    const counts = { READS: String(reads), ROUNDS: String(rounds) };
    const perRead = await engineRounds(store, { ...env, ...counts }, []);
    // The young generation holds a whole round (at most about 15 MB), so no collection runs in one.
    const heap = await engineRounds(store, { ...env, ...counts, MEASURE: 'heap' }, [
      '--expose-gc',
      '--min-semi-space-size=64',
      '--max-semi-space-size=64',
    ]);
    costs.push({ store, reads, perRead, median: median(perRead), heapBytesPerRead: median(heap) });
  }
  return costs;
}
