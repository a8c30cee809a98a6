/**
 * A send Node refuses, made while the session is being stored: `writeHead` with a header value
 * holding CR/LF (an unchecked redirect target), an invalid name, an undefined value, a status out of
 * range, a bad reason phrase, or such a status sent implicitly by `end`; a chunk that is not a
 * string or bytes, or a string in an unknown encoding. Without the hold Node throws
 * in the handler and the application's error handler answers; the hold must do the same, never drop
 * the connection, and the session change made before stays stored. Each case runs on
 * express-session as the control. Also: a Set-Cookie list inside `writeHead`'s header list.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import expressSession from 'express-session';
import { session } from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { listen } from '../support/http.js';

const SECRET = 'held-head-errors-secret-0123456789-abcdefghij';

const layers: Array<[string, () => RequestHandler]> = [
  ['coatcheck', () => session({ secret: SECRET, store: new MemoryStore(), warn: () => {} }) as never],
  [
    'express-session (control)',
    () => expressSession({ secret: SECRET, resave: false, saveUninitialized: false }) as never,
  ],
];

type Send = (res: express.Response) => void;

/**
 * Each route changes the session, then sends a head Node refuses, with the error code Node throws.
 * Those marked `control: false` are not run on express-session, which does not answer them with
 * the error handler: it sends the head after its store answered, so Node's error is thrown outside
 * the request (an uncaught exception for the reason phrase and for `end(123)`, a dropped connection
 * for the status set before `end`), and its `write` sends the head before Node refuses the encoding
 * (the error handler then finds the head sent: a 200 with a cut body).
 */
const refused: Array<[string, string, Send, { control: boolean }?]> = [
  [
    'a redirect target with CR/LF',
    'ERR_INVALID_CHAR',
    (res) => {
      res.writeHead(302, { Location: '/home\r\nX-Injected: 1' });
      res.end();
    },
  ],
  [
    'a header name with a space',
    'ERR_INVALID_HTTP_TOKEN',
    (res) => {
      res.writeHead(200, { 'bad name': 'v' });
      res.end('body');
    },
  ],
  [
    'an undefined header value',
    'ERR_HTTP_INVALID_HEADER_VALUE',
    (res) => {
      res.writeHead(200, { 'x-value': undefined as unknown as string });
      res.end('body');
    },
  ],
  [
    'a flat header list of odd length',
    'ERR_INVALID_ARG_VALUE',
    (res) => {
      res.writeHead(200, ['x-a', '1', 'x-b'] as unknown as string[]);
      res.end('body');
    },
  ],
  [
    'status 1000',
    'ERR_HTTP_INVALID_STATUS_CODE',
    (res) => {
      res.writeHead(1000);
      res.end();
    },
  ],
  [
    'a reason phrase with a line feed',
    'ERR_INVALID_CHAR',
    (res) => {
      res.writeHead(200, 'OK\nX-Injected: 1', { 'content-type': 'text/plain' });
      res.end();
    },
    { control: false },
  ],
  [
    'write() of a number',
    'ERR_INVALID_ARG_TYPE',
    (res) => {
      res.write(123 as unknown as string);
      res.end();
    },
  ],
  [
    'write() of null',
    'ERR_STREAM_NULL_VALUES',
    (res) => {
      res.write(null as unknown as string);
      res.end();
    },
  ],
  [
    'write() of a string in an unknown encoding',
    'ERR_UNKNOWN_ENCODING',
    (res) => {
      res.write('x', 'bogus' as BufferEncoding);
      res.end();
    },
    { control: false },
  ],
  [
    'write() of bytes in an unknown encoding',
    'ERR_UNKNOWN_ENCODING',
    (res) => {
      res.write(Buffer.from('x'), 'bogus' as BufferEncoding);
      res.end();
    },
    { control: false },
  ],
  [
    'end() of a number',
    'ERR_INVALID_ARG_TYPE',
    (res) => {
      res.end(123 as unknown as string);
    },
    { control: false },
  ],
  [
    'status 42 sent by end() alone',
    'ERR_HTTP_INVALID_STATUS_CODE',
    (res) => {
      res.statusCode = 42;
      res.end('body');
    },
    { control: false },
  ],
];

