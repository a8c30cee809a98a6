/**
 * Before it adds req.session and the response hold, the Express middleware turns the request and
 * the response into dictionaries (Express swaps their prototypes, after which every added property
 * costs a new hidden class). That must change no value, attribute or key other than its own.
 */
import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import test from 'node:test';
import express from 'express';
import { makeDictionary } from '../../packages/coatcheck/src/express/held-response.js';
import { session } from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { listen } from '../support/http.js';

const SECRET = 'dictionary-mode-secret-0123456789-abcdefghij';

type Seen = { keys: string[]; url: PropertyDescriptor | undefined; sendDate: PropertyDescriptor | undefined };

function observe(req: express.Request, res: express.Response): Seen {
  return {
    keys: Object.keys(req).concat(Object.keys(res).map((key) => `res.${key}`)),
    url: Object.getOwnPropertyDescriptor(req, 'url'),
    sendDate: Object.getOwnPropertyDescriptor(res, 'sendDate'),
  };
}

async function seenBy(withSession: boolean): Promise<Seen> {
  const app = express();
  if (withSession) app.use(session({ secret: SECRET, store: new MemoryStore(), warn: () => {} }) as never);
  let seen: Seen | undefined;
  app.get('/page', (req, res) => {
    seen = observe(req, res);
    res.json({ url: req.url, originalUrl: req.originalUrl });
  });
  const server = await listen(app);
  try {
    const response = await fetch(`${server.url}/page?x=1`);
    assert.deepEqual(await response.json(), { url: '/page?x=1', originalUrl: '/page?x=1' });
    assert.ok(response.headers.get('date'), 'sendDate still sends a Date header');
  } finally {
    await server.close();
  }
  assert.ok(seen);
  return seen;
}

test('Express: the request and response keep every key, value and attribute they had', async () => {
  const plain = await seenBy(false);
  const held = await seenBy(true);
  assert.deepEqual(held.url, plain.url);
  assert.deepEqual(held.sendDate, plain.sendDate);
  assert.deepEqual(held.url, { value: '/page?x=1', writable: true, enumerable: true, configurable: true });
  const added = held.keys.filter((key) => !plain.keys.includes(key)).sort();
  assert.deepEqual(
    added,
    [
      'res.end',
      // The hold's view of headersSent, as enumerable as Node's own accessor.
      'res.headersSent',
      'res.removeHeader',
      'res.setHeader',
      'res.write',
      'res.writeHead',
      'session',
      'sessionID',
      'sessionStore',
      // Node 20 has appendHeader and flushHeaders on every ServerResponse.
      'res.appendHeader',
      'res.flushHeaders',
    ].sort(),
  );
  assert.deepEqual(
    plain.keys.filter((key) => !held.keys.includes(key)),
    [],
    'no key of the request or response is lost',
  );
});

function nodeObjects(): { req: IncomingMessage; res: ServerResponse } {
  const req = new IncomingMessage(new Socket());
  req.url = '/a';
  return { req, res: new ServerResponse(req) };
}

test('makeDictionary: an object on Node’s own prototype is left exactly as it was', () => {
  const { req, res } = nodeObjects();
  const before = [Object.keys(req), Object.keys(res)];
  makeDictionary(req, 'url');
  makeDictionary(res, 'sendDate');
  assert.deepEqual([Object.keys(req), Object.keys(res)], before);
});

test('makeDictionary: on a swapped prototype, the key keeps its value and attributes; only its place in the key order moves', () => {
  const { req, res } = nodeObjects();
  Object.setPrototypeOf(req, Object.create(IncomingMessage.prototype));
  Object.setPrototypeOf(res, Object.create(ServerResponse.prototype));
  const keys = [Object.keys(req).sort(), Object.keys(res).sort()];
  const descriptors = [
    Object.getOwnPropertyDescriptor(req, 'url'),
    Object.getOwnPropertyDescriptor(res, 'sendDate'),
  ];
  makeDictionary(req, 'url');
  makeDictionary(res, 'sendDate');
  assert.deepEqual([Object.keys(req).sort(), Object.keys(res).sort()], keys);
  assert.deepEqual(
    [Object.getOwnPropertyDescriptor(req, 'url'), Object.getOwnPropertyDescriptor(res, 'sendDate')],
    descriptors,
  );
  assert.equal(
    Object.getOwnPropertySymbols(req).length,
    Object.getOwnPropertySymbols(nodeObjects().req).length,
  );
});

test('makeDictionary: an accessor, a read-only value or a missing key is never deleted', () => {
  let reads = 0;
  const accessor = Object.defineProperty({}, 'url', {
    get: () => {
      reads++;
      return '/from-getter';
    },
    configurable: true,
    enumerable: true,
  });
  const readOnly = Object.defineProperty({}, 'url', { value: '/fixed', writable: false, configurable: true });
  const standIn = { setHeader() {} };
  makeDictionary(accessor, 'url');
  makeDictionary(readOnly, 'url');
  makeDictionary(standIn, 'sendDate');
  assert.equal(typeof Object.getOwnPropertyDescriptor(accessor, 'url')?.get, 'function');
  assert.equal(reads, 0, 'the getter is not called');
  assert.deepEqual(Object.getOwnPropertyDescriptor(readOnly, 'url'), {
    value: '/fixed',
    writable: false,
    enumerable: false,
    configurable: true,
  });
  assert.deepEqual(Reflect.ownKeys(standIn), ['setHeader'], 'the probe leaves nothing behind');
});

test('makeDictionary: a setter for the key up the prototype chain is not called, and the value stays own', () => {
  const seen: unknown[] = [];
  const proto = Object.defineProperty({}, 'url', {
    set: (value: unknown) => seen.push(value),
    configurable: true,
  });
  const target = Object.create(proto) as Record<string, unknown>;
  Object.defineProperty(target, 'url', {
    value: '/own',
    writable: true,
    enumerable: true,
    configurable: true,
  });
  target.other = 1;
  makeDictionary(target, 'url');
  assert.deepEqual(seen, []);
  assert.deepEqual(Object.getOwnPropertyDescriptor(target, 'url'), {
    value: '/own',
    writable: true,
    enumerable: true,
    configurable: true,
  });
});

test('makeDictionary: an object that cannot be extended keeps its key', () => {
  const { req } = nodeObjects();
  Object.setPrototypeOf(req, Object.create(IncomingMessage.prototype));
  Object.preventExtensions(req);
  makeDictionary(req, 'url');
  assert.equal(req.url, '/a');
  assert.ok(Object.hasOwn(req, 'url'));
});
