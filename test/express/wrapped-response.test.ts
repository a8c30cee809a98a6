/**
 * Middleware that wraps the response, before or after the session: compression (its writes go
 * through a gzip stream whose encoding it picks when the head is written, on-headers) and a Proxy
 * handed to the session middleware. The session is stored before the response leaves, the body
 * arrives intact, and each case runs on express-session as the control.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import test from 'node:test';
import { gunzipSync } from 'node:zlib';
import compression from 'compression';
import express, { type RequestHandler } from 'express';
import expressSession from 'express-session';
import { session } from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { listen } from '../support/http.js';

const SECRET = 'wrapped-response-secret-0123456789-abcdefghij';

const layers: Array<[string, () => RequestHandler]> = [
  ['coatcheck', () => session({ secret: SECRET, store: new MemoryStore(), warn: () => {} }) as never],
  [
    'express-session (control)',
    () => expressSession({ secret: SECRET, resave: false, saveUninitialized: false }) as never,
  ],
];

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw GET asking for gzip; the body gunzipped when the response says gzip. */
function get(url: string, cookie?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'accept-encoding': 'gzip' };
    if (cookie) headers.cookie = cookie;
    request(url, { headers, signal: AbortSignal.timeout(5_000) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        const gzip = res.headers['content-encoding'] === 'gzip';
        try {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: (gzip ? gunzipSync(raw) : raw).toString(),
          });
        } catch (error) {
          reject(
            new Error(`the gzip body does not decode: ${JSON.stringify(raw.toString('latin1'))}`, {
              cause: error,
            }),
          );
        }
      });
    })
      .on('error', reject)
      .end();
  });
}

const cookieOf = (answer: Answer) => {
  const set = answer.headers['set-cookie'];
  assert.ok(Array.isArray(set) && set.length > 0, 'a session cookie is set');
  return set[0]!.split(';')[0]!;
};

function routes(app: express.Express): void {
  app.get('/events', (req, res) => {
    (req.session as unknown as Record<string, unknown>).subscribed = true;
    res.setHeader('Content-Type', 'text/event-stream');
    res.flushHeaders();
    res.write('data: hello\n\n');
    res.write(`data: ${'x'.repeat(2_000)}\n\n`);
    res.end();
  });
  app.get('/stream', (req, res) => {
    (req.session as unknown as Record<string, unknown>).streamed = true;
    res.type('text');
    for (let i = 0; i < 50; i++) res.write(`line ${i} ${'y'.repeat(100)}\n`);
    res.end('done');
  });
  app.get('/pipe', (req, res) => {
    // A stream piped into the response: it waits for 'drain' wherever the response routes it.
    (req.session as unknown as Record<string, unknown>).piped = true;
    res.type('text');
    const lines = Array.from({ length: 300 }, (_, i) => `piped ${i} ${'p'.repeat(1_000)}\n`);
    Readable.from(lines, { objectMode: false, highWaterMark: 1_024 }).pipe(res);
  });
  app.get('/json', (req, res) => {
    (req.session as unknown as Record<string, unknown>).json = true;
    res.json({ padding: 'z'.repeat(2_000) });
  });
  app.get('/read', (req, res) => {
    const data = req.session as unknown as Record<string, unknown>;
    res.json({
      subscribed: data.subscribed ?? null,
      streamed: data.streamed ?? null,
      json: data.json ?? null,
      piped: data.piped ?? null,
    });
  });
}

