/**
 * Child processes of the harness: started pinned to a core with `taskset`, tracked by PID, stopped by
 * PID only, and measured through /proc (CPU ticks, resident memory).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

const running = new Set<ChildProcess>();
const temporary = new Set<string>();

/** Milliseconds of CPU per clock tick in /proc/<pid>/stat. */
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

process.on('exit', () => {
  for (const child of running) if (child.exitCode === null && child.pid) safeKill(child.pid, 'SIGKILL');
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
});

/** Removes `dir` when the harness exits, however it exits (short of SIGKILL). */
export function removeOnExit(dir: string): void {
  temporary.add(dir);
}

function safeKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

export interface Pinned {
  child: ChildProcess;
  pid: number;
  /** Everything the process printed, for error reports. */
  output(): string;
  /** Sends `signal` to the PID and waits for the exit (SIGKILL after `graceMs`). */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

/** Starts `command` on CPU `core` (taskset execs it, so the PID is the command's own). */
export function startPinned(
  core: number,
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Pinned {
  const child = spawn('taskset', ['-c', String(core), command, ...args], {
    cwd: options.cwd ?? process.cwd(),
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    });
    child.once('error', () => resolve(-1));
  });
  return {
    child,
    pid: child.pid ?? -1,
    output: () => log,
    exited,
    async stop(signal = 'SIGTERM', graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
      safeKill(child.pid, signal);
      const timer = setTimeout(() => child.pid && safeKill(child.pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Waits until the process prints (stdout or stderr) a line matching `pattern`; returns the match. */
export function waitForLine(pinned: Pinned, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => finish(new Error(`no ${pattern} within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const match = pattern.exec(seen);
      if (match) finish(null, match);
    };
    const onExit = () => finish(new Error(`exited before ${pattern}:\n${pinned.output()}`));
    function finish(error: Error | null, match?: RegExpExecArray) {
      clearTimeout(timer);
      pinned.child.stdout?.off('data', onData);
      pinned.child.stderr?.off('data', onData);
      pinned.child.off('exit', onExit);
      if (error) reject(error);
      else resolve(match!);
    }
    pinned.child.stdout?.on('data', onData);
    pinned.child.stderr?.on('data', onData);
    pinned.child.once('exit', onExit);
  });
}

/** User + system CPU time of a process so far, in microseconds (all its threads). */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of proc(5); index 0 here is field 3.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1_000_000) / CLOCK_TICKS;
}

/** Busy time (everything but idle and iowait) of one CPU so far, in microseconds, from /proc/stat. */
export function coreBusyMicros(core: number): number {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((row) => row.startsWith(`cpu${core} `));
  const [user, nice, system, , , irq, softirq, steal] = (line ?? '').split(/\s+/).slice(1).map(Number);
  const ticks = [user, nice, system, irq, softirq, steal].reduce<number>(
    (sum, value) => sum + (value ?? 0),
    0,
  );
  return (ticks * 1_000_000) / CLOCK_TICKS;
}

/** Resident set size of a process, in MiB. */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** A free loopback TCP port (bound, read, released). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A pinned server that is started again, up to five times, if something outside stops it. */
export interface Supervised {
  readonly pid: number;
  readonly restarts: number;
  stop(signal: NodeJS.Signals, graceMs?: number): Promise<void>;
}

export async function supervise(name: string, launch: () => Pinned, ready: RegExp): Promise<Supervised> {
  let current = launch();
  let restarts = 0;
  let stopping = false;
  const watch = (pinned: Pinned) => {
    void pinned.exited.then(async (code) => {
      if (stopping || restarts >= 5) return;
      restarts++;
      process.stderr.write(
        `${name} ${pinned.pid} stopped from outside the benchmark (exit ${code}); starting it again\n`,
      );
      current = launch();
      watch(current);
      await waitForLine(current, ready, 20_000).catch(() => {});
    });
  };
  await waitForLine(current, ready, 20_000);
  watch(current);
  return {
    get pid() {
      return current.pid;
    },
    get restarts() {
      return restarts;
    },
    async stop(signal, graceMs) {
      stopping = true;
      await current.stop(signal, graceMs);
    },
  };
}
