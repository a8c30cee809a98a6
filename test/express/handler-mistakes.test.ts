import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import express from 'express';
import expressSession from 'express-session';
import type { SessionPatch, SessionRecord } from '../../packages/coatcheck/src/core/store/record.js';
import { requireAuth, session } from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { dataOf, SECRET } from '../support/app.js';
import { Client, listen, type Running } from '../support/http.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const opened: Running[] = [];
after(async () => {
  for (const running of opened) await running.close();
});

/** A memory store whose writes take `delayMs`, as a distant store does. */
class SlowStore extends MemoryStore {
  constructor(readonly delayMs: number) {
    super();
  }
  override async update(handle: string, patch: SessionPatch): Promise<SessionRecord | null> {
    await sleep(this.delayMs);
    return super.update(handle, patch);
  }
  override async create(record: SessionRecord): Promise<boolean> {
    await sleep(this.delayMs);
    return super.create(record);
  }
}

async function start(configure: (app: express.Express) => void, store = new MemoryStore()) {
  const app = express();
  app.set('env', 'test');
  app.use(express.json());
  app.use(session({ secret: SECRET, store, warn: () => {}, guessLimit: false }));
  app.post('/login', async (req, res) => {
    await req.session.login('alice');
    req.session.role = 'admin';
    res.json({ ok: true });
  });
  app.get('/me', requireAuth(), (req, res) => {
    res.json({ data: dataOf(req.session) });
  });
  configure(app);
  const running = await listen(app as never);
  opened.push(running);
  return running;
}

const tokens = (setCookies: string[]) => setCookies.filter((line) => /^id=[^;]/.test(line));

describe('lifecycle calls the handler does not await', () => {
  it('S27 `req.session.destroy(); res.redirect()` signs the user out, as on express-session', async () => {
    const server = await start((app) => {
      app.get('/logout', (req, res) => {
        void req.session.destroy();
        res.redirect('/login');
      });
    });
    const client = new Client(server.url);
    await client.post('/login');
    const old = client.jar.get('id');
    const out = await client.get('/logout');
    assert.equal(out.status, 302);
    assert.deepEqual(tokens(out.setCookies), [], 'a new token carrying the logged-out data');
    assert.equal((await client.get('/me')).status, 401);
    assert.equal((await new Client(server.url, { cookie: `id=${old}` }).get('/me')).status, 401);
  });

  it('a Passport-style sign-in ended by an un-awaited destroy stays ended', async () => {
    const server = await start((app) => {
      app.post('/passport-login', (req, res) => {
        req.session.passport = { user: 'alice' };
        res.json({ ok: true });
      });
      app.get('/logout', (req, res) => {
        req.session.destroy(() => {});
        res.redirect('/login');
      });
    });
    const client = new Client(server.url);
    await client.post('/passport-login');
    assert.equal((await client.get('/me')).status, 200);
    const out = await client.get('/logout');
    assert.deepEqual(tokens(out.setCookies), []);
    assert.equal((await client.get('/me')).status, 401);
  });

  it('`req.session.regenerate(); res.redirect()` carries nothing into the new session', async () => {
    const server = await start((app) => {
      app.get('/fresh', (req, res) => {
        req.session.regenerate(() => {});
        res.redirect('/');
      });
    });
    const client = new Client(server.url);
    await client.post('/login');
    await client.get('/fresh');
    assert.equal((await client.get('/me')).status, 401);
  });
});

describe('the held response', () => {
  it('applies backpressure: a stream piped in waits for the session instead of being read into memory', async () => {
    let pulled = 0;
    let pulledBeforeRelease = -1;
    const chunk = Buffer.alloc(64 * 1024, 97);
    const server = await start((app) => {
      app.get('/download', (req, res) => {
        req.session.downloads = 1;
        res.setHeader('Content-Type', 'application/octet-stream');
        const body = new Readable({
          read() {
            pulled++;
            this.push(pulled <= 400 ? chunk : null);
          },
        });
        res.once('drain', () => {
          if (pulledBeforeRelease < 0) pulledBeforeRelease = pulled;
        });
        body.pipe(res);
      });
    }, new SlowStore(300));
    const client = new Client(server.url);
    const response = await client.get('/download');
    assert.equal(response.text.length, 400 * 64 * 1024);
    assert.ok(
      pulledBeforeRelease >= 0 && pulledBeforeRelease < 10,
      `read ${pulledBeforeRelease} chunks while held`,
    );
  });

  it('keeps what the handler changes between the first write and end, as express-session saves at end', async () => {
    const server = await start((app) => {
      app.get('/stream', async (req, res) => {
        req.session.early = 1;
        res.write('a');
        await sleep(20);
        req.session.late = 1;
        res.end('b');
      });
    });
    const client = new Client(server.url);
    await client.post('/login');
    assert.equal((await client.get('/stream')).text, 'ab');
    const { data } = (await client.get('/me')).json() as { data: Record<string, unknown> };
    assert.equal(data.early, 1);
    assert.equal(data.late, 1);
  });
});