for (const [name, layer] of layers) {
  for (const order of ['after', 'before'] as const) {
    test(`compression mounted ${order} the session (${name}): flushHeaders, streams, a pipe and JSON arrive gzipped and whole, and the session is stored`, async () => {
      const app = express();
      if (order === 'before') app.use(compression({ threshold: 0 }));
      app.use(layer());
      if (order === 'after') app.use(compression({ threshold: 0 }));
      routes(app);
      const server = await listen(app);
      try {
        const events = await get(`${server.url}/events`);
        assert.equal(events.status, 200);
        assert.equal(events.headers['content-encoding'], 'gzip');
        assert.equal(events.body, `data: hello\n\ndata: ${'x'.repeat(2_000)}\n\n`);
        const cookie = cookieOf(events);
        const stream = await get(`${server.url}/stream`, cookie);
        assert.equal(stream.headers['content-encoding'], 'gzip');
        assert.ok(stream.body.startsWith('line 0 ') && stream.body.endsWith('done'));
        assert.equal(stream.body.split('\n').length, 51);
        const piped = await get(`${server.url}/pipe`, cookie);
        assert.equal(piped.status, 200);
        assert.equal(piped.headers['content-encoding'], 'gzip');
        assert.equal(piped.body.split('\n').length, 301);
        assert.ok(
          piped.body.startsWith('piped 0 ') && piped.body.endsWith(`piped 299 ${'p'.repeat(1_000)}\n`),
        );
        const json = await get(`${server.url}/json`, cookie);
        assert.equal(json.headers['content-encoding'], 'gzip');
        assert.equal(JSON.parse(json.body).padding.length, 2_000);
        const read = await get(`${server.url}/read`, cookie);
        assert.deepEqual(JSON.parse(read.body), {
          subscribed: true,
          streamed: true,
          json: true,
          piped: true,
        });
      } finally {
        await server.close();
      }
    });
  }

  test(`a Proxy of the response handed to the session (${name}): its own end runs, and the response is complete`, async () => {
    let instrumented = 0;
    const app = express();
    const inner = layer();
    app.use((req, res, next) => {
      const proxy = new Proxy(res, {
        get(target, key) {
          const value = Reflect.get(target, key, target);
          if (key === 'end' && typeof value === 'function') {
            return (...args: unknown[]) => {
              instrumented++;
              return value.apply(target, args);
            };
          }
          return value;
        },
      });
      inner(req, proxy, next);
    });
    app.get('/', (req, res) => {
      const data = req.session as unknown as Record<string, number>;
      data.visits = (data.visits ?? 0) + 1;
      res.send(`visits=${data.visits}`);
    });
    const server = await listen(app);
    try {
      const first = await fetch(server.url, { signal: AbortSignal.timeout(5_000) });
      assert.equal(first.status, 200);
      assert.equal(await first.text(), 'visits=1');
      const cookie = first.headers.getSetCookie()[0]?.split(';')[0];
      assert.ok(cookie, 'a session cookie is set');
      const second = await fetch(server.url, { headers: { cookie }, signal: AbortSignal.timeout(5_000) });
      assert.equal(await second.text(), 'visits=2');
      assert.ok(instrumented >= 1, `the Proxy's end ran (${instrumented}×)`);
    } finally {
      await server.close();
    }
  });
}

for (const [name, layer] of layers) {
  test(`an end wrapped before the session to write its chunk, then end (${name}): the body arrives and the session is stored`, async () => {
    const app = express();
    app.use((_req, res, next) => {
      // The shape of HTTP/2's Http2ServerResponse.end: write the chunk, then end without one.
      const end = res.end as (this: unknown, ...args: unknown[]) => unknown;
      res.end = function (this: typeof res, chunk?: unknown, encoding?: unknown, callback?: unknown) {
        if (typeof chunk === 'function') return end.call(this, chunk);
        if (chunk !== undefined && chunk !== null) this.write(chunk as string, encoding as BufferEncoding);
        return end.call(this, callback);
      } as typeof res.end;
      next();
    });
    app.use(layer());
    app.get('/write', (req, res) => {
      const data = req.session as unknown as Record<string, number>;
      data.visits = (data.visits ?? 0) + 1;
      res.json({ visits: data.visits });
    });
    app.get('/read', (req, res) => {
      res.json({ visits: (req.session as unknown as Record<string, number>).visits ?? 0 });
    });
    const server = await listen(app);
    try {
      const first = await fetch(`${server.url}/write`, { signal: AbortSignal.timeout(5_000) });
      assert.deepEqual(await first.json(), { visits: 1 });
      const cookie = first.headers.getSetCookie()[0]?.split(';')[0];
      assert.ok(cookie, 'a session cookie is set');
      const read = await fetch(`${server.url}/read`, {
        headers: { cookie },
        signal: AbortSignal.timeout(5_000),
      });
      assert.deepEqual(await read.json(), { visits: 1 });
      const again = await fetch(`${server.url}/write`, {
        headers: { cookie },
        signal: AbortSignal.timeout(5_000),
      });
      assert.deepEqual(await again.json(), { visits: 2 });
    } finally {
      await server.close();
    }
  });
}

