import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** One environment variable the app reads: its name, default and meaning (rendered in the docs). */
export interface EnvVar {
  name: string;
  default: string;
  description: string;
}

/** Every environment variable the app reads, in one table. */
export const ENV_VARS: readonly EnvVar[] = [
  { name: 'PORT', default: '3000', description: 'TCP port to listen on (0 picks a free one).' },
  { name: 'HOST', default: '127.0.0.1', description: 'Address to listen on.' },
  {
    name: 'DATA_DIR',
    default: './data',
    description: 'SQLite files (sessions, users, throttling) and the development secret.',
  },
  {
    name: 'SESSION_SECRET',
    default: '(generated in development)',
    description:
      'At least 32 characters; several separated by commas rotate keys (the first signs). Required in production.',
  },
  { name: 'NODE_ENV', default: 'development', description: '`production` makes a strong secret mandatory.' },
  {
    name: 'REDIS_URL',
    default: '',
    description: 'Sessions and throttling counters in Redis (users stay in SQLite, or Postgres).',
  },
  {
    name: 'DATABASE_URL',
    default: '',
    description: 'PostgreSQL: users, and sessions unless REDIS_URL is set.',
  },
  {
    name: 'TRUST_PROXY',
    default: 'false',
    description: 'Express `trust proxy`: a hop count, or addresses/subnets (`loopback`, `10.0.0.0/8`).',
  },
  {
    name: 'HTTPS_CERT',
    default: '',
    description: 'PEM certificate file; with HTTPS_KEY the app serves HTTPS.',
  },
  { name: 'HTTPS_KEY', default: '', description: 'PEM private key file.' },
  {
    name: 'PUBLIC_ORIGIN',
    default: '(the listening origin)',
    description: 'Origins that may post forms, comma-separated, e.g. `https://app.example.com`.',
  },
  { name: 'IDLE_TIMEOUT_MS', default: '1800000', description: 'Sign out after this long without a request.' },
  { name: 'ABSOLUTE_TIMEOUT_MS', default: '43200000', description: 'Sign out this long after sign-in.' },
  {
    name: 'ROTATION_INTERVAL_MS',
    default: '900000',
    description:
      'A session in use gets a new token this often (the old one works 30 s more); 0 turns it off.',
  },
  {
    name: 'FRESH_AUTH_MS',
    default: '300000',
    description: 'Password change, device and admin actions need a sign-in this recent.',
  },
  {
    name: 'STEP_UP_MAX_AGE_MS',
    default: '300000',
    description: 'Admin actions and turning off two-step sign-in need an authenticator code this recent.',
  },
  {
    name: 'LOGIN_MAX_FAILURES',
    default: '5',
    description: 'Failed sign-ins per account within the window before 429.',
  },
  {
    name: 'LOGIN_MAX_FAILURES_PER_IP',
    default: '30',
    description: 'Failed sign-ins per IP within the window.',
  },
  { name: 'REGISTER_MAX_PER_IP', default: '10', description: 'Registrations per IP within the window.' },
  { name: 'THROTTLE_WINDOW_MS', default: '900000', description: 'Length of the throttling window.' },
  {
    name: 'METRICS_PORT',
    default: '',
    description: 'Serve Prometheus metrics at `/metrics` on this separate port (0 picks a free one).',
  },
  {
    name: 'METRICS_HOST',
    default: '127.0.0.1',
    description: 'Address of the metrics listener (operators only).',
  },
];

/** The app's resolved configuration. */
export interface AppConfig {
  port: number;
  host: string;
  dataDir: string;
  /** Undefined only in production without SESSION_SECRET: the library then refuses to start. */
  secrets: string[] | undefined;
  production: boolean;
  redisUrl: string | undefined;
  databaseUrl: string | undefined;
  trustProxy: boolean | number | string;
  https: { cert: string; key: string } | undefined;
  /** Explicit origins; when empty, the listening origin (plus `localhost` on loopback) is used. */
  publicOrigins: string[];
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  freshAuthMs: number;
  /** How long a second-factor step-up counts for highly sensitive actions (S40). */
  stepUpMaxAgeMs: number;
  /** How often a session in use gets a new token (S21); 0 for never. */
  rotationIntervalMs: number;
  throttle: {
    windowMs: number;
    maxFailuresPerAccount: number;
    maxFailuresPerIp: number;
    maxRegistrationsPerIp: number;
  };
  /** Port of the separate Prometheus listener; undefined when metrics are not served. */
  metricsPort: number | undefined;
  metricsHost: string;
  /** Start-up notices for the operator (a generated secret, plain HTTP in production). */
  notices: string[];
}

