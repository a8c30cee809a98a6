/**
 * The faults, one per scenario: each starts its store, and, once the load has run `warmupMs`,
 * breaks something for `outageMs` and repairs it. `faultAt` and `backAt` (ms since the load
 * started) mark the fault and the moment the store (or the app) was back.
 */
import {
  type Backend,
  clusterBackend,
  postgresBackend,
  type RedisClientKind,
  redisBackend,
  sentinelBackend,
} from './backends.js';
import type { Fleet } from './fleet.js';

export interface Timing {
  warmupMs: number;
  outageMs: number;
}

export interface Marks {
  faultAt: number;
  backAt: number;
}

export type Fault = (fleet: Fleet, elapsed: () => number, timing: Timing) => Promise<Marks | null>;

export interface Scenario {
  name: string;
  what: string;
  /** Whether the store keeps every acknowledged write through this fault (then none may be lost). */
  keepsData: boolean;
  needs: 'redis' | 'postgres';
  setup(): Promise<{ backend: Backend; fault: Fault }>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits out the warm-up, runs `breakIt`, waits out the outage, runs `repair`. With `selfHealing`
 * the store fails over by itself: back (from the app's side) is measured from the fault, and the
 * repair is the old master coming back to rejoin as a replica of the one promoted in its place.
 */
function timed(breakIt: () => Promise<void>, repair: () => Promise<void>, selfHealing = false): Fault {
  return async (_fleet, elapsed, { warmupMs, outageMs }) => {
    await sleep(warmupMs);
    const faultAt = elapsed();
    await breakIt();
    await sleep(outageMs);
    await repair();
    return { faultAt, backAt: selfHealing ? faultAt : elapsed() };
  };
}

const failover = (kill: () => Promise<void>, rejoin: () => Promise<void>) => timed(kill, rejoin, true);

function redisKill(persistent: boolean): Scenario {
  return {
    name: persistent ? 'redis-kill-aof' : 'redis-kill-no-persistence',
    what: `Redis (standalone, node-redis) SIGKILLed and restarted ${persistent ? 'with appendonly yes' : 'without persistence: every session is gone'}`,
    keepsData: persistent,
    needs: 'redis',
    async setup() {
      const backend = await redisBackend('node-redis', persistent);
      const fault = timed(
        () => backend.server.stop('SIGKILL'),
        () => backend.server.restart(),
      );
      return { backend, fault };
    },
  };
}

function clusterFailover(client: RedisClientKind): Scenario {
  return {
    name: `redis-cluster-failover-${client}`,
    what: `Redis Cluster (3 masters, 1 replica each, node timeout 1 s, ${client}): one master SIGKILLed; replication is asynchronous`,
    keepsData: false,
    needs: 'redis',
    async setup() {
      const backend = await clusterBackend(client);
      const master = backend.cluster.servers[0]!;
      return {
        backend,
        fault: failover(
          () => master.stop('SIGKILL'),
          () => master.restart(),
        ),
      };
    },
  };
}

function sentinelFailover(client: RedisClientKind): Scenario {
  return {
    name: `redis-sentinel-failover-${client}`,
    what: `Redis Sentinel (master, replica, 3 sentinels, down after 1 s, ${client}): the master SIGKILLed; replication is asynchronous`,
    keepsData: false,
    needs: 'redis',
    async setup() {
      const backend = await sentinelBackend(client);
      const master = backend.set.master;
      return {
        backend,
        fault: failover(
          () => master.stop('SIGKILL'),
          () => master.restart(),
        ),
      };
    },
  };
}

/** Every fault scenario, in the order they run. */
export const SCENARIOS: Scenario[] = [
  redisKill(true),
  redisKill(false),
  {
    name: 'redis-hung',
    what: 'Redis (standalone, node-redis) stopped with SIGSTOP, then resumed with SIGCONT',
    keepsData: true,
    needs: 'redis',
    async setup() {
      const backend = await redisBackend('node-redis', false);
      const signal = (name: NodeJS.Signals) => async () => void process.kill(backend.server.pid, name);
      return { backend, fault: timed(signal('SIGSTOP'), signal('SIGCONT')) };
    },
  },
  {
    name: 'postgres-immediate-stop',
    what: 'PostgreSQL stopped with pg_ctl -m immediate, then started again',
    keepsData: true,
    needs: 'postgres',
    async setup() {
      const backend = await postgresBackend();
      return {
        backend,
        fault: timed(
          () => backend.immediateStop(),
          () => backend.server.restart(),
        ),
      };
    },
  },
  {
    name: 'app-kill',
    what: 'One of the 3 app processes SIGKILLed, then started again (Redis untouched)',
    keepsData: true,
    needs: 'redis',
    async setup() {
      const backend = await redisBackend('node-redis', false);
      const fault: Fault = async (fleet, elapsed, { warmupMs, outageMs }) => {
        await sleep(warmupMs);
        const faultAt = elapsed();
        await fleet.kill(1);
        await sleep(outageMs);
        await fleet.restart(1);
        return { faultAt, backAt: elapsed() };
      };
      return { backend, fault };
    },
  },
  clusterFailover('node-redis'),
  clusterFailover('ioredis'),
  sentinelFailover('node-redis'),
  sentinelFailover('ioredis'),
];
