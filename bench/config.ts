/** What the benchmark runs: the servers (rows), the cases (tables) and the size of each mode. */

export type StoreKind = 'none' | 'memory' | 'sqlite' | 'redis' | 'postgres';

/** The framework a row runs on; its own cost is measured against that framework's bare row. */
export type Framework = 'node' | 'express' | 'fastify' | 'hono';

export interface ServerSpec {
  id: string;
  label: string;
  /** File in bench/servers/. */
  file: string;
  store: StoreKind;
  framework: Framework;
  /** Built files the row needs (run `npm run build` first); while one is missing the row is skipped with a note. */
  requires: string[];
  /** Answers `/__stats` with counted renewal writes. */
  coatcheck: boolean;
  /** The other library's row on the same framework and store, beside it in the own-cost summary. */
  peer?: string;
  /** What sets the row apart from another on the same framework and store, shown with its store. */
  variant?: string;
  /**
   * A reference measured only in the paired runs, never a row of the matrix: the store client's
   * share of a read, with no session layer (`floor-node-redis`).
   */
  pairedOnly?: boolean;
}

/** The row without sessions for each framework: own cost = a row's CPU µs/req minus its bare row's. */
export const BARE: Record<Framework, string> = {
  node: 'bare-node',
  express: 'bare-express',
  fastify: 'bare-fastify',
  hono: 'bare-hono',
};

const REDIS_STORE = 'packages/coatcheck/dist/esm/stores/redis.js';

type Row = Omit<ServerSpec, 'requires' | 'coatcheck'> & Partial<Pick<ServerSpec, 'requires' | 'coatcheck'>>;
const rows = (list: Row[]): ServerSpec[] =>
  list.map((spec) => ({
    requires: spec.store === 'redis' && spec.id.startsWith('cc-') ? [REDIS_STORE] : [],
    coatcheck: spec.id.startsWith('cc-'),
    ...spec,
  }));

