/**
 * A hook registered after the session plugin changes `request.session`: is the change there on the
 * next request? @fastify/session runs as the control, on its own MemoryStore and on a store that
 * copies what it is given, as every networked store does.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import Fastify, { type FastifyInstance, type FastifyRequest, type Session } from 'fastify';
import { session } from '../../packages/coatcheck/src/fastify/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SECRET } from './app.js';

/** A callback store for @fastify/session that keeps JSON text, as connect-redis and the SQL stores do. */
class CopyingStore implements fastifySession.SessionStore {
  readonly #texts = new Map<string, string>();
  set(id: string, value: Session, callback: (error?: unknown) => void) {
    this.#texts.set(id, JSON.stringify(value));
    callback();
  }
  get(id: string, callback: (error: unknown, value?: Session | null) => void) {
    const text = this.#texts.get(id);
    callback(null, text === undefined ? null : (JSON.parse(text) as Session));
  }
  destroy(id: string, callback: (error?: unknown) => void) {
    this.#texts.delete(id);
    callback();
  }
}

interface Peer {
  name: string;
  register(app: FastifyInstance, warnings: string[]): Promise<void>;
}

const coatcheck: Peer = {
  name: 'coatcheck/fastify',
  register: async (app, warnings) => {
    await app.register(session, {
      secret: SECRET,
      store: new MemoryStore(),
      warn: (message) => warnings.push(message),
    });
  },
};

function fastifySessionOn(store: 'own MemoryStore' | 'copying store'): Peer {
  return {
    name: `@fastify/session on its ${store} (control)`,
    register: async (app) => {
      await app.register(fastifyCookie);
      await app.register(fastifySession, {
        secret: SECRET,
        saveUninitialized: false,
        cookie: { secure: false },
        ...(store === 'copying store' ? { store: new CopyingStore() } : {}),
      });
    },
  };
}

const controlOwnStore = fastifySessionOn('own MemoryStore');
const controlCopying = fastifySessionOn('copying store');

/** Where the late write is made: a hook stage at instance level, in a child scope, or on the route. */
type Where =
  | 'preSerialization'
  | 'onSend'
  | 'onSend in a child scope'
  | 'onSend on the route'
  | 'onResponse'
  | 'onSend on a route registered before the plugin';

function mark(request: FastifyRequest, where: Where) {
  if (request.url === '/touch') request.session.set('late', where);
}

/** Mounts the session, then the hook at `where`; `/touch` answers an object, so preSerialization runs. */
async function start(peer: Peer, where: Where) {
  const app = Fastify();
  const warnings: string[] = [];
  const touch = async () => ({ ok: true });
  if (where === 'onSend on a route registered before the plugin') app.get('/touch', touch);
  await peer.register(app, warnings);
  if (where === 'preSerialization') {
    app.addHook('preSerialization', async (request, _reply, payload) => {
      mark(request, where);
      return payload;
    });
  } else if (where === 'onSend' || where === 'onSend on a route registered before the plugin') {
    app.addHook('onSend', async (request, _reply, payload) => {
      mark(request, where);
      return payload;
    });
  } else if (where === 'onResponse') {
    app.addHook('onResponse', async (request) => mark(request, where));
  }
  app.post('/set', async (request) => {
    request.session.set('early', 'handler');
    return {};
  });
  app.get('/peek', async (request) => ({
    early: request.session.get('early') ?? null,
    late: request.session.get('late') ?? null,
  }));
  if (where === 'onSend on the route') {
    app.get('/touch', {
      onSend: async (request, _reply, payload) => {
        mark(request, where);
        return payload;
      },
      handler: touch,
    });
  } else if (where === 'onSend in a child scope') {
    // A callback-style plugin: the scope's hook and route, then done.
    await app.register((child, _options, done) => {
      child.addHook('onSend', async (request, _reply, payload) => {
        mark(request, where);
        return payload;
      });
      child.get('/touch', touch);
      done();
    });
  } else if (where !== 'onSend on a route registered before the plugin') {
    app.get('/touch', touch);
  }
  await app.ready();
  return { app, warnings };
}

