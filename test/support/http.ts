import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Running {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * Listens on a free loopback port. Idle keep-alive connections are kept for 60 s rather than Node's
 * 5 s: fetch reuses a connection until 1 s before the server's announced timeout, and with client
 * and server in one process, an event loop stalled past that second (a loaded CI machine) lets the
 * server's timer close a connection that already carries the next request (ECONNRESET).
 */
export async function listen(handler: (req: never, res: never) => void): Promise<Running> {
  const { createServer } = await import('node:http');
  const server = createServer({ keepAliveTimeout: 60_000 }, handler as never);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A minimal browser-like client: keeps cookies by exact name, sends them back, never follows redirects. */
export class Client {
  readonly jar = new Map<string, string>();
  constructor(
    readonly base: string,
    readonly defaults: Record<string, string> = {},
  ) {}

  get cookieHeader(): string {
    return [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  async request(path: string, init: RequestInit & { headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...this.defaults, ...init.headers };
    if (this.jar.size && !('cookie' in headers)) headers.cookie = this.cookieHeader;
    const res = await fetch(this.base + path, { ...init, headers, redirect: 'manual' });
    const setCookies = res.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const cleared = value === '' || attributes.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (cleared) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      setCookies,
      text,
      json: () => JSON.parse(text) as unknown,
    };
  }

  get(path: string, headers: Record<string, string> = {}) {
    return this.request(path, { headers });
  }

  post(path: string, body?: unknown, headers: Record<string, string> = {}) {
    return this.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }
}
