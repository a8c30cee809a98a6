/**
 * A small HTTP/1.1 client over keep-alive sockets for the load and the fuzz: one request, a hard
 * timeout, and the answer as a status (or `timeout` / `conn-error`), its Set-Cookie lines and body.
 */
import { Agent, request } from 'node:http';

export interface Answer {
  /** The HTTP status, or `timeout` / `conn-error` when no response came. */
  status: number | 'timeout' | 'conn-error';
  setCookies: string[];
  body: string;
}

export interface Requester {
  send(options: {
    method: 'GET' | 'POST';
    path: string;
    headers?: Record<string, string>;
    body?: string;
  }): Promise<Answer>;
  close(): void;
}

/** A requester for one base URL with at most `sockets` connections open. */
export function createRequester(base: string, options: { sockets: number; timeoutMs: number }): Requester {
  const url = new URL(base);
  const agent = new Agent({ keepAlive: true, maxSockets: options.sockets });
  return {
    send: ({ method, path, headers = {}, body }) =>
      new Promise<Answer>((resolve) => {
        let done = false;
        const finish = (answer: Answer) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          resolve(answer);
        };
        const req = request(
          {
            agent,
            host: url.hostname,
            port: url.port,
            method,
            path,
            headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              text += chunk;
            });
            res.on('error', () => finish({ status: 'conn-error', setCookies: [], body: '' }));
            res.on('end', () => {
              const cookies = res.headers['set-cookie'] ?? [];
              finish({ status: res.statusCode ?? 0, setCookies: cookies, body: text });
            });
          },
        );
        const timer = setTimeout(() => {
          req.destroy();
          finish({ status: 'timeout', setCookies: [], body: '' });
        }, options.timeoutMs);
        req.on('error', () => finish({ status: 'conn-error', setCookies: [], body: '' }));
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}

/** Applies Set-Cookie lines to a jar: a value replaces the cookie, an empty one or Max-Age=0 removes it. */
export function applyCookies(jar: Map<string, string>, setCookies: string[]): void {
  for (const line of setCookies) {
    const [pair = '', ...attributes] = line.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (value === '' || attributes.some((a) => /^\s*max-age=0\s*$/i.test(a))) jar.delete(name);
    else jar.set(name, value);
  }
}

/** The Cookie header for a jar, or no header at all when it is empty. */
export function cookieHeader(jar: Map<string, string>): Record<string, string> {
  return jar.size ? { cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; ') } : {};
}
