/** What the benchmark runs: the servers (rows), the cases (tables) and the size of each mode. */

export type StoreKind = 'none' | 'memory' | 'sqlite' | 'redis' | 'postgres';

export interface ServerSpec {
  id: string;
  label: string;
  /** File in bench/servers/. */
  file: string;
  store: StoreKind;
  /** Built files the row needs (run `npm run build` first); while one is missing the row is skipped with a note. */
  requires: string[];
  /** Answers `/__stats` with counted renewal writes. */
  coatcheck: boolean;
}

export const SERVERS: readonly ServerSpec[] = [
  {
    id: 'bare-node',
    label: 'bare node:http',
    file: 'bare-node.ts',
    store: 'none',
    requires: [],
    coatcheck: false,
  },
  {
    id: 'bare-express',
    label: 'bare Express 5',
    file: 'bare-express.ts',
    store: 'none',
    requires: [],
    coatcheck: false,
  },
  {
    id: 'es-memory',
    label: 'express-session + MemoryStore',
    file: 'express-session-memory.ts',
    store: 'memory',
    requires: [],
    coatcheck: false,
  },
  {
    id: 'es-redis',
    label: 'express-session + connect-redis',
    file: 'express-session-redis.ts',
    store: 'redis',
    requires: [],
    coatcheck: false,
  },
  {
    id: 'es-postgres',
    label: 'express-session + connect-pg-simple',
    file: 'express-session-postgres.ts',
    store: 'postgres',
    requires: [],
    coatcheck: false,
  },
  {
    id: 'fastify-memory',
    label: '@fastify/session (memory)',
    file: 'fastify-session.ts',
    store: 'memory',
    requires: [],
    coatcheck: false,
  },
  {
    id: 'cc-memory',
    label: 'coatcheck Express + MemoryStore',
    file: 'coatcheck-memory.ts',
    store: 'memory',
    requires: [],
    coatcheck: true,
  },
  {
    id: 'cc-sqlite',
    label: 'coatcheck Express + SqliteStore',
    file: 'coatcheck-sqlite.ts',
    store: 'sqlite',
    requires: [],
    coatcheck: true,
  },
  {
    id: 'cc-redis',
    label: 'coatcheck Express + RedisStore',
    file: 'coatcheck-redis.ts',
    store: 'redis',
    requires: ['dist/esm/stores/redis.js'],
    coatcheck: true,
  },
  {
    id: 'cc-postgres',
    label: 'coatcheck Express + PostgresStore',
    file: 'coatcheck-postgres.ts',
    store: 'postgres',
    requires: ['dist/esm/stores/postgres.js'],
    coatcheck: true,
  },
  {
    id: 'cc-core-redis',
    label: 'coatcheck core on node:http + RedisStore',
    file: 'coatcheck-core-redis.ts',
    store: 'redis',
    requires: ['dist/esm/stores/redis.js'],
    coatcheck: true,
  },
];

export type CaseId = 'read' | 'renew' | 'login' | 'logout' | 'mix' | 'anon' | 'forged';

export interface CaseSpec {
  id: CaseId;
  label: string;
  script: 'read' | 'mix' | 'login' | 'logout';
  path: string;
  /** Which cookies the requests carry. */
  cookies: 'sessions' | 'none' | 'forged' | 'login-pool' | 'output';
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
  { id: 'logout', label: 'logout (POST /logout)', script: 'logout', path: '/logout', cookies: 'login-pool' },
  { id: 'mix', label: 'mix: 90% GET /me, 10% POST /write', script: 'mix', path: '/me', cookies: 'sessions' },
  {
    id: 'anon',
    label: 'anonymous request, no cookie (GET /public)',
    script: 'read',
    path: '/public',
    cookies: 'none',
  },
  { id: 'forged', label: 'forged cookie (GET /public)', script: 'read', path: '/public', cookies: 'forged' },
];

export type Mode = 'full' | 'quick' | 'smoke';

export interface ModeSettings {
  durationSec: number;
  logoutDurationSec: number;
  repetitions: number;
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
  /** Sessions of the one user whose list and revoke-all are timed. */
  userSessionCounts: number[];
  /** Sessions inserted into the memory store to check its bound, and the bound. */
  memoryInserts: number;
  memoryBound: number;
  profile: boolean;
}

export const MODES: Record<Mode, ModeSettings> = {
  full: {
    durationSec: 2,
    logoutDurationSec: 1,
    repetitions: 3,
    warmupSec: 1,
    connections: 32,
    sessions: 64,
    renewCheckSessions: 8,
    renewCheckSec: 3,
    scaleSmall: 10_000,
    scaleLarge: 1_000_000,
    userSessionCounts: [1, 10, 100, 1000],
    memoryInserts: 1_000_000,
    memoryBound: 100_000,
    profile: true,
  },
  quick: {
    durationSec: 2,
    logoutDurationSec: 1,
    repetitions: 3,
    warmupSec: 1,
    connections: 32,
    sessions: 64,
    renewCheckSessions: 8,
    renewCheckSec: 3,
    scaleSmall: 10_000,
    scaleLarge: 100_000,
    userSessionCounts: [1, 10, 100, 1000],
    memoryInserts: 1_000_000,
    memoryBound: 100_000,
    profile: true,
  },
  smoke: {
    durationSec: 1,
    logoutDurationSec: 1,
    repetitions: 1,
    warmupSec: 0,
    connections: 8,
    sessions: 16,
    renewCheckSessions: 4,
    renewCheckSec: 2,
    scaleSmall: 500,
    scaleLarge: 2_000,
    userSessionCounts: [1, 10],
    memoryInserts: 20_000,
    memoryBound: 5_000,
    profile: false,
  },
};