for (const [name, layer] of layers) {
  for (const [what, code, send, only] of refused) {
    if (name !== 'coatcheck' && only?.control === false) continue;
    test(`${name}: ${what} after a session change: the error handler answers and the change is kept`, async () => {
      const app = express();
      const caught: string[] = [];
      app.use(layer());
      app.get('/change', (req, res) => {
        (req.session as unknown as Record<string, unknown>).x = 1;
        send(res);
      });
      app.get('/x', (req, res) => {
        res.json({ x: (req.session as unknown as Record<string, unknown>).x ?? null });
      });
      app.use(((error, _req, res, _next) => {
        caught.push((error as { code?: string }).code ?? String(error));
        res.status(500).send('handled');
      }) as ErrorRequestHandler);
      const server = await listen(app);
      try {
        const answer = await fetch(`${server.url}/change`, { redirect: 'manual' });
        assert.equal(answer.status, 500);
        assert.equal(await answer.text(), 'handled');
        assert.equal(caught.length, 1, 'the error handler ran once');
        // express-session's writeHead wrapper (on-headers) throws its own TypeError for a malformed list.
        if (name === 'coatcheck') assert.deepEqual(caught, [code]);
        assert.equal(answer.headers.get('x-injected'), null);
        const cookie = answer.headers.getSetCookie()[0]?.split(';')[0];
        assert.ok(cookie, 'the session cookie came with the error answer');
        const next = await fetch(`${server.url}/x`, { headers: { cookie } });
        assert.deepEqual(await next.json(), { x: 1 });
      } finally {
        await server.close();
      }
    });
  }

  test(`${name}: what Node accepts still goes out while held: odd but valid encodings, byte chunks, a null header value`, async () => {
    const app = express();
    app.use(layer());
    app.get('/', (req, res) => {
      (req.session as unknown as Record<string, unknown>).x = 1;
      res.writeHead(200, { 'content-type': 'text/plain', 'x-null': null as unknown as string, 'x-n': 7 });
      res.write('a', 'buffer' as BufferEncoding);
      res.write('b', '' as BufferEncoding);
      res.write('c', 'UTF-8' as BufferEncoding);
      res.write('64', 'hex');
      res.write(new Uint8Array([0x65]));
      res.end(Buffer.from('f'));
    });
    const server = await listen(app);
    try {
      const answer = await fetch(server.url);
      assert.equal(answer.status, 200);
      assert.equal(await answer.text(), 'abcdef');
      assert.equal(answer.headers.get('x-n'), '7');
      assert.equal(answer.headers.getSetCookie().length, 1);
    } finally {
      await server.close();
    }
  });

  test(`${name}: a body Node drops unread (204, 304, HEAD) may name any encoding while held`, async () => {
    const app = express();
    app.use(layer());
    app.all('/:status', (req, res) => {
      (req.session as unknown as Record<string, unknown>).x = 1;
      res.status(Number(req.params.status)).end('x', 'bogus' as BufferEncoding);
    });
    const server = await listen(app);
    try {
      for (const [method, status] of [
        ['GET', 204],
        ['GET', 304],
        ['HEAD', 200],
      ] as const) {
        const answer = await fetch(`${server.url}/${status}`, { method });
        assert.equal(answer.status, status, `${method} ${status}`);
        assert.equal(await answer.text(), '');
      }
    } finally {
      await server.close();
    }
  });

  for (const [form, headers] of [
    ['pairs', [['set-cookie', ['a=1', 'b=2']]]],
    ['a flat list', ['set-cookie', ['a=1', 'b=2']]],
    ['an object', { 'set-cookie': ['a=1', 'b=2'] }],
  ] as const) {
    test(`${name}: writeHead with a Set-Cookie list as ${form} sends each cookie beside the session's`, async () => {
      const app = express();
      app.use(layer());
      app.get('/', (req, res) => {
        (req.session as unknown as Record<string, unknown>).x = 1;
        res.writeHead(200, headers as never);
        res.end('ok');
      });
      const server = await listen(app);
      try {
        const answer = await fetch(server.url);
        assert.equal(answer.status, 200);
        const cookies = answer.headers.getSetCookie().map((cookie) => cookie.split(';')[0]!);
        assert.ok(cookies.includes('a=1') && cookies.includes('b=2'), JSON.stringify(cookies));
        assert.equal(cookies.length, 3, 'and the session cookie');
      } finally {
        await server.close();
      }
    });
  }
}

test('coatcheck: a writeHead wrapper that throws when the held head goes out: a plain 500 with the session cookie, never a dropped connection', async () => {
  // Without a session, the listener throws in the handler and the error handler answers; with
  // express-session it throws inside the store's callback, outside any request. While coatcheck
  // replays the head the handler is gone, so coatcheck answers.
  const warnings: string[] = [];
  const app = express();
  app.use(
    session({ secret: SECRET, store: new MemoryStore(), warn: (message) => warnings.push(message) }) as never,
  );
  // A writeHead wrapper installed after the session's, as on-headers installs one for its listeners.
  const throwingListener: RequestHandler = (_req, res, next) => {
    res.writeHead = (() => {
      throw new Error('listener failed');
    }) as never;
    next();
  };
  app.get('/change', throwingListener, (req, res) => {
    (req.session as unknown as Record<string, unknown>).x = 1;
    res.end('body');
  });
  app.get('/x', (req, res) => {
    res.json({ x: (req.session as unknown as Record<string, unknown>).x ?? null });
  });
  const server = await listen(app);
  try {
    const answer = await fetch(`${server.url}/change`);
    assert.equal(answer.status, 500);
    assert.equal(await answer.text(), 'Internal Server Error');
    const cookie = answer.headers.getSetCookie()[0]?.split(';')[0];
    assert.ok(cookie, 'the session cookie came with the 500');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /listener failed/);
    const next = await fetch(`${server.url}/x`, { headers: { cookie } });
    assert.deepEqual(await next.json(), { x: 1 });
  } finally {
    await server.close();
  }
});
