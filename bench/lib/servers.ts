/** Starts one benchmark server (bench/servers/<file>) as its own process, pinned to the server core. */
import { existsSync } from 'node:fs';
import type { ServerSpec } from '../config.js';
import { type Pinned, startPinned, waitForLine } from './processes.js';

export const SERVER_CORE = 0;
export const LOAD_CORE = 1;

export interface RunningServer {
  spec: ServerSpec;
  url: string;
  pid: number;
  pinned: Pinned;
  stop(): Promise<void>;
}

/** The first source file the row needs that is missing, or null. */
export function missingRequirement(spec: ServerSpec): string | null {
  return spec.requires.find((file) => !existsSync(file)) ?? null;
}

export async function startServer(
  spec: ServerSpec,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Promise<RunningServer> {
  const pinned = startPinned(
    SERVER_CORE,
    process.execPath,
    [...nodeArgs, '--import', 'tsx', `bench/servers/${spec.file}`],
    { env: { ...process.env, NODE_ENV: 'production', ...env } },
  );
  let port: number;
  try {
    port = Number((await waitForLine(pinned, /^READY (\d+)$/m, 30_000))[1]);
  } catch (error) {
    await pinned.stop('SIGKILL');
    const output = pinned.output().trim().split('\n');
    const reason = output.find((line) => /Error|error:/.test(line)) ?? output.at(-1) ?? String(error);
    throw new Error(`${spec.id} did not start: ${reason.trim()}`);
  }
  return {
    spec,
    url: `http://127.0.0.1:${port}`,
    pid: pinned.pid,
    pinned,
    stop: () => pinned.stop('SIGTERM'),
  };
}
