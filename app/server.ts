import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { SessionConfigError } from 'coatcheck/express';
import { createApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { gracefulStop } from './graceful-stop.js';
import { auditToStdout } from './hardening.js';
import { serveMetrics } from './metrics-server.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function fail(message: string): never {
  console.error(`\ncoatcheck reference app: cannot start.\n${message}\n`);
  process.exit(1);
}

function explain(error: unknown): string {
  if (error instanceof SessionConfigError && error.option === 'secret') {
    return [
      `The session secret is missing or weak (${error.message}).`,
      'In production set SESSION_SECRET to at least 32 random characters, for example:',
      '  SESSION_SECRET="$(openssl rand -base64 48)" NODE_ENV=production npm start',
    ].join('\n');
  }
  if (error instanceof ConfigError || error instanceof SessionConfigError) return error.message;
  return `${error instanceof Error ? error.message : String(error)}`;
}

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    fail(explain(error));
  }
  for (const notice of config.notices) console.warn(`warning: ${notice}`);

  // Listen first, so PORT=0 works: the allowed origin needs the real port.
  let handler: Handler = (_req, res) => {
    res.statusCode = 503;
    res.setHeader('Retry-After', '1');
    res.end('Starting');
  };
  const server = config.https
    ? createHttpsServer({ cert: config.https.cert, key: config.https.key })
    : createHttpServer();
  const graceful = gracefulStop(server);
  server.on(
    'request',
    graceful.handle((req, res) => handler(req, res)),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  }).catch((error: unknown) => fail(`Cannot listen on ${config.host}:${config.port}: ${explain(error)}`));
  const { port } = server.address() as AddressInfo;

  let running: Awaited<ReturnType<typeof createApp>>;
  try {
    running = await createApp({ ...config, port }, { audit: auditToStdout() });
  } catch (error) {
    server.close();
    fail(explain(error));
  }
  handler = running.app as unknown as Handler;

  const scheme = config.https ? 'https' : 'http';
  // Listening on every interface: the loopback address is the one this machine can open.
  const shown = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const host = shown.includes(':') ? `[${shown}]` : shown;
  console.log(`coatcheck reference app on ${scheme}://${host}:${port}`);
  console.log(`  ${running.backends.description}`);
  const metricsServer =
    config.metricsPort === undefined
      ? null
      : await serveMetrics(running.metrics, config.metricsPort, config.metricsHost).catch((error: unknown) =>
          fail(`Cannot listen on ${config.metricsHost}:${config.metricsPort} for metrics: ${explain(error)}`),
        );
  if (metricsServer) {
    const { port: metricsPort } = metricsServer.address() as AddressInfo;
    const metricsHost = config.metricsHost.includes(':') ? `[${config.metricsHost}]` : config.metricsHost;
    console.log(`  Prometheus metrics on http://${metricsHost}:${metricsPort}/metrics`);
  }

  // SIGTERM and Ctrl-C: every request already sent is answered before the stores close.
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    metricsServer?.close();
    void graceful
      .stop()
      .then(() => running.close())
      .finally(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

await main();
