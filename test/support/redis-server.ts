/**
 * Real redis-server processes for the tests: standalone or a 3-master Cluster, on free loopback
 * ports with throwaway directories, stopped by their own PID.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { createClient, createCluster } from 'redis';
import { type RedisClientLike, RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { requireBinary } from './servers.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Path of redis-server, or null (tests skip outside CI; in CI requireBinary throws). */
export const redisServerBinary = requireBinary('redis-server');
const redisCliBinary = redisServerBinary ? requireBinary('redis-cli') : null;

/** Whether the Redis tests can run here. */
export const hasRedis = redisServerBinary !== null && redisCliBinary !== null;

export interface RedisServer {
  url: string;
  port: number;
  /** PID of the current process (changes after restart). */
  readonly pid: number;
  dir: string;
  /** Stops the server (SIGTERM by default, SIGKILL for a crash) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and directory (data survives only with appendonly). */
  restart(): Promise<void>;
  /** Runs one command with redis-cli and returns its raw output. */
  cli(...args: string[]): Promise<string>;
  /** Stops the server and removes its directory. */
  dispose(): Promise<void>;
}

export interface StartRedisOptions {
  /** Extra redis-server arguments, e.g. ['--appendonly', 'yes']. */
  args?: string[];
  port?: number;
  /** Lines of a sentinel.conf written into the server's directory: the server runs as a Sentinel. */
  sentinel?: string[];
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free port whose Cluster bus port (port + 10000) is free too. */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if ((await portIsFree(port)) && (await portIsFree(port + 10_000))) return port;
  }
  throw new Error('no free port found');
}

export async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run(redisCliBinary!, ['-h', '127.0.0.1', '-p', String(port), ...args], {
    timeout: 10_000,
  });
  return stdout;
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts redis-server on a free 127.0.0.1 port, without RDB snapshots and (by default) without AOF.
 * Another process may take the port (or its Cluster bus port) between the check and the bind: a
 * server that exits before it answers is started again on another port, in a fresh directory, up
 * to 5 times (never when `port` is given).
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  if (!hasRedis) throw new Error('redis-server is not installed');
  let port = options.port ?? (await freePort());
  let dir = mkdtempSync(join(tmpdir(), 'coatcheck-redis-'));
  // A Sentinel rewrites its configuration file as it learns the topology, so it must be writable,
  // and is written once per directory: a restart keeps what the Sentinel learned.
  const writeSentinelConf = () => {
    if (options.sentinel) writeFileSync(join(dir, 'sentinel.conf'), `${options.sentinel.join('\n')}\n`);
  };
  writeSentinelConf();
  const args = () => {
    const conf = join(dir, 'sentinel.conf');
    return [
      ...(options.sentinel ? [conf, '--sentinel'] : []),
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--logfile',
      join(dir, 'redis.log'),
      ...(options.args ?? []),
    ];
  };
  let child: ChildProcess;
  /** Starts the server and waits until it answers as itself; false when it exited before that. */
  const launch = async (): Promise<boolean> => {
    child = spawn(redisServerBinary!, args(), { stdio: 'ignore' });
    child.once('error', () => {});
    const pid = child.pid;
    // A test process that dies early must not leave its servers behind.
    const reap = () => {
      if (pid && child.pid === pid && child.exitCode === null && child.signalCode === null) process.kill(pid);
    };
    process.once('exit', reap);
    child.once('exit', () => process.off('exit', reap));
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) return false;
      // Ours, not another process's server on the same port.
      const info = await cli(port, 'INFO', 'server').catch(() => '');
      if (new RegExp(`^process_id:${child.pid}\\r?$`, 'm').test(info)) return true;
      if (Date.now() > deadline) throw new Error(`timed out waiting for redis-server on ${port}`);
      await sleep(50);
    }
  };
  const exitedEarly = () => new Error(`redis-server on ${port} exited before it answered (${dir}/redis.log)`);
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(child.pid, signal);
    await exited(child);
  };
  for (let attempt = 1; !(await launch()); attempt++) {
    if (options.port !== undefined || attempt === 5) throw exitedEarly();
    rmSync(dir, { recursive: true, force: true });
    dir = mkdtempSync(join(tmpdir(), 'coatcheck-redis-'));
    writeSentinelConf();
    port = await freePort();
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return child.pid!;
    },
    dir,
    stop,
    restart: async () => {
      if (!(await launch())) throw exitedEarly();
    },
    cli: (...command) => cli(port, ...command),
    dispose: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisCluster {
  nodes: { host: string; port: number }[];
  /** `redis://` URLs of the nodes. */
  urls: string[];
  servers: RedisServer[];
  stop(): Promise<void>;
}

