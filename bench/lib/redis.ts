/**
 * A throwaway redis-server pinned to the load generator's core, with command counting from
 * `INFO commandstats` (the INFO calls themselves excluded).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { freePort, removeOnExit, startPinned, supervise } from './processes.js';

export interface BenchRedis {
  url: string;
  readonly pid: number;
  /** Times the server was stopped from outside the benchmark and started again. */
  readonly restarts: number;
  /** Calls per command name since start, INFO excluded. */
  commandCalls(): Promise<Map<string, number>>;
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/** Total calls in `after` minus `before`. */
export function callDelta(before: Map<string, number>, after: Map<string, number>): number {
  let total = 0;
  for (const [name, calls] of after) total += calls - (before.get(name) ?? 0);
  return total;
}

export async function startBenchRedis(binary: string, core: number): Promise<BenchRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'coatcheck-bench-redis-'));
  removeOnExit(dir);
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
  ];
  const url = `redis://127.0.0.1:${port}`;
  const server = await supervise(
    'redis-server',
    () => startPinned(core, binary, args),
    /Ready to accept connections/,
  );
  const admin = createClient({ url });
  admin.on('error', () => {});
  await admin.connect();
  return {
    url,
    get pid() {
      return server.pid;
    },
    get restarts() {
      return server.restarts;
    },
    async commandCalls() {
      const text = await admin.info('commandstats');
      const calls = new Map<string, number>();
      for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
        const name = match[1]!;
        if (name !== 'info') calls.set(name, Number(match[2]));
      }
      return calls;
    },
    async flush() {
      await admin.flushAll();
    },
    async stop() {
      if (admin.isOpen) await admin.quit();
      await server.stop('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