/** A MemoryStore whose writes take `delayMs`, calling `written` as each write lands. */
class SlowStore extends MemoryStore {
  written = () => {};
  constructor(readonly delayMs: number) {
    super();
  }
  override async create(record: Parameters<MemoryStore['create']>[0]): Promise<boolean> {
    await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    const created = await super.create(record);
    this.written();
    return created;
  }
}

const onWrappers: Array<[string, (app: express.Express) => void]> = [
  ['no wrapper', () => {}],
  ['compression mounted before the session', (app) => app.use(compression({ threshold: 0 }))],
  [
    'a wrapper of res.on mounted before the session',
    (app) =>
      app.use((_req, res, next) => {
        const on = res.on;
        res.on = function (this: typeof res, ...args: Parameters<typeof on>) {
          return on.apply(this, args);
        } as typeof res.on;
        next();
      }),
  ],
];

for (const [wrapper, mount] of onWrappers) {
  test(`a stream piped into a held response (${wrapper}): read only as the response takes it, never into memory while the session is stored`, async () => {
    const store = new SlowStore(200);
    let pulled = 0;
    let pulledWhenStored = -1;
    store.written = () => {
      pulledWhenStored = pulled;
    };
    const chunk = `${'r'.repeat(16 * 1024 - 1)}\n`;
    const app = express();
    mount(app);
    app.use(session({ secret: SECRET, store, warn: () => {} }) as never);
    app.get('/export', (req, res) => {
      (req.session as unknown as Record<string, unknown>).exported = true;
      res.type('text');
      // A synchronous generator: Readable.from reads it on microtasks alone, so without
      // backpressure it would never let the store's timer fire.
      function* rows() {
        for (; pulled < 1_000; pulled++) yield chunk;
      }
      Readable.from(rows(), { objectMode: false }).pipe(res);
    });
    const server = await listen(app);
    try {
      const answer = await get(`${server.url}/export`);
      assert.equal(answer.status, 200);
      assert.equal(answer.body.length, 1_000 * chunk.length);
      assert.ok(
        pulledWhenStored >= 0 && pulledWhenStored < 64,
        `read ${pulledWhenStored} chunks of 16 KiB while held`,
      );
      cookieOf(answer);
    } finally {
      await server.close();
    }
  });
}

test('a response that cannot be extended: the connection is cut, the process keeps running, the next request is served', async () => {
  const app = express();
  app.use((req, res, next) => {
    if (req.url === '/locked') Object.preventExtensions(res);
    next();
  });
  app.use(session({ secret: SECRET, store: new MemoryStore(), warn: () => {} }) as never);
  app.get('/locked', (_req, res) => void res.send('never'));
  app.get('/open', (_req, res) => void res.send('open'));
  const server = await listen(app);
  try {
    const locked = await fetch(`${server.url}/locked`, { signal: AbortSignal.timeout(5_000) }).then(
      (response) => `answered ${response.status}`,
      (error: Error) => `cut: ${error.name}`,
    );
    assert.ok(locked === 'answered 500' || locked === 'cut: TypeError', locked);
    const open = await fetch(`${server.url}/open`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(await open.text(), 'open');
  } finally {
    await server.close();
  }
});