export interface StartClusterOptions {
  /** Replicas per master; with one, killing a master fails its slots over to its replica. @default 0 */
  replicas?: number;
  /** `cluster-node-timeout`: how long a master may be unreachable before a failover. @default 5000 */
  nodeTimeoutMs?: number;
}

/**
 * Starts 3 masters (and `replicas` replicas of each) with cluster mode on, joins them and waits
 * for cluster_state:ok. The first 3 servers are the masters.
 */
export async function startRedisCluster(options: StartClusterOptions = {}): Promise<RedisCluster> {
  const replicas = options.replicas ?? 0;
  const servers: RedisServer[] = [];
  try {
    for (let i = 0; i < 3 * (1 + replicas); i++) {
      servers.push(
        await startRedis({
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            String(options.nodeTimeoutMs ?? 5000),
            // A replica syncs at once rather than after the default 5 s wait for other replicas.
            '--repl-diskless-sync-delay',
            '0',
          ],
        }),
      );
    }
    const addresses = servers.map((server) => `127.0.0.1:${server.port}`);
    await run(
      redisCliBinary!,
      ['--cluster', 'create', ...addresses, '--cluster-replicas', String(replicas), '--cluster-yes'],
      {
        timeout: 30_000,
      },
    );
    for (const server of servers) {
      await waitFor(
        async () => /cluster_state:ok/.test(await server.cli('CLUSTER', 'INFO')),
        `cluster_state:ok on ${server.port}`,
        30_000,
      );
    }
    // A replica that never finished its first sync cannot be promoted.
    for (const server of servers.slice(3)) {
      await waitFor(
        async () => /master_link_status:up/.test(await server.cli('INFO', 'replication')),
        `replica on ${server.port} in sync`,
        30_000,
      );
    }
  } catch (error) {
    await Promise.all(servers.map((server) => server.dispose()));
    throw error;
  }
  return {
    nodes: servers.map((server) => ({ host: '127.0.0.1', port: server.port })),
    urls: servers.map((server) => server.url),
    servers,
    stop: async () => {
      await Promise.all(servers.map((server) => server.dispose()));
    },
  };
}

export interface RedisSentinelSet {
  /** The name the sentinels monitor the master under. */
  name: string;
  /** The first master and its replica; after a failover the replica is the master. */
  master: RedisServer;
  replica: RedisServer;
  sentinels: RedisServer[];
  /** Addresses of the sentinels, for `createSentinel({ sentinelRootNodes })` or ioredis `{ sentinels }`. */
  sentinelNodes: { host: string; port: number }[];
  /** The master's port as the sentinels report it now. */
  currentMasterPort(): Promise<number>;
  stop(): Promise<void>;
}

export interface StartSentinelOptions {
  /** `down-after-milliseconds`: how long the master may not answer before a failover. @default 1000 */
  downAfterMs?: number;
  /** Name of the monitored master. @default 'coatcheck' */
  name?: string;
}

/**
 * Starts a master, one replica and 3 sentinels (quorum 2) monitoring it, and waits until every
 * sentinel knows the replica and the other sentinels, so a failover can happen.
 */