/** A configuration value that cannot be used; `variable` names the environment variable. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function integer(env: Env, name: string, fallback: number, min: number): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || !Number.isSafeInteger(Number(raw))) {
    throw new ConfigError(name, `must be a whole number of at least ${min}`);
  }
  return Number(raw);
}

function trustProxy(env: Env): boolean | number | string {
  const raw = text(env, 'TRUST_PROXY');
  if (raw === undefined || raw === 'false' || raw === '0') return false;
  // `true` trusts every hop, so any client could forge X-Forwarded-For (S43): ask for a count instead.
  if (raw === 'true')
    throw new ConfigError('TRUST_PROXY', 'give the number of proxy hops or their addresses');
  return /^\d+$/.test(raw) ? Number(raw) : raw;
}

function origins(env: Env): string[] {
  const raw = text(env, 'PUBLIC_ORIGIN');
  if (!raw) return [];
  return raw.split(',').map((entry) => {
    const value = entry.trim();
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new ConfigError('PUBLIC_ORIGIN', `"${value}" is not a URL`);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== value.replace(/\/$/, '')) {
      throw new ConfigError(
        'PUBLIC_ORIGIN',
        `"${value}" must be a bare origin such as https://app.example.com`,
      );
    }
    return url.origin;
  });
}

/**
 * In development a missing secret is generated once and kept in DATA_DIR, so sessions survive a
 * restart; in production nothing is generated and the library refuses to start.
 */
function secrets(env: Env, dataDir: string, production: boolean, notices: string[]): string[] | undefined {
  const raw = text(env, 'SESSION_SECRET');
  if (raw) return raw.split(',').map((secret) => secret.trim());
  if (production) return undefined;
  const file = resolve(dataDir, 'session-secret');
  if (existsSync(file)) {
    notices.push(`SESSION_SECRET is not set; using the development secret in ${file}`);
    return [readFileSync(file, 'utf8').trim()];
  }
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  notices.push(
    `SESSION_SECRET is not set; generated a development secret in ${file} (never use it in production)`,
  );
  return [secret];
}

/**
 * Reads the configuration from the environment. Throws ConfigError naming the variable for a value
 * that cannot be used; creates DATA_DIR.
 *
 * @example
 * const config = loadConfig(process.env);
 */
export function loadConfig(env: Env = process.env): AppConfig {
  const production = text(env, 'NODE_ENV') === 'production';
  const dataDir = resolve(text(env, 'DATA_DIR') ?? './data');
  // Owner-only: it holds the session and user databases and the development secret.
  if (mkdirSync(dataDir, { recursive: true, mode: 0o700 }) !== undefined) chmodSync(dataDir, 0o700);
  const notices: string[] = [];
  const cert = text(env, 'HTTPS_CERT');
  const key = text(env, 'HTTPS_KEY');
  if (Boolean(cert) !== Boolean(key)) {
    throw new ConfigError(cert ? 'HTTPS_KEY' : 'HTTPS_CERT', 'HTTPS needs both HTTPS_CERT and HTTPS_KEY');
  }
  const readPem = (name: string, path: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      throw new ConfigError(name, `cannot read ${path}`);
    }
  };
  const idleTimeoutMs = integer(env, 'IDLE_TIMEOUT_MS', 30 * 60_000, 1000);
  const config: AppConfig = {
    port: integer(env, 'PORT', 3000, 0),
    host: text(env, 'HOST') ?? '127.0.0.1',
    dataDir,
    secrets: undefined,
    production,
    redisUrl: text(env, 'REDIS_URL'),
    databaseUrl: text(env, 'DATABASE_URL'),
    trustProxy: trustProxy(env),
    https: cert && key ? { cert: readPem('HTTPS_CERT', cert), key: readPem('HTTPS_KEY', key) } : undefined,
    publicOrigins: origins(env),
    idleTimeoutMs,
    absoluteTimeoutMs: integer(env, 'ABSOLUTE_TIMEOUT_MS', Math.max(12 * 3_600_000, idleTimeoutMs), 1000),
    rotationIntervalMs: integer(env, 'ROTATION_INTERVAL_MS', 15 * 60_000, 0),
    freshAuthMs: integer(env, 'FRESH_AUTH_MS', 5 * 60_000, 1000),
    stepUpMaxAgeMs: integer(env, 'STEP_UP_MAX_AGE_MS', 5 * 60_000, 1000),
    throttle: {
      windowMs: integer(env, 'THROTTLE_WINDOW_MS', 15 * 60_000, 1000),
      maxFailuresPerAccount: integer(env, 'LOGIN_MAX_FAILURES', 5, 1),
      maxFailuresPerIp: integer(env, 'LOGIN_MAX_FAILURES_PER_IP', 30, 1),
      maxRegistrationsPerIp: integer(env, 'REGISTER_MAX_PER_IP', 10, 1),
    },
    metricsPort: text(env, 'METRICS_PORT') === undefined ? undefined : integer(env, 'METRICS_PORT', 0, 0),
    metricsHost: text(env, 'METRICS_HOST') ?? '127.0.0.1',
    notices,
  };
  if (config.port > 65535) throw new ConfigError('PORT', 'must be at most 65535');
  if ((config.metricsPort ?? 0) > 65535) throw new ConfigError('METRICS_PORT', 'must be at most 65535');
  config.secrets = secrets(env, dataDir, production, notices);
  if (production && !config.https && config.trustProxy === false) {
    notices.push(
      'NODE_ENV=production over plain HTTP: cookies are not Secure; serve HTTPS or set TRUST_PROXY behind a TLS proxy',
    );
  }
  return config;
}
