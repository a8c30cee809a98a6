import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, describe, it } from 'node:test';
import express from 'express';
import express4 from 'express4';
import { SessionStoreError } from '../../packages/coatcheck/src/core/errors.js';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';
import { session } from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SECRET } from '../support/app.js';
import { Client, listen, type Running } from '../support/http.js';

type Req = IncomingMessage & { session: Record<string, unknown> & { login(id: string): Promise<void> } };
type Handler = (req: Req, res: ServerResponse) => void | Promise<void>;

const opened: Running[] = [];
after(async () => {
  for (const running of opened) await running.close();
});

/** A bare node:http server: the session middleware, then `handler`, as a hand-written server does. */
async function bare(handler: Handler, store: SessionStore = new MemoryStore()) {
  const middleware = session({ secret: SECRET, store, warn: () => {}, guessLimit: false });
  const running = await listen(((req: Req, res: ServerResponse) =>
    middleware(req, res, () => {
      void handler(req, res);
    })) as never);
  opened.push(running);
  return running;
}

/** A store whose every call fails after `healthy` calls. */
function failingAfter(healthy: number): SessionStore {
  const inner = new MemoryStore();
  let calls = 0;
  return new Proxy(inner, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function' || key === 'capabilities') return value;
      return (...args: unknown[]) => {
        calls++;
        if (calls > healthy) return Promise.reject(new Error('store down'));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

const whoami: Handler = (req, res) => {
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify({ user: req.session.user ?? null }));
};

describe('the held response carries the session however it is written', () => {
  const loginThen =
    (send: (res: ServerResponse) => void): Handler =>
    async (req, res) => {
      if (req.url === '/me') return whoami(req, res);
      await req.session.login('u1');
      req.session.user = 'u1';
      send(res);
    };

  const ways: Array<[string, (res: ServerResponse) => void]> = [
    ['writeHead with an object, then end', (res) => res.writeHead(302, { Location: '/' }).end()],
    ['writeHead with a status message', (res) => res.writeHead(302, 'Found', { Location: '/' }).end()],
    ['writeHead with a flat array', (res) => res.writeHead(302, ['Location', '/']).end()],
    ['writeHead with no headers', (res) => res.writeHead(204).end()],
    [
      'setHeader, then write, then end',
      (res) => {
        res.setHeader('Content-Type', 'text/plain');
        res.write('a');
        res.end('b');
      },
    ],
    [
      'flushHeaders, then end',
      (res) => {
        res.statusCode = 200;
        res.flushHeaders();
        res.end('ok');
      },
    ],
  ];
  for (const [name, send] of ways) {
    it(`login, then ${name}: the new cookie reaches the browser and works`, async () => {
      const server = await bare(loginThen(send));
      const client = new Client(server.url);
      const first = await client.get('/login');
      assert.equal(first.setCookies.length, 1, first.setCookies.join('\n'));
      assert.match(first.headers.get('cache-control') ?? '', /no-store/);
      assert.deepEqual((await client.get('/me')).json(), { user: 'u1' });
    });
  }

  it("writeHead's own Set-Cookie and Cache-Control are kept beside the session's", async () => {
    const server = await bare(
      loginThen((res) =>
        res
          .writeHead(200, {
            'Set-Cookie': ['theme=dark; Path=/', 'lang=en; Path=/'],
            'cache-control': 'public, max-age=60',
          })
          .end(),
      ),
    );
    const client = new Client(server.url);
    const response = await client.get('/login');
    assert.equal(response.setCookies.length, 3, response.setCookies.join('\n'));
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.ok(client.jar.has('theme') && client.jar.has('lang') && client.jar.has('id'));
  });

  it('logout through writeHead still clears the cookie and the site data (S27, S28)', async () => {
    const server = await bare(async (req, res) => {
      if (req.url === '/login') {
        await req.session.login('u1');
        res.end();
        return;
      }
      await (req.session as unknown as { logout(): Promise<void> }).logout();
      res.writeHead(303, { Location: '/login' });
      res.end();
    });
    const client = new Client(server.url);
    await client.get('/login');
    const out = await client.get('/logout');
    assert.match(out.setCookies.join('\n'), /Max-Age=0/);
    assert.equal(out.headers.get('clear-site-data'), '"cache", "storage"');
    assert.equal(client.jar.size, 0);
  });
});

describe('a handler that writes after the end is answered, never a crash', () => {
  for (const [major, make] of [
    ['Express 5', express],
    ['Express 4', express4],
  ] as const) {
    it(`${major}: res.redirect(); res.send() throws ERR_HTTP_HEADERS_SENT to the handler, as without the session`, async () => {
      const errors: string[] = [];
      const app = (make as unknown as typeof express)();
      app.set('env', 'test');
      app.use(session({ secret: SECRET, store: new MemoryStore(), warn: () => {}, guessLimit: false }));
      app.get('/forgot-return', (req, res) => {
        req.session.returnTo = '/profile';
        res.redirect('/login');
        res.send('x');
      });
      app.get('/ok', (_req, res) => {
        res.send('still up');
      });
      app.use((error: { code?: string }, _req: unknown, _res: unknown, next: (e?: unknown) => void) => {
        errors.push(String(error.code));
        next(error);
      });
      const server = await listen(app as never);
      opened.push(server);
      const client = new Client(server.url);
      const response = await client.get('/forgot-return').catch((error: Error) => error);
      if (!(response instanceof Error)) {
        assert.equal(response.status, 302);
        assert.equal(response.headers.get('location'), '/login');
        assert.notEqual(response.text, 'x');
        assert.equal(response.setCookies.length, 1, 'the session holding returnTo was stored');
      }
      assert.deepEqual(errors, ['ERR_HTTP_HEADERS_SENT']);
      assert.equal((await client.get('/ok')).text, 'still up');
    });
  }

  it('end twice with data on a bare server: the second body is dropped, the first response is whole', async () => {
    const seen: string[] = [];
    const server = await bare((req, res) => {
      req.session.n = 1;
      res.end('first');
      res.end('second', () => {});
      res.write('third', (error?: Error | null) => seen.push(String((error as { code?: string })?.code)));
    });
    const client = new Client(server.url);
    const response = await client.get('/');
    assert.equal(response.text, 'first');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(seen, ['ERR_STREAM_WRITE_AFTER_END']);
    assert.equal((await client.get('/')).text, 'first');
  });

  it('a keep-alive connection stays in step after a forgotten return', async () => {
    const app = express();
    app.use(session({ secret: SECRET, store: new MemoryStore(), warn: () => {}, guessLimit: false }));
    app.get('/a', (req, res) => {
      req.session.a = 1;
      res.status(200).send('first body');
      try {
        res.send('a much longer second body that must never be announced');
      } catch {}
    });
    app.get('/b', (_req, res) => {
      res.send('b');
    });
    const server = await listen(app as never);
    opened.push(server);
    const client = new Client(server.url);
    const a = await client.get('/a');
    assert.equal(a.text, 'first body');
    assert.equal(a.headers.get('content-length'), String('first body'.length));
    assert.equal((await client.get('/b')).text, 'b');
  });
});

/** engine.io's WebSocket stand-in response: exactly these members, headers kept on a plain object. */
class StandIn {
  statusCode = 200;
  // engine.io keeps these on the request and deletes them once the 101 has gone out.
  headers: Record<string, unknown> | undefined = {};
  ended: unknown[] | null = null;
  setHeader(name: string, value: unknown) {
    (this.headers as Record<string, unknown>)[name.toLowerCase()] = value;
  }
  getHeader(name: string) {
    return (this.headers as Record<string, unknown>)[name.toLowerCase()];
  }
  removeHeader(name: string) {
    delete (this.headers as Record<string, unknown>)[name.toLowerCase()];
  }
  writeHead() {}
  /** What engine.io does after the middlewares: writeHead(), the 101, then the headers are gone. */
  upgrade() {
    this.writeHead();
    const sent = this.headers;
    this.headers = undefined;
    return sent;
  }
  end(...args: unknown[]) {
    this.ended = args;
  }
}

function upgradeRequest(cookie?: string): IncomingMessage {
  return {
    headers: { upgrade: 'websocket', ...(cookie ? { cookie } : {}) },
    url: '/socket.io/?EIO=4&transport=websocket',
    method: 'GET',
    socket: { remoteAddress: '127.0.0.1' },
  } as unknown as IncomingMessage;
}

function runOnStandIn(middleware: ReturnType<typeof session>, req: IncomingMessage, res: StandIn) {
  return new Promise<unknown>((resolve) => {
    middleware(req, res as unknown as ServerResponse, (error?: unknown) => resolve(error ?? null));
    const poll = setInterval(() => {
      if (res.ended) {
        clearInterval(poll);
        resolve('ended');
      }
    }, 5);
    setTimeout(() => clearInterval(poll), 2000);
  });
}

describe('the smallest response there is (a WebSocket upgrade stand-in)', () => {
  it('a stale cookie is cleared with setHeader alone', async () => {
    const middleware = session({
      secret: SECRET,
      store: new MemoryStore(),
      warn: () => {},
      guessLimit: false,
    });
    const res = new StandIn();
    const stale = `id=${'A'.repeat(22)}.${'B'.repeat(43)}.${'C'.repeat(43)}`;
    assert.equal(await runOnStandIn(middleware, upgradeRequest(stale), res), null);
    assert.match(String(res.headers?.['set-cookie']), /^id=; .*Max-Age=0/);
  });

  it('a new visitor gets a cookie once the handshake saves the session', async () => {
    const store = new MemoryStore();
    const middleware = session({ secret: SECRET, store, warn: () => {}, guessLimit: false });
    const res = new StandIn();
    const req = upgradeRequest() as Req;
    assert.equal(await runOnStandIn(middleware, req, res), null);
    req.session.visits = 1;
    await (req.session as unknown as { save(): Promise<void> }).save();
    const cookie = res.headers?.['set-cookie'];
    const value = String(Array.isArray(cookie) ? cookie[0] : cookie);
    assert.match(value, /^id=[^;]+; Path=\/; HttpOnly; SameSite=Lax$/);
    // The same cookie opens the same session on the next handshake.
    const next = new StandIn();
    const again = upgradeRequest(value.split(';')[0]) as Req;
    await runOnStandIn(middleware, again, next);
    assert.equal(again.session.visits, 1);
    assert.equal(next.headers?.['set-cookie'], undefined);
  });

  it('after the 101 the stand-in takes no headers: a commit or save() then neither throws nor rejects', async () => {
    const store = new MemoryStore();
    const middleware = session({ secret: SECRET, store, warn: () => {}, guessLimit: false });
    const res = new StandIn();
    const req = upgradeRequest() as Req;
    await runOnStandIn(middleware, req, res);
    // The handshake's own write starts the commit at writeHead; the upgrade does not wait for it.
    req.session.visits = 1;
    res.upgrade();
    await new Promise((resolve) => setTimeout(resolve, 20));
    // A socket handler later saves: the session is stored, there is just no cookie to send.
    req.session.visits = 2;
    await (req.session as unknown as { save(): Promise<void> }).save();
    const handle = String((req as unknown as { sessionID: string }).sessionID);
    assert.equal(JSON.parse(String((await store.get(handle))?.data)).visits, 2);
  });

  it('a store failure refuses the handshake (end) and nothing throws or rejects', async () => {
    const middleware = session({ secret: SECRET, store: failingAfter(0), warn: () => {}, guessLimit: false });
    const res = new StandIn();
    const valid = await (async () => {
      const store = new MemoryStore();
      const server = await bare((req, response) => {
        req.session.x = 1;
        response.end();
      }, store);
      const client = new Client(server.url);
      await client.get('/');
      return client.cookieHeader;
    })();
    assert.equal(await runOnStandIn(middleware, upgradeRequest(valid), res), 'ended');
    assert.equal(res.statusCode, 503);
  });

  it("onStoreError: 'next' hands the SessionStoreError to next, as express-session does", async () => {
    const store = new MemoryStore();
    const writer = await bare((req, response) => {
      req.session.x = 1;
      response.end();
    }, store);
    const client = new Client(writer.url);
    await client.get('/');
    const middleware = session({
      secret: SECRET,
      store: failingAfter(0),
      warn: () => {},
      guessLimit: false,
      onStoreError: 'next',
    });
    const error = await runOnStandIn(middleware, upgradeRequest(client.cookieHeader), new StandIn());
    assert.ok(error instanceof SessionStoreError);
  });
});

describe('a store failure while the response is held', () => {
  it("default: 503 instead of the handler's answer; 'next': the application's error handler answers", async () => {
    for (const mode of ['default', 'next'] as const) {
      const app = express();
      app.use(
        session({
          secret: SECRET,
          store: failingAfter(0),
          warn: () => {},
          guessLimit: false,
          ...(mode === 'next' ? { onStoreError: 'next' as const } : {}),
        }),
      );
      app.get('/', (req, res) => {
        req.session.x = 1;
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('handler answer');
      });
      app.use((error: Error, _req: unknown, res: express.Response, _next: unknown) => {
        res.status(500).send(`app handler: ${error.name}`);
      });
      const server = await listen(app as never);
      opened.push(server);
      const response = await new Client(server.url).get('/');
      if (mode === 'default') {
        assert.equal(response.status, 503);
        assert.equal(response.text, 'Service Unavailable');
      } else {
        assert.equal(response.status, 500);
        assert.equal(response.text, 'app handler: SessionStoreError');
      }
    }
  });
});

describe('resave: true', () => {
  it('keeps a persistent cookie alive for an active user: every renewal re-sends it', async () => {
    let now = Date.now();
    const app = express();
    app.use(
      session({
        secret: SECRET,
        store: new MemoryStore(),
        warn: () => {},
        guessLimit: false,
        resave: true,
        now: () => now,
        idleTimeoutMs: 2 * 3600e3,
        absoluteTimeoutMs: 24 * 3600e3,
        cookie: { maxAge: 3600e3 },
      }),
    );
    app.get('/', (req, res) => {
      req.session.seen = true;
      res.end('ok');
    });
    app.get('/read', (_req, res) => {
      res.end('ok');
    });
    const server = await listen(app as never);
    opened.push(server);
    const client = new Client(server.url);
    await client.get('/');
    // A request every 30 s for two hours: the cookie never lapses.
    for (let step = 1; step <= 240; step++) {
      now += 30_000;
      const response = await client.get('/read');
      assert.equal(response.setCookies.length, 1, `no Set-Cookie after ${step * 30} s`);
      assert.match(response.setCookies[0]!, /Max-Age=3600/);
    }
  });
});

describe('an error other than a store failure at commit', () => {
  it('goes to next(err) with its own status: a data-driven login over a refusing session limit is 409', async () => {
    const app = express();
    app.set('env', 'test');
    app.use(
      session({
        secret: SECRET,
        store: new MemoryStore(),
        warn: () => {},
        guessLimit: false,
        maxSessionsPerUser: 1,
        sessionLimitPolicy: 'refuse',
      }),
    );
    // Passport's shape: the data names the user, the record follows when the session is stored.
    app.get('/sign-in', (req, res) => {
      req.session.passport = { user: 'u1' };
      res.end('signed in');
    });
    const server = await listen(app as never);
    opened.push(server);
    assert.equal((await new Client(server.url).get('/sign-in')).status, 200);
    const second = await new Client(server.url).get('/sign-in');
    assert.equal(second.status, 409);
    assert.deepEqual(second.setCookies, []);
  });
});
