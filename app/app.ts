import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import session, { deviceBoundSessions, type SessionMiddleware } from 'coatcheck/express';
import express, { type Express } from 'express';
import type { Registry } from 'prom-client';
import { createAccounts } from './auth.js';
import { type Backends, openBackends } from './backends.js';
import type { AppConfig } from './config.js';
import type { AppContext } from './context.js';
import { refuseTossedCookies } from './cookie-tossing.js';
import { csrfProtection } from './csrf.js';
import { refuseOptions, requireHttps } from './hardening.js';
import { errorHandler, loadUser, notFound, onStoreError, securityHeaders } from './middleware.js';
import { noticeRememberedDeviceReuse } from './notify.js';
import { createObservability } from './observability.js';
import { accountPages } from './routes/account-pages.js';
import { adminAccountPages, apiAdminAccounts } from './routes/admin-accounts.js';
import { adminPages } from './routes/admin-pages.js';
import { adminSecurityPage } from './routes/admin-security.js';
import { api } from './routes/api.js';
import { apiAdmin } from './routes/api-admin.js';
import { apiSecondFactor } from './routes/api-second-factor.js';
import { authPages } from './routes/auth-pages.js';
import { signInCodePages } from './routes/sign-in-code-pages.js';
import { forgetExpiredEnrolment, twoStepPages } from './routes/two-step-pages.js';
import { createLoginThrottle } from './throttle/login-throttle.js';

/** The app, ready to be handed to an HTTP(S) server. */
export interface RunningApp {
  app: Express;
  /** The origins forms and API calls may come from (CSRF origin check). */
  origins: string[];
  sessions: SessionMiddleware;
  backends: Backends;
  /** Prometheus metrics of the sessions; server.ts serves them on METRICS_PORT. */
  metrics: Registry;
  /** Closes the stores and connections; the HTTP server is the caller's. */
  close(): Promise<void>;
}

/** Options for embedding the app (tests, the CLI). */
export interface CreateAppOptions {
  /** Where start-up warnings and unexpected errors go. @default console.warn / console.error */
  warn?: (message: string) => void;
  logError?: (error: unknown) => void;
  /** Receives every audit event (S47). @default none (server.ts logs them as JSON lines to stdout) */
  audit?: Parameters<SessionMiddleware['on']>[0];
  /** The clock for sessions, freshness, step-up and TOTP codes; tests move it. @default Date.now */
  now?: () => number;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * The origins the app answers on: PUBLIC_ORIGIN when set, else the listening origin, plus its
 * `localhost` / `127.0.0.1` twin on loopback. Never derived from a request's Host header (S59).
 */
export function appOrigins(config: AppConfig): string[] {
  if (config.publicOrigins.length > 0) return config.publicOrigins;
  const scheme = config.https ? 'https' : 'http';
  const hosts = LOOPBACK.has(config.host) ? ['127.0.0.1', 'localhost'] : [config.host];
  return hosts.map((host) => `${scheme}://${host.includes(':') ? `[${host}]` : host}:${config.port}`);
}

/**
 * Builds the reference app on the library's public entry points. `config.port` must be the port
 * the server really listens on (it names the allowed origin).
 *
 * @example
 * const { app, close } = await createApp(loadConfig());
 * const server = http.createServer(app).listen(3000);
 */
export async function createApp(config: AppConfig, options: CreateAppOptions = {}): Promise<RunningApp> {
  const warn = options.warn ?? ((message: string) => console.warn(message));
  const logError = options.logError ?? ((error: unknown) => console.error(error));
  const now = options.now ?? Date.now;
  const backends = await openBackends(config);
  try {
    const observability = createObservability();
    const sessions = session({
      ...(config.secrets ? { secret: config.secrets } : {}),
      store: observability.instrumentStore(backends.sessionStore),
      idleTimeoutMs: config.idleTimeoutMs,
      ...(config.rotationIntervalMs > 0 ? { rotationIntervalMs: config.rotationIntervalMs } : {}),
      absoluteTimeoutMs: config.absoluteTimeoutMs,
      remember: true,
      production: config.production,
      onStoreError,
      warn,
      now,
    });
    const throttle = createLoginThrottle(backends.counter, config.throttle);
    const accounts = await createAccounts(backends.users, throttle);
    if (options.audit) sessions.on(options.audit);
    observability.attach(sessions, backends.notifications, logError);
    sessions.on(noticeRememberedDeviceReuse(backends.notifications, now, logError));
    const ctx: AppContext = {
      config,
      accounts,
      users: backends.users,
      notifications: backends.notifications,
      sessions,
      dbsc: null,
      counter: backends.counter,
      now,
      recentSecurityEvents: observability.recentSecurityEvents,
    };
    const origins = appOrigins(config);
    if (config.https) ctx.dbsc = deviceBoundSessions(sessions, { origins });

    const app = express();
    app.disable('x-powered-by');
    app.set('etag', false);
    app.set('trust proxy', config.trustProxy);
    app.use(securityHeaders);
    if (config.production) app.use(requireHttps(appOrigins(config)));
    app.use(refuseOptions);
    app.use(
      '/static',
      express.static(join(dirname(fileURLToPath(import.meta.url)), 'public'), { maxAge: '1h', index: false }),
    );
    app.use(express.urlencoded({ extended: false, limit: '16kb' }));
    app.use(express.json({ limit: '16kb' }));
    // The DBSC routes answer before the session and CSRF middleware: they load the session themselves
    // and the browser sends them without a CSRF token (the Origin / Sec-Fetch-Site policy still applies).
    if (ctx.dbsc) app.use(ctx.dbsc);
    app.use(sessions);
    app.use(refuseTossedCookies(ctx));
    app.use(csrfProtection(origins));
    app.use(loadUser(ctx));
    app.use(forgetExpiredEnrolment(ctx));
    app.use(authPages(ctx));
    app.use(signInCodePages(ctx));
    app.use(accountPages(ctx));
    app.use(twoStepPages(ctx));
    app.use(adminPages(ctx));
    app.use(adminSecurityPage(ctx));
    app.use('/api/admin', apiAdmin(ctx));
    app.use(adminAccountPages(ctx));
    app.use('/api/admin', apiAdminAccounts(ctx));
    app.use('/api', apiSecondFactor(ctx));
    app.use('/api', api(ctx));
    app.use(notFound);
    app.use(errorHandler((error) => logError(error)));

    return {
      app,
      origins,
      sessions,
      backends,
      metrics: observability.registry,
      close: () => backends.close(),
    };
  } catch (error) {
    await backends.close();
    throw error;
  }
}
