/**
 * Three chaos app processes behind HAProxy on loopback ports: HAProxy's configuration and its
 * runtime socket live in a temporary directory; a restarted app gets a new port, which the runtime
 * API gives to its server line. Every process is stopped by its own PID. An app process that exits
 * without having been told to is a death, and is counted.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SECRET } from '../test/support/app.js';

const appPath = fileURLToPath(new URL('./app.ts', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface AppProcess {
  child: ChildProcess;
  port: number;
  admin: number;
  /** Set before we stop or kill it ourselves: its exit is then no death. */
  expected: boolean;
}

export interface Fleet {
  /** HAProxy's URL: round robin over the apps. */
  url: string;
  /** Exits nobody asked for, e.g. `app-2 exited with code 1`. */
  deaths: string[];
  pids(): number[];
  /** SIGKILLs app `index` (0-based); its exit is expected. */
  kill(index: number): Promise<void>;
  /** Starts app `index` again and points HAProxy at its new port. */
  restart(index: number): Promise<void>;
  /** Heap in use after GC of every live app, in bytes. */
  heaps(): Promise<number[]>;
  stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function startApp(name: string, env: Record<string, string>, deaths: string[]): Promise<AppProcess> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', appPath], {
    env: { ...process.env, ...env, SESSION_SECRET: SECRET },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const reap = () => child.exitCode === null && child.pid && process.kill(child.pid, 'SIGKILL');
  process.once('exit', reap);
  return new Promise((resolve, reject) => {
    let output = '';
    let errors = '';
    let app: AppProcess | null = null;
    const timer = setTimeout(() => {
      if (child.pid) process.kill(child.pid, 'SIGKILL');
      reject(new Error(`${name} did not start in 60 s: ${errors}`));
    }, 60_000);
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      errors = (errors + chunk).slice(-4000);
    });
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const line = /^\{"port":(\d+),"admin":(\d+)\}$/m.exec(output);
      if (!line || app) return;
      clearTimeout(timer);
      app = { child, port: Number(line[1]), admin: Number(line[2]), expected: false };
      resolve(app);
    });
    child.once('exit', (code, signal) => {
      process.off('exit', reap);
      clearTimeout(timer);
      if (!app) reject(new Error(`${name} exited with ${code ?? signal} before listening: ${errors}`));
      else if (!app.expected) deaths.push(`${name} exited with ${code ?? signal}: ${errors.slice(-500)}`);
    });
  });
}

function haproxyConfig(port: number, socket: string, apps: AppProcess[]): string {
  return [
    'global',
    `  stats socket ${socket} mode 600 level admin`,
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  timeout connect 1s',
    '  timeout client 30s',
    '  timeout server 30s',
    // A request whose app died before answering goes to another app (reported by status otherwise).
    '  retries 2',
    '  option redispatch',
    '  retry-on conn-failure empty-response',
    'frontend chaos',
    `  bind 127.0.0.1:${port}`,
    '  default_backend apps',
    'backend apps',
    '  balance roundrobin',
    ...apps.map((app, i) => `  server app${i + 1} 127.0.0.1:${app.port} check inter 250 fall 2 rise 1`),
    '',
  ].join('\n');
}

/** One command on HAProxy's runtime API socket; resolves with its answer. */
function runtime(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const connection = connect(socket);
    let answer = '';
    connection.setEncoding('utf8');
    connection.on('data', (chunk: string) => {
      answer += chunk;
    });
    connection.on('error', reject);
    connection.on('end', () => resolve(answer));
    connection.end(`${command}\n`);
  });
}

/** Starts `count` apps with the store environment `env`, and HAProxy in front. */
export async function startFleet(options: {
  haproxy: string;
  env: Record<string, string>;
  count?: number;
}): Promise<Fleet> {
  const deaths: string[] = [];
  const names = Array.from({ length: options.count ?? 3 }, (_, i) => `app-${i + 1}`);
  const apps = await Promise.all(names.map((name) => startApp(name, options.env, deaths)));
  const dir = mkdtempSync(join(tmpdir(), 'coatcheck-haproxy-'));
  const socket = join(dir, 'admin.sock');
  const port = await freePort();
  writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig(port, socket, apps));
  const proxy = spawn(options.haproxy, ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
  const reapProxy = () => proxy.exitCode === null && proxy.pid && process.kill(proxy.pid, 'SIGKILL');
  process.once('exit', reapProxy);
  const url = `http://127.0.0.1:${port}`;
  for (let ready = false, tries = 0; !ready; tries++) {
    if (tries > 100 || proxy.exitCode !== null) throw new Error('haproxy did not start');
    ready = await fetch(`${url}/me`).then(
      () => true,
      () => false,
    );
    if (!ready) await sleep(100);
  }

  const stopApp = async (app: AppProcess, signal: NodeJS.Signals) => {
    app.expected = true;
    if (app.child.exitCode === null && app.child.signalCode === null) process.kill(app.child.pid!, signal);
    await exited(app.child);
  };
  return {
    url,
    deaths,
    pids: () => apps.map((app) => app.child.pid!),
    kill: (index) => stopApp(apps[index]!, 'SIGKILL'),
    restart: async (index) => {
      const app = await startApp(names[index]!, options.env, deaths);
      apps[index] = app;
      await runtime(socket, `set server apps/app${index + 1} addr 127.0.0.1 port ${app.port}`);
    },
    heaps: () =>
      Promise.all(
        apps.map(async (app) => {
          const response = await fetch(`http://127.0.0.1:${app.admin}/heap`);
          return ((await response.json()) as { heapUsed: number }).heapUsed;
        }),
      ),
    stop: async () => {
      if (proxy.exitCode === null && proxy.pid) process.kill(proxy.pid, 'SIGTERM');
      await exited(proxy);
      process.off('exit', reapProxy);
      await Promise.all(apps.map((app) => stopApp(app, 'SIGTERM')));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