/** POST /set, GET /touch (the hook writes), GET /peek: what the next request reads, with the warnings. */
async function journey(peer: Peer, where: Where) {
  const { app, warnings } = await start(peer, where);
  const jar = new Map<string, string>();
  async function call(method: 'GET' | 'POST', url: string) {
    const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await app.inject({
      method,
      url,
      headers: cookie ? { cookie } : {},
      ...(method === 'POST' ? { payload: {} } : {}),
    });
    assert.equal(response.statusCode, 200, `${method} ${url}: ${response.body}`);
    for (const line of [response.headers['set-cookie'] ?? []].flat()) {
      const [pair = ''] = String(line).split(';');
      const eq = pair.indexOf('=');
      jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return response;
  }
  try {
    await call('POST', '/set');
    await call('GET', '/touch');
    const seen = (await call('GET', '/peek')).json() as { early: string | null; late: string | null };
    assert.equal(seen.early, 'handler', 'the handler write is always kept');
    return { kept: seen.late === where, warnings };
  } finally {
    await app.close();
  }
}

const beforeTheResponse: Where[] = [
  'preSerialization',
  'onSend',
  'onSend in a child scope',
  'onSend on the route',
];

describe('a session write in a hook registered after the plugin', () => {
  for (const where of beforeTheResponse) {
    it(`is kept when made in ${where}, before the response leaves`, async () => {
      const ours = await journey(coatcheck, where);
      assert.equal(ours.kept, true);
      assert.deepEqual(ours.warnings, []);
    });
  }

  it('preSerialization runs before @fastify/session saves in onSend: the control keeps that write on any store', async () => {
    assert.equal((await journey(controlCopying, 'preSerialization')).kept, true);
    assert.equal((await journey(controlOwnStore, 'preSerialization')).kept, true);
  });

  // @fastify/session saves in its own onSend hook, which runs before those registered after it; its
  // MemoryStore keeps the Session object itself, so a later change to that object shows on the next
  // request without any save. On a store that copies, the change is gone.
  for (const where of ['onSend', 'onSend in a child scope', 'onSend on the route', 'onResponse'] as const) {
    it(`the control loses a write made in ${where} on a copying store, and shows it only through its MemoryStore's shared object`, async () => {
      assert.equal((await journey(controlCopying, where)).kept, false);
      assert.equal((await journey(controlOwnStore, where)).kept, true);
    });
  }

  it('made in onResponse, after the response left, is not kept and a warning says so', async () => {
    const ours = await journey(coatcheck, 'onResponse');
    assert.equal(ours.kept, false);
    assert.equal(ours.warnings.length, 1);
    assert.match(
      ours.warnings[0]!,
      /set\(\) after the session was stored for this response; the change is not saved/,
    );
  });

  // A route added before the plugin never passes through its onRoute hook: the write is saved
  // before that onSend hook runs, and the loss is reported instead of silent.
  it('made in onSend for a route registered before the plugin, is not kept and a warning says so', async () => {
    const ours = await journey(coatcheck, 'onSend on a route registered before the plugin');
    assert.equal(ours.kept, false);
    assert.equal(ours.warnings.length, 1);
    assert.match(
      ours.warnings[0]!,
      /set\(\) after the session was stored for this response; the change is not saved/,
    );
  });
});

/** The handler writes; an onSend hook after the plugin throws on every send. */
async function throwingHook(peer: Peer, level: 'instance' | 'route') {
  const app = Fastify();
  await peer.register(app, []);
  const boom = async (request: FastifyRequest, _reply: unknown, payload: unknown) => {
    if (request.url === '/write') throw new Error('a hook that always fails');
    return payload;
  };
  if (level === 'instance') app.addHook('onSend', boom);
  app.post('/write', { ...(level === 'route' ? { onSend: boom } : {}) }, async (request) => {
    request.session.set('early', 'book');
    return { ok: true };
  });
  app.get('/peek', async (request) => ({ early: request.session.get('early') ?? null }));
  try {
    const written = await app.inject({ method: 'POST', url: '/write', payload: {} });
    assert.equal(written.statusCode, 500);
    const header = written.headers['set-cookie'];
    const cookie = (Array.isArray(header) ? header[0] : header)?.split(';')[0];
    assert.ok(cookie, 'the session cookie is on the 500');
    const peek = await app.inject({ method: 'GET', url: '/peek', headers: { cookie } });
    assert.deepEqual(peek.json(), { early: 'book' });
  } finally {
    await app.close();
  }
}

describe('an onSend hook after the plugin that throws on every send', () => {
  for (const level of ['instance', 'route'] as const) {
    for (const peer of [coatcheck, controlCopying]) {
      it(`at ${level} level (${peer.name}): the handler's write is stored and its cookie sent with the 500`, async () => {
        await throwingHook(peer, level);
      });
    }
  }
});

it('a late write that the store refuses is answered as a failed write is (503), never lost in silence', async () => {
  class FailingUpdates extends MemoryStore {
    override async update(...args: Parameters<MemoryStore['update']>) {
      if (JSON.stringify(args[1]).includes('late')) throw new Error('store down');
      return super.update(...args);
    }
  }
  const app = Fastify();
  await app.register(session, { secret: SECRET, store: new FailingUpdates(), warn: () => {} });
  app.addHook('onSend', async (request, _reply, payload) => {
    if (request.url === '/write') request.session.set('late', 'onSend');
    return payload;
  });
  app.post('/first', async (request) => {
    request.session.set('early', 'handler');
    return { ok: true };
  });
  app.post('/write', async (request) => {
    request.session.set('early', 'again');
    return { ok: true };
  });
  try {
    const first = await app.inject({ method: 'POST', url: '/first', payload: {} });
    const header = first.headers['set-cookie'];
    const cookie = (Array.isArray(header) ? header[0] : header)?.split(';')[0];
    assert.ok(cookie);
    const written = await app.inject({ method: 'POST', url: '/write', payload: {}, headers: { cookie } });
    assert.equal(written.statusCode, 503, written.body);
  } finally {
    await app.close();
  }
});

it('destroy() in an onSend hook after the plugin clears the cookie, as a destroy in the handler does', async () => {
  const app = Fastify();
  await app.register(session, { secret: SECRET, store: new MemoryStore(), warn: () => {} });
  app.addHook('onSend', async (request, _reply, payload) => {
    if (request.url === '/late-destroy') await request.session.destroy();
    return payload;
  });
  app.post('/first', async (request) => {
    request.session.set('early', 'handler');
    return { ok: true };
  });
  app.post('/late-destroy', async () => ({ ok: true }));
  try {
    const first = await app.inject({ method: 'POST', url: '/first', payload: {} });
    const header = first.headers['set-cookie'];
    const cookie = (Array.isArray(header) ? header[0] : header)?.split(';')[0];
    assert.ok(cookie);
    const ended = await app.inject({
      method: 'POST',
      url: '/late-destroy',
      payload: {},
      headers: { cookie },
    });
    assert.equal(ended.statusCode, 200);
    const cleared = [ended.headers['set-cookie'] ?? []].flat().join(' | ');
    assert.match(cleared, /^id=;.*Max-Age=0/i, cleared);
    assert.equal(ended.headers['clear-site-data'], '"cache", "storage"');
  } finally {
    await app.close();
  }
});

it('a session created by the handler and destroyed in a later onSend hook sends only the clearing cookie', async () => {
  const app = Fastify();
  await app.register(session, { secret: SECRET, store: new MemoryStore(), warn: () => {} });
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.url === '/created-then-ended') await request.session.destroy();
    reply.header('set-cookie', 'theme=dark; Path=/');
    return payload;
  });
  app.post('/created-then-ended', async (request) => {
    request.session.set('early', 'handler');
    return { ok: true };
  });
  try {
    const answer = await app.inject({ method: 'POST', url: '/created-then-ended', payload: {} });
    assert.equal(answer.statusCode, 200);
    const cookies = [answer.headers['set-cookie'] ?? []].flat();
    const ours = cookies.filter((cookie) => cookie.startsWith('id='));
    assert.equal(ours.length, 1, JSON.stringify(cookies));
    assert.match(ours[0]!, /^id=;.*Max-Age=0/i);
    assert.ok(cookies.includes('theme=dark; Path=/'), "the application's own cookie stays");
  } finally {
    await app.close();
  }
});