/** In run order, grouped by framework: the bare row first, then the peers, then coatcheck. */
export const SERVERS: readonly ServerSpec[] = rows([
  { id: 'bare-node', label: 'bare node:http', file: 'bare-node.ts', store: 'none', framework: 'node' },
  {
    id: 'cc-core-redis',
    label: 'coatcheck core on node:http + RedisStore',
    file: 'coatcheck-core-redis.ts',
    store: 'redis',
    framework: 'node',
  },
  {
    id: 'cc-core-memory',
    label: 'coatcheck core on node:http + MemoryStore',
    file: 'coatcheck-core-memory.ts',
    store: 'memory',
    framework: 'node',
  },
  {
    id: 'cc-core-sqlite',
    label: 'coatcheck core on node:http + SqliteStore',
    file: 'coatcheck-core-sqlite.ts',
    store: 'sqlite',
    framework: 'node',
  },
  {
    id: 'cc-core-redis-cached',
    label: 'coatcheck core on node:http + RedisStore, client-side cache',
    file: 'coatcheck-core-redis-cached.ts',
    store: 'redis',
    framework: 'node',
    variant: "node-redis's client-side cache",
  },
  {
    id: 'floor-node-redis',
    label: 'bare node:http + one GET of a session (node-redis), no session layer',
    file: 'floor-node-redis.ts',
    store: 'redis',
    framework: 'node',
    requires: [REDIS_STORE],
    pairedOnly: true,
  },
  {
    id: 'bare-express',
    label: 'bare Express 5',
    file: 'bare-express.ts',
    store: 'none',
    framework: 'express',
  },
  {
    id: 'es-memory',
    label: 'express-session + MemoryStore',
    file: 'express-session-memory.ts',
    store: 'memory',
    framework: 'express',
  },
  {
    id: 'es-redis',
    label: 'express-session + connect-redis',
    file: 'express-session-redis.ts',
    store: 'redis',
    framework: 'express',
  },
  {
    id: 'es-postgres',
    label: 'express-session + connect-pg-simple',
    file: 'express-session-postgres.ts',
    store: 'postgres',
    framework: 'express',
  },
  {
    id: 'cc-memory',
    label: 'coatcheck Express + MemoryStore',
    file: 'coatcheck-memory.ts',
    store: 'memory',
    framework: 'express',
    peer: 'es-memory',
  },
  {
    id: 'cc-sqlite',
    label: 'coatcheck Express + SqliteStore',
    file: 'coatcheck-sqlite.ts',
    store: 'sqlite',
    framework: 'express',
  },
  {
    id: 'cc-redis',
    label: 'coatcheck Express + RedisStore',
    file: 'coatcheck-redis.ts',
    store: 'redis',
    framework: 'express',
    peer: 'es-redis',
  },
  {
    id: 'cc-postgres',
    label: 'coatcheck Express + PostgresStore',
    file: 'coatcheck-postgres.ts',
    store: 'postgres',
    framework: 'express',
    requires: ['packages/coatcheck/dist/esm/stores/postgres.js'],
    peer: 'es-postgres',
  },
  {
    id: 'bare-fastify',
    label: 'bare Fastify 5',
    file: 'bare-fastify.ts',
    store: 'none',
    framework: 'fastify',
  },
  {
    id: 'fastify-memory',
    label: '@fastify/session (memory)',
    file: 'fastify-session-memory.ts',
    store: 'memory',
    framework: 'fastify',
  },
  {
    id: 'fastify-redis',
    label: '@fastify/session + connect-redis',
    file: 'fastify-session-redis.ts',
    store: 'redis',
    framework: 'fastify',
  },
  {
    id: 'cc-fastify-memory',
    label: 'coatcheck Fastify + MemoryStore',
    file: 'coatcheck-fastify-memory.ts',
    store: 'memory',
    framework: 'fastify',
    peer: 'fastify-memory',
  },
  {
    id: 'cc-fastify-redis',
    label: 'coatcheck Fastify + RedisStore',
    file: 'coatcheck-fastify-redis.ts',
    store: 'redis',
    framework: 'fastify',
    peer: 'fastify-redis',
  },
  {
    id: 'bare-hono',
    label: 'bare Hono 4 on @hono/node-server',
    file: 'bare-hono.ts',
    store: 'none',
    framework: 'hono',
  },
  {
    id: 'cc-hono-memory',
    label: 'coatcheck Hono + MemoryStore',
    file: 'coatcheck-hono-memory.ts',
    store: 'memory',
    framework: 'hono',
  },
  {
    id: 'cc-hono-redis',
    label: 'coatcheck Hono + RedisStore',
    file: 'coatcheck-hono-redis.ts',
    store: 'redis',
    framework: 'hono',
  },
]);

/**
 * Pairs run back to back on the authenticated read, repetition by repetition, after the matrix:
 * the subject's req/s over the baseline's and the CPU µs/req difference, per repetition. Against a
 * bare row that difference is the subject's own cost.
 */
export const PAIRS: readonly { subject: string; baseline: string }[] = [
  { subject: 'cc-redis', baseline: 'es-redis' },
  { subject: 'cc-redis', baseline: 'bare-express' },
  { subject: 'cc-fastify-redis', baseline: 'fastify-redis' },
  { subject: 'cc-fastify-memory', baseline: 'fastify-memory' },
  { subject: 'cc-core-redis', baseline: 'bare-node' },
  { subject: 'cc-core-memory', baseline: 'bare-node' },
  { subject: 'cc-core-sqlite', baseline: 'bare-node' },
  { subject: 'cc-core-redis-cached', baseline: 'bare-node' },
  { subject: 'floor-node-redis', baseline: 'bare-node' },
];

export type CaseId = 'read' | 'renew' | 'login' | 'logout' | 'mix' | 'anon' | 'forged';

export interface CaseSpec {
  id: CaseId;
  label: string;
  script: 'read' | 'mix' | 'login' | 'logout';
  path: string;
  /** Which cookies the requests carry. */
  cookies: 'sessions' | 'none' | 'forged' | 'login-pool' | 'output';
  /** Runs for the mode's shortDurationSec. */
  short?: boolean;
}

