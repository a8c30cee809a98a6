/**
 * Several instances of test/support/instance-app.ts, each its own Node process on one shared store,
 * behind a round-robin HTTP proxy on 127.0.0.1: what an operator runs behind a load balancer.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SECRET } from './app.js';
import { Client } from './http.js';

export interface AppInstance {
  name: string;
  url: string;
  pid: number;
}

export interface AppCluster {
  /** The proxy: each request goes to the next instance in turn. */
  url: string;
  instances: AppInstance[];
  /** Stops the proxy and every instance (SIGTERM by PID, waiting for each to exit). */
  stop(): Promise<void>;
}

const appPath = fileURLToPath(new URL('./instance-app.ts', import.meta.url));

function startInstance(
  name: string,
  env: Record<string, string>,
): Promise<{ instance: AppInstance; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', appPath], {
    env: { ...process.env, ...env, INSTANCE: name, PORT: '0', SESSION_SECRET: SECRET },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const reap = () => child.exitCode === null && child.pid && process.kill(child.pid);
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
  return new Promise((resolve, reject) => {
    let output = '';
    let errors = '';
    const timer = setTimeout(() => fail(new Error(`${name} did not start in time: ${errors}`)), 60_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      if (child.exitCode === null && child.pid) process.kill(child.pid);
      reject(error);
    };
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      errors = (errors + chunk).slice(-4000);
    });
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const line = /^\{"port":(\d+)\}$/m.exec(output);
      if (!line) return;
      clearTimeout(timer);
      resolve({ instance: { name, url: `http://127.0.0.1:${line[1]}`, pid: child.pid! }, child });
    });
    child.once('exit', (code) => fail(new Error(`${name} exited with ${code}: ${errors}`)));
  });
}

/** Starts `count` instances with the given store environment and a round-robin proxy in front. */
export async function startAppCluster(options: {
  env: Record<string, string>;
  count?: number;
}): Promise<AppCluster> {
  const started = await Promise.all(
    Array.from({ length: options.count ?? 3 }, (_, i) => startInstance(`app-${i + 1}`, options.env)),
  );
  const instances = started.map(({ instance }) => instance);
  let turn = 0;
  const proxy = createServer((req, res) => {
    const target = new URL(instances[turn++ % instances.length]!.url);
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    instances,
    stop: async () => {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
      await Promise.all(
        started.map(({ child }) => {
          if (child.exitCode !== null || child.signalCode !== null) return undefined;
          const exited = new Promise((resolve) => child.once('exit', resolve));
          process.kill(child.pid!, 'SIGTERM');
          return exited;
        }),
      );
    },
  };
}

/**
 * The multi-instance behaviour every shared store must show: a session made on one instance works on
 * the others, and logout or revocation through any instance ends it everywhere at once.
 */
export function describeMultiInstance(options: {
  name: string;
  skip: string | false;
  /** Starts the store's server and returns the instances' environment. */
  start: () => Promise<{ env: Record<string, string>; stop: () => Promise<void> }>;
}): void {
  describe(`three instances behind a load balancer: ${options.name}`, { skip: options.skip }, () => {
    let cluster: AppCluster;
    let stopStore: () => Promise<void> = async () => {};
    before(async () => {
      const store = await options.start();
      stopStore = store.stop;
      cluster = await startAppCluster({ env: store.env });
    });
    after(async () => {
      await cluster?.stop();
      await stopStore();
    });

    const everywhere = (client: Client, path: string) =>
      Promise.all(
        cluster.instances.map((instance) =>
          new Client(instance.url).get(path, { cookie: client.cookieHeader }),
        ),
      );

    it('signs in on one instance, reads on another, logs out on a third: anonymous everywhere after', async () => {
      const alice = new Client(cluster.url);
      const login = await alice.post('/login', { userId: 'alice' });
      const token = alice.jar.get('id');
      assert.ok(token);
      const read = await alice.get('/me');
      assert.equal(read.status, 200);
      assert.equal((read.json() as { userId: string }).userId, 'alice');
      const logout = await alice.post('/logout');
      const served = [login, read, logout].map((response) => response.headers.get('x-instance'));
      assert.equal(new Set(served).size, 3, `three different instances served: ${served.join(', ')}`);

      const stolen = new Client(cluster.url);
      stolen.jar.set('id', token);
      for (const response of await everywhere(stolen, '/me')) assert.equal(response.status, 401);
      assert.equal((await stolen.get('/me')).status, 401);
    });

    it('S31 revoking all sessions through one instance ends them on every instance', async () => {
      const laptop = new Client(cluster.url);
      const phone = new Client(cluster.url);
      await laptop.post('/login', { userId: 'bob' });
      await phone.post('/login', { userId: 'bob' });
      for (const response of await everywhere(phone, '/sessions')) {
        assert.equal((response.json() as unknown[]).length, 2, 'every instance lists both devices');
      }
      const revoked = await laptop.post('/logout-all');
      assert.equal(revoked.status, 200);
      for (const client of [laptop, phone]) {
        for (const response of await everywhere(client, '/me')) assert.equal(response.status, 401);
      }
    });
  });
}
