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
}

export async function measureEngineCost(
  stores: EngineCost['store'][],
  env: Record<string, string>,
  reads: number,
  rounds: number,
): Promise<EngineCost[]> {
  const costs: EngineCost[] = [];
  for (const store of stores) {
    const child = startPinned(SERVER_CORE, process.execPath, ['--import', 'tsx', 'bench/engine/child.ts'], {
      env: {
        ...process.env,
        ...env,
        NODE_ENV: 'production',
        STORE: store,
        READS: String(reads),
        ROUNDS: String(rounds),
      },
    });
    try {
      const match = await waitForLine(child, /^ENGINE (\{.*\})$/m, 300_000);
      const { perRead } = JSON.parse(match[1]!) as { perRead: number[] };
      costs.push({ store, reads, perRead, median: median(perRead) });
    } finally {
      await child.stop();
    }
  }
  return costs;
}