/** In run order: login comes before logout, whose pool it fills. */
export const CASES: readonly CaseSpec[] = [
  { id: 'read', label: 'authenticated read (GET /me)', script: 'read', path: '/me', cookies: 'sessions' },
  {
    id: 'renew',
    label: 'authenticated read, renewal due on every request (GET /renew/me)',
    script: 'read',
    path: '/renew/me',
    cookies: 'sessions',
  },
  {
    id: 'login',
    label: 'login: rotation + write (POST /login)',
    script: 'login',
    path: '/login',
    cookies: 'output',
  },
  {
    id: 'logout',
    label: 'logout (POST /logout)',
    script: 'logout',
    path: '/logout',
    cookies: 'login-pool',
    short: true,
  },
  {
    id: 'mix',
    label: 'mix: 90% GET /me, 10% POST /write',
    script: 'mix',
    path: '/me',
    cookies: 'sessions',
    short: true,
  },
  {
    id: 'anon',
    label: 'anonymous request, no cookie (GET /public)',
    script: 'read',
    path: '/public',
    cookies: 'none',
    short: true,
  },
  {
    id: 'forged',
    label: 'forged cookie (GET /public)',
    script: 'read',
    path: '/public',
    cookies: 'forged',
    short: true,
  },
];

export type Mode = 'full' | 'quick' | 'smoke';

export interface ModeSettings {
  durationSec: number;
  /**
   * Duration of the short cases: logout (its pool is what the login run left), and the mix and the
   * anonymous and forged requests, which check behaviour and store commands more than throughput.
   */
  shortDurationSec: number;
  repetitions: number;
  /** Repetitions of each pair in PAIRS (authenticated read, back to back). */
  pairedRepetitions: number;
  warmupSec: number;
  connections: number;
  /** Distinct pre-created sessions per timed run. */
  sessions: number;
  /** Sessions hammered concurrently in the renewal-write check, and for how long. */
  renewCheckSessions: number;
  renewCheckSec: number;
  /** Stored sessions for the scale runs: the small and the large population. */
  scaleSmall: number;
  scaleLarge: number;
  /** Load on each scale server before its timed runs, in seconds. */
  scaleWarmupSec: number;
  /** Rounds of the scale runs: one timed read run per population each, alternating which goes first. */
  scaleRounds: number;
  /** Sessions of the one user whose list and revoke-all are timed. */
  userSessionCounts: number[];
  /** Authenticated reads per round through the engine alone (no HTTP), and how many rounds. */
  engineReads: number;
  engineRounds: number;
  /** Sessions inserted into the memory store to check its bound, and the bound. */
  memoryInserts: number;
  memoryBound: number;
  profile: boolean;
}

export const MODES: Record<Mode, ModeSettings> = {
  full: {
    durationSec: 2,
    shortDurationSec: 1,
    repetitions: 3,
    pairedRepetitions: 11,
    warmupSec: 1,
    connections: 32,
    sessions: 64,
    renewCheckSessions: 8,
    renewCheckSec: 3,
    scaleSmall: 10_000,
    scaleLarge: 1_000_000,
    scaleWarmupSec: 20,
    scaleRounds: 9,
    userSessionCounts: [1, 10, 100, 1000],
    engineReads: 100_000,
    engineRounds: 5,
    memoryInserts: 1_000_000,
    memoryBound: 100_000,
    profile: true,
  },
  quick: {
    durationSec: 2,
    shortDurationSec: 1,
    repetitions: 3,
    pairedRepetitions: 5,
    warmupSec: 1,
    connections: 32,
    sessions: 64,
    renewCheckSessions: 8,
    renewCheckSec: 3,
    scaleSmall: 10_000,
    scaleLarge: 100_000,
    scaleWarmupSec: 3,
    scaleRounds: 5,
    userSessionCounts: [1, 10, 100, 1000],
    engineReads: 50_000,
    engineRounds: 3,
    memoryInserts: 1_000_000,
    memoryBound: 100_000,
    profile: true,
  },
  smoke: {
    durationSec: 1,
    shortDurationSec: 1,
    repetitions: 1,
    pairedRepetitions: 1,
    warmupSec: 0,
    connections: 8,
    sessions: 16,
    renewCheckSessions: 4,
    renewCheckSec: 2,
    scaleSmall: 500,
    scaleLarge: 2_000,
    scaleWarmupSec: 1,
    scaleRounds: 1,
    userSessionCounts: [1, 10],
    engineReads: 2_000,
    engineRounds: 1,
    memoryInserts: 20_000,
    memoryBound: 5_000,
    profile: false,
  },
};
