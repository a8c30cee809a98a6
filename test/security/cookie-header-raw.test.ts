import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import type { SessionEvent } from '../../packages/coatcheck/src/core/events.js';
import { requireAuth, session } from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SECRET } from '../support/app.js';
import { Client, listen, type Running } from '../support/http.js';

const NAME = '__Host-id';
/** `proxy: true` and this header make the request count as HTTPS, so the cookie is `__Host-id`. */
const HTTPS = { 'x-forwarded-proto': 'https' };

interface RawResponse {
  status: number;
  body: string;
}

let app: Running;
let port: number;
const events: SessionEvent[] = [];
const statuses: number[] = [];
let alice: string;
let mallory: string;

/** One request over a fresh socket, bytes exactly as given; resolves when the server closes it. */
function raw(head: Buffer | string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error('no answer within 5 s')), 5_000);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      statuses.push(status);
      resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
    socket.end(head);
  });
}

/** GET /me with the given Cookie header lines (latin1 bytes, so CTL and NUL reach the parser). */
function me(...cookieLines: string[]): Promise<RawResponse> {
  const lines = [
    'GET /me HTTP/1.1',
    'Host: app.test',
    'X-Forwarded-Proto: https',
    'Connection: close',
    ...cookieLines.map((line) => `Cookie: ${line}`),
  ];
  return raw(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'));
}

async function login(userId: string): Promise<string> {
  const client = new Client(app.url, HTTPS);
  const res = await client.post('/login', { userId });
  assert.equal(res.status, 200);
  const value = client.jar.get(NAME);
  assert.ok(value, 'the login set a __Host-id cookie');
  return value;
}

const userOf = (res: RawResponse) =>
  res.status === 200 ? (JSON.parse(res.body) as { userId: string }).userId : null;

/** After every hostile request the process still serves a normal one. */
async function stillServes(): Promise<void> {
  const res = await me(`${NAME}=${alice}`);
  assert.equal(res.status, 200);
  assert.equal(userOf(res), 'alice');
}

before(async () => {
  const server = express();
  const sessions = session({ secret: SECRET, store: new MemoryStore(), proxy: true, warn: () => {} });
  sessions.on((event) => events.push(event));
  server.use(sessions, express.json());
  server.post('/login', async (req, res) => {
    await req.session.login(String((req.body as { userId: string }).userId));
    res.json({ ok: true });
  });
  server.get('/me', requireAuth(), (req, res) => void res.json({ userId: req.session.meta?.userId }));
  app = await listen(server as never);
  port = Number(new URL(app.url).port);
  alice = await login('alice');
  mallory = await login('mallory');
});
after(() => app.close());

describe('S50 malformed, huge and duplicate Cookie headers over a raw socket', () => {
  it('S50 a 17 KB Cookie header gets 431', async () => {
    assert.equal((await me(`big=${'a'.repeat(17 * 1024)}`)).status, 431);
    await stillServes();
  });

  it('S50 300 cookies: the session still resolves by its exact name', async () => {
    const many = Array.from({ length: 300 }, (_, i) => `c${i}=v${i}`).join('; ');
    assert.equal(userOf(await me(`${many}; ${NAME}=${alice}`)), 'alice');
    assert.equal((await me(many)).status, 401);
    await stillServes();
  });

  it('S50 a cookie with no "=" is skipped', async () => {
    assert.equal((await me('foo')).status, 401);
    assert.equal(userOf(await me(`foo; ${NAME}=${alice}`)), 'alice');
    await stillServes();
  });

  it('S50 a quoted value is unquoted once, never trusted beyond that', async () => {
    assert.equal(userOf(await me(`${NAME}="${alice}"`)), 'alice');
    assert.equal((await me(`${NAME}=""${alice}""`)).status, 401);
    assert.equal((await me(`${NAME}="${alice}`)).status, 401);
    await stillServes();
  });

  it('S50 bad percent-encoding is a tampered cookie, not a crash', async () => {
    const tamper = events.length;
    assert.equal((await me(`${NAME}=%E0%A4%A`)).status, 401);
    assert.equal((await me(`${NAME}=${alice}%E0%A4%A`)).status, 401);
    assert.ok(events.slice(tamper).some((e) => e.type === 'session.tamper'));
    assert.equal(userOf(await me(`other=%E0%A4%A; ${NAME}=${alice}`)), 'alice');
    await stillServes();
  });

  it('S50 NUL and control bytes get 400 from the HTTP parser', async () => {
    for (const byte of ['\x00', '\x01', '\x08', '\x0b', '\x1f', '\x7f']) {
      assert.equal((await me(`${NAME}=${alice}${byte}`)).status, 400, JSON.stringify(byte));
    }
    await stillServes();
  });

  it('S50 cookie names __proto__, constructor and hasOwnProperty are plain names', async () => {
    const hostile = '__proto__=x; constructor=y; hasOwnProperty=z; toString=w';
    assert.equal((await me(hostile)).status, 401);
    assert.equal(userOf(await me(`${hostile}; ${NAME}=${alice}`)), 'alice');
    assert.equal(userOf(await me(`${NAME}=${alice}; __proto__=${mallory}`)), 'alice');
    assert.equal(({} as Record<string, unknown>).x, undefined);
    await stillServes();
  });

  it('S50 two Cookie lines are joined and read as one header', async () => {
    assert.equal(userOf(await me('a=1', `${NAME}=${alice}`)), 'alice');
    assert.equal(userOf(await me(`${NAME}=${alice}`, 'b=2')), 'alice');
    await stillServes();
  });

  it('S50 every hostile header got a 4xx or a normal answer, never a 5xx or a dropped connection', () => {
    assert.ok(statuses.length > 20);
    assert.deepEqual(
      statuses.filter((status) => status < 200 || status >= 500),
      [],
    );
  });
});

describe('S18 duplicate and look-alike cookie names over a raw socket', () => {
  const duplicates = (): number => events.filter((e) => e.type === 'session.duplicate_cookie').length;

  it('S18 two exact-name cookies, in either order or on two lines, give no session and an event', async () => {
    for (const lines of [
      [`${NAME}=${mallory}; ${NAME}=${alice}`],
      [`${NAME}=${alice}; ${NAME}=${mallory}`],
      [`${NAME}=${mallory}`, `${NAME}=${alice}`],
      [`${NAME}=${alice}; ${NAME}=${alice}`],
    ]) {
      const before = duplicates();
      const res = await me(...lines);
      assert.equal(res.status, 401, lines.join(' | '));
      assert.equal(duplicates(), before + 1);
    }
    await stillServes();
  });

  it('S18 look-alike names are ignored, so a lone valid cookie still authenticates', async () => {
    const lookAlikes = [
      `__host-id=${mallory}`,
      `__HOST-ID=${mallory}`,
      `%5F%5FHost-id=${mallory}`,
      `..Host-id=${mallory}`,
      `=${NAME}=${mallory}`,
      `${NAME} =${mallory}`,
      `\uff3f\uff3fHost-id=${mallory}`,
      `__Host-id2=${mallory}`,
      `x__Host-id=${mallory}`,
    ];
    for (const lookAlike of lookAlikes) {
      const bytes = Buffer.from(lookAlike, 'utf8').toString('latin1');
      assert.equal(userOf(await me(`${bytes}; ${NAME}=${alice}`)), 'alice', lookAlike);
      assert.equal(userOf(await me(`${NAME}=${alice}; ${bytes}`)), 'alice', lookAlike);
      assert.equal((await me(bytes)).status, 401, lookAlike);
    }
    await stillServes();
  });
});