export async function startRedisSentinel(options: StartSentinelOptions = {}): Promise<RedisSentinelSet> {
  const name = options.name ?? 'coatcheck';
  const started: RedisServer[] = [];
  try {
    const master = await startRedis({ args: ['--repl-diskless-sync-delay', '0'] });
    started.push(master);
    const replica = await startRedis({
      args: ['--replicaof', '127.0.0.1', String(master.port), '--repl-diskless-sync-delay', '0'],
    });
    started.push(replica);
    await waitFor(
      async () => /master_link_status:up/.test(await replica.cli('INFO', 'replication')),
      'replica in sync',
      30_000,
    );
    const sentinels: RedisServer[] = [];
    for (let i = 0; i < 3; i++) {
      const sentinel = await startRedis({
        sentinel: [
          `sentinel monitor ${name} 127.0.0.1 ${master.port} 2`,
          `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1000}`,
          `sentinel failover-timeout ${name} 10000`,
          `sentinel parallel-syncs ${name} 1`,
        ],
      });
      sentinels.push(sentinel);
      started.push(sentinel);
    }
    for (const sentinel of sentinels) {
      await waitFor(
        async () => {
          const info = await sentinel.cli('SENTINEL', 'MASTER', name);
          const field = (key: string) => Number(new RegExp(`^${key}\\n(\\d+)$`, 'm').exec(info)?.[1]);
          return field('num-slaves') === 1 && field('num-other-sentinels') === 2;
        },
        `sentinel on ${sentinel.port} knowing the replica and the other sentinels`,
        30_000,
      );
    }
    return {
      name,
      master,
      replica,
      sentinels,
      sentinelNodes: sentinels.map((sentinel) => ({ host: '127.0.0.1', port: sentinel.port })),
      currentMasterPort: async () => {
        const reply = await sentinels[0]!.cli('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name);
        return Number(reply.trim().split('\n')[1]);
      },
      stop: async () => {
        await Promise.all(started.map((server) => server.dispose()));
      },
    };
  } catch (error) {
    await Promise.all(started.map((server) => server.dispose()));
    throw error;
  }
}

export type ClientKind = 'node-redis' | 'ioredis';

export type NodeRedisClient = ReturnType<typeof createClient>;
export interface Connection<C> {
  client: C;
  close(): Promise<void>;
}

/** A connected client of either driver for a server or a cluster, and how to close it. */
export async function connectRedis(
  kind: 'node-redis',
  target: RedisServer,
): Promise<Connection<NodeRedisClient>>;
export async function connectRedis(kind: 'ioredis', target: RedisServer): Promise<Connection<Redis>>;
export async function connectRedis(
  kind: ClientKind,
  target: RedisServer | RedisCluster,
): Promise<Connection<RedisClientLike>>;
export async function connectRedis(
  kind: ClientKind,
  target: RedisServer | RedisCluster,
): Promise<Connection<RedisClientLike>> {
  if ('urls' in target) {
    if (kind === 'node-redis') {
      const client = createCluster({ rootNodes: [{ url: target.urls[0]! }] });
      await client.connect();
      return { client, close: () => client.close() };
    }
    const client = new Cluster(target.nodes);
    return { client, close: async () => void (await client.quit()) };
  }
  if (kind === 'node-redis') {
    const client = createClient({ url: target.url });
    await client.connect();
    return { client, close: () => client.close() };
  }
  const client = new Redis(target.url);
  return { client, close: async () => void (await client.quit()) };
}

/** Calls per command since the last `CONFIG RESETSTAT`, summed over servers; the test's own tooling left out. */
export async function commandCounts(servers: RedisServer[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const server of servers) {
    const text = await server.cli('INFO', 'commandstats');
    for (const [, name, calls] of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      if (/^(config|info|command|ping|hello|client|cluster)\b/.test(name!)) continue;
      counts.set(name!, (counts.get(name!) ?? 0) + Number(calls));
    }
  }
  return counts;
}

/** Resets the command statistics of every server. */
export async function resetCommandCounts(servers: RedisServer[]): Promise<void> {
  await Promise.all(servers.map((server) => server.cli('CONFIG', 'RESETSTAT')));
}

/**
 * The commands clients sent while `work` ran, in order, from MONITOR on every server: the test's
 * own tooling is left out, and so are commands run inside scripts (`[0 lua]`) unless
 * `insideScripts`, where they are named `script:<command>`. By default each entry is one command on
 * the wire.
 */
export async function recordCommands(
  servers: RedisServer[],
  work: () => Promise<unknown>,
  options: { insideScripts?: boolean } = {},
): Promise<string[]> {
  const monitors = servers.map((server) => {
    const child = spawn(redisCliBinary!, ['-h', '127.0.0.1', '-p', String(server.port), 'MONITOR'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    return { server, child, output: () => output };
  });
  try {
    for (const monitor of monitors) await waitFor(async () => monitor.output().startsWith('OK'), 'MONITOR');
    await work();
    const marker = `end-of-work-${Date.now()}`;
    for (const monitor of monitors) {
      await monitor.server.cli('ECHO', marker);
      await waitFor(async () => monitor.output().includes(marker), 'MONITOR marker');
    }
  } finally {
    for (const { child } of monitors) if (child.pid && child.exitCode === null) process.kill(child.pid);
    await Promise.all(monitors.map(({ child }) => exited(child)));
  }
  const lines = monitors.flatMap((monitor) => monitor.output().split('\n'));
  return lines
    .map((line) => /^(\d+\.\d+) \[\d+ ([^\]]+)\] "([^"]+)"/.exec(line))
    .filter(
      (match): match is RegExpExecArray =>
        match !== null && (options.insideScripts === true || match[2] !== 'lua'),
    )
    .map((match) => ({
      time: Number(match[1]),
      command: `${match[2] === 'lua' ? 'script:' : ''}${match[3]!.toLowerCase()}`,
    }))
    .filter(({ command }) => !/^(echo|config|info|command|ping|hello|client|cluster|monitor)$/.test(command))
    .sort((a, b) => a.time - b.time)
    .map(({ command }) => command);
}

/**
 * A Redis server and a node-redis client to it for one describe block: started in its `before`,
 * closed and stopped in its `after`. Read `server` and `client` inside the tests.
 */
export function redisForSuite(): { readonly server: RedisServer; readonly client: NodeRedisClient } {
  let server: RedisServer | undefined;
  let connection: Connection<NodeRedisClient> | undefined;
  before(async () => {
    server = await startRedis();
    connection = await connectRedis('node-redis', server);
  });
  after(async () => {
    await connection?.close();
    await server?.dispose();
  });
  return {
    get server() {
      if (!server) throw new Error('redisForSuite: read the server inside a test');
      return server;
    },
    get client() {
      if (!connection) throw new Error('redisForSuite: read the client inside a test');
      return connection.client;
    },
  };
}

/**
 * For a describe on `redisForSuite`'s server: a connection of each driver (node-redis, then
 * ioredis), opened in its `before` and closed in its `after`, and what `make` builds on each client
 * (stores, by name), gathered in the map it returns. Read the map inside the tests.
 */
export function perDriverForSuite<T>(
  redis: { readonly server: RedisServer },
  make: (client: never, kind: 'node-redis' | 'ioredis') => [string, T][],
): Map<string, T> {
  const made = new Map<string, T>();
  const connections: Connection<unknown>[] = [];
  before(async () => {
    for (const kind of ['node-redis', 'ioredis'] as const) {
      const connection = await connectRedis(kind, redis.server);
      connections.push(connection);
      for (const [name, value] of make((connection as Connection<never>).client, kind)) made.set(name, value);
    }
  });
  after(async () => {
    for (const connection of connections) await connection.close();
  });
  return made;
}

/** A RedisStore of each layout on `client`, named `${kind}, ${layout}`, under `prefix(layout)`. */
export function storesPerLayout(
  client: never,
  kind: 'node-redis' | 'ioredis',
  prefix: (layout: 'string' | 'packed' | 'fields') => string,
): [string, RedisStore][] {
  return (['string', 'packed', 'fields'] as const).map((layout) => [
    `${kind}, ${layout}`,
    new RedisStore({ client, prefix: prefix(layout), layout }),
  ]);
}

/**
 * For a describe: a standalone redis-server or a 3-master Cluster, started before its tests with one
 * connection per entry of `kinds` (app instances, as separate processes would have), all closed and
 * stopped after them.
 */
export function redisFleetForSuite(
  topology: 'standalone' | 'Cluster',
  kinds: readonly ClientKind[],
): { readonly servers: RedisServer[]; readonly connections: Connection<unknown>[] } {
  let servers: RedisServer[] = [];
  let stop: (() => Promise<void>) | undefined;
  const connections: Connection<unknown>[] = [];
  before(async () => {
    if (topology === 'Cluster') {
      const cluster = await startRedisCluster();
      servers = cluster.servers;
      stop = cluster.stop;
      for (const kind of kinds) connections.push(await connectRedis(kind, cluster));
    } else {
      const server = await startRedis();
      servers = [server];
      stop = server.dispose;
      for (const kind of kinds) connections.push(await connectRedis(kind, server));
    }
  });
  after(async () => {
    for (const connection of connections) await connection.close();
    await stop?.();
  });
  return {
    get servers() {
      return servers;
    },
    connections,
  };
}

/**
 * The fields of a session key holding a string, read as a hash would be: a session in the string
 * layout (its 72-character header of lastSeenAt, idleExpiresAt and version, then its JSON list), a
 * packed session's rotation pointer (the JSON list alone), or nothing for a renewal's stub.
 */
export function stringFields(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  let list = text;
  if (text.length <= 72) list = '[]';
  else if (!text.startsWith('[')) {
    ['lastSeenAt', 'idleExpiresAt', 'version'].forEach((field, i) => {
      fields[field] = text.slice(i * 24, i * 24 + 24).trimEnd();
    });
    list = text.slice(72);
  }
  const pairs = JSON.parse(list) as string[];
  for (let i = 0; i < pairs.length; i += 2) fields[pairs[i]!] = pairs[i + 1]!;
  return fields;
}
