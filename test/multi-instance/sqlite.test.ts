import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AppCluster, describeMultiInstance, startAppCluster } from '../support/app-cluster.js';
import { Client } from '../support/http.js';

const newFile = () => join(mkdtempSync(join(tmpdir(), 'coatcheck-sqlite-instances-')), 'sessions.db');

describeMultiInstance({
  name: 'SQLite (one file, three processes)',
  skip: false,
  start: async () => {
    const path = newFile();
    return {
      env: { SQLITE_PATH: path },
      stop: async () => rmSync(join(path, '..'), { recursive: true, force: true }),
    };
  },
});

/** A raw keep-alive connection that reads back whole HTTP/1.1 responses, in order. */
class Connection {
  #buffer = '';
  #waiting: (() => void) | null = null;
  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      this.#buffer += chunk;
      this.#waiting?.();
    });
  }
  static open(url: string): Promise<Connection> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => resolve(new Connection(socket)));
      socket.setNoDelay(true).once('error', reject);
    });
  }
  send(text: string): void {
    this.socket.write(text);
  }
  /** The next response's status. */
  response(): Promise<number> {
    return new Promise((resolve) => {
      const check = () => {
        const end = this.#buffer.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = this.#buffer.slice(0, end);
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (this.#buffer.length < end + 4 + length) return;
        this.#buffer = this.#buffer.slice(end + 4 + length);
        this.#waiting = null;
        resolve(Number(head.split(' ')[1]));
      };
      this.#waiting = check;
      check();
    });
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const TRIALS = 8;

// Instance B reads a request that came in pieces: the first bytes while it was busy, the rest after
// instance A acknowledged the logout. Reads of one turn once shared a transaction opened at that
// turn's first read, before the logout, and B answered the rest as signed in (7 of 8 trials in each
// shape; the first trial's read ran on the main connection after a write).
describe('two processes on one SQLite file: a request sent after a logout on the other', () => {
  let cluster: AppCluster;
  let path: string;
  before(async () => {
    path = newFile();
    cluster = await startAppCluster({ env: { SQLITE_PATH: path }, count: 2 });
  });
  after(async () => {
    await cluster?.stop();
    rmSync(join(path, '..'), { recursive: true, force: true });
  });

  for (const [shape, first, rest] of [
    [
      'its last header line and cookie',
      'GET /me HTTP/1.1\r\nHost: b\r\n',
      (cookie: string) => `Cookie: ${cookie}\r\n\r\n`,
    ],
    [
      'a second request pipelined on the connection',
      'GET /cache-stats HTTP/1.1\r\nHost: b\r\n\r\n',
      (cookie: string) => `GET /me HTTP/1.1\r\nHost: b\r\nCookie: ${cookie}\r\n\r\n`,
    ],
  ] as const) {
    it(`is refused when ${shape} arrives after the logout, while another request's read ran in the same turn (${TRIALS} trials)`, async () => {
      const [a, b] = cluster.instances;
      const other = new Client(a!.url);
      assert.equal((await other.post('/login', { userId: 'other' })).status, 200);
      const accepted: number[] = [];
      for (let trial = 0; trial < TRIALS; trial++) {
        const victim = new Client(a!.url);
        assert.equal((await victim.post('/login', { userId: `victim-${trial}` })).status, 200);
        const [busy, reader, late] = await Promise.all([
          Connection.open(b!.url),
          Connection.open(b!.url),
          Connection.open(b!.url),
        ]);
        // Taken now: the logout's answer clears the client's jar.
        const cookie = victim.cookieHeader;
        late.send(`GET /me HTTP/1.1\r\nHost: b\r\nCookie: ${cookie}\r\n\r\n`);
        assert.equal(await late.response(), 200, 'signed in on B before the logout');
        // B is busy while `reader` (signed in: its session read starts B's next turn) and the first
        // bytes of `late` arrive, so B takes both in one poll phase.
        busy.send('POST /busy?ms=150 HTTP/1.1\r\nHost: b\r\nContent-Length: 0\r\n\r\n');
        await sleep(30);
        reader.send(
          `POST /busy?ms=300 HTTP/1.1\r\nHost: b\r\nCookie: ${other.cookieHeader}\r\nContent-Length: 0\r\n\r\n`,
        );
        await sleep(10);
        late.send(first);
        await busy.response();
        await sleep(50);
        assert.equal((await victim.post('/logout')).status, 200);
        late.send(rest(cookie));
        if (shape !== 'its last header line and cookie') assert.equal(await late.response(), 200);
        const status = await late.response();
        await reader.response();
        for (const connection of [busy, reader, late]) connection.socket.destroy();
        if (status !== 401) accepted.push(trial);
      }
      assert.deepEqual(accepted, [], 'trials where B answered the logged-out session as signed in');
    });
  }
});