describe('a status set after the response was sent', () => {
  it("is ignored, as Node ignores it: a second res.json and an error handler's res.status(500)", async () => {
    const configure = (app: express.Express) => {
      app.get('/twice', (req, res) => {
        req.session.seen = 1;
        res.json({ one: 1 });
        res.json({ two: 2 }); // the forgotten `return`: throws ERR_HTTP_HEADERS_SENT
      });
      // An error handler that does not look at res.headersSent.
      app.use((_error: unknown, _req: express.Request, res: express.Response, _next: unknown) => {
        res.status(500);
        res.json({ error: 'failed' });
      });
    };
    const ours = await start(configure);
    const control = express();
    control.use(expressSession({ secret: SECRET, resave: false, saveUninitialized: false }) as never);
    configure(control);
    const theirs = await listen(control as never);
    opened.push(theirs);
    for (const [label, running] of [
      ['express-session', theirs],
      ['coatcheck', ours],
    ] as const) {
      const res = await new Client(running.url).get('/twice');
      assert.deepEqual([res.status, res.text], [200, '{"one":1}'], label);
    }
  });
});

describe('data keys named like the API', () => {
  it('`meta` is the application’s own key if it sets one; guards still read the record', async () => {
    const server = await start((app) => {
      app.post('/theme', (req, res) => {
        (req.session as unknown as { meta: unknown }).meta = { theme: 'dark' };
        res.json({ ok: true });
      });
    });
    const client = new Client(server.url);
    await client.post('/login');
    assert.equal((await client.post('/theme')).status, 200);
    const me = await client.get('/me');
    assert.equal(me.status, 200);
    assert.deepEqual((me.json() as { data: Record<string, unknown> }).data.meta, { theme: 'dark' });
  });
});

describe('rotations racing another tab', () => {
  it('regenerate({ keep: true }) in two tabs at once: never a 500; reauthenticate: 409 or 401 for the loser', async () => {
    const server = await start((app) => {
      app.post('/rotate', async (req, res) => {
        await req.session.regenerate({ keep: true });
        res.json({ ok: true });
      });
      app.post('/reauth', requireAuth(), async (req, res) => {
        await req.session.reauthenticate();
        res.json({ ok: true });
      });
    });
    for (const path of ['/rotate', '/reauth']) {
      for (let round = 0; round < 10; round++) {
        const client = new Client(server.url);
        await client.post('/login');
        const cookie = `id=${client.jar.get('id')}`;
        const tabs = await Promise.all([
          new Client(server.url, { cookie }).post(path),
          new Client(server.url, { cookie }).post(path),
        ]);
        for (const tab of tabs) {
          assert.notEqual(tab.status, 500, `${path}: ${tab.text}`);
          // The loser of a re-authentication race is told so (409), or meets the guard (401) when the
          // winner's rotation was done before it was read.
          assert.ok(
            tab.status === 200 || (path === '/reauth' && [401, 409].includes(tab.status)),
            `${path}: ${tab.status}`,
          );
        }
      }
    }
  });
});

it('a callback that throws is the application’s uncaught exception, never an unhandled rejection', () => {
  const script = `
    import express from 'express';
    import { session } from './packages/coatcheck/src/express/index.ts';
    const kinds = [];
    process.on('uncaughtException', (error) => { kinds.push('uncaught:' + error.message); });
    process.on('unhandledRejection', () => { kinds.push('unhandled'); });
    const app = express();
    app.use(session({ secret: '${SECRET}', warn: () => {} }));
    app.get('/', (req, res) => { req.session.x = 1; req.session.save(() => { throw new Error('app bug'); }); res.end('ok'); });
    const server = app.listen(0, '127.0.0.1', async () => {
      await fetch('http://127.0.0.1:' + server.address().port + '/');
      setTimeout(() => { console.log(JSON.stringify(kinds)); server.close(); process.exit(0); }, 100);
    });`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(run.stdout.trim(), JSON.stringify(['uncaught:app bug']), run.stderr);
});

it('save() right after logout stores nothing and the response still expires the cookie', async () => {
  const store = new MemoryStore();
  const server = await start((app) => {
    app.post('/logout-save', async (req, res) => {
      await req.session.logout();
      await req.session.save();
      res.json({ ok: true });
    });
  }, store);
  const client = new Client(server.url);
  await client.post('/login');
  const out = await client.post('/logout-save');
  assert.deepEqual(tokens(out.setCookies), [], 'a new empty session was stored');
  assert.equal(out.setCookies.filter((line) => /Max-Age=0/.test(line)).length, 1);
  assert.equal(store.size, 0);
});
