import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import express from 'express';
import expressSession from 'express-session';
import { session } from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SqliteStore } from '../../packages/coatcheck/src/stores/sqlite.js';
import { SECRET } from '../support/app.js';
import { Client, listen, type Running } from '../support/http.js';

/**
 * Each journey seeds a session, runs its steps (one request each), and reads the data back twice
 * after every step: on express-session (the control) and on coatcheck with the memory and SQLite
 * stores, the statuses and the data must be the same (key order aside).
 */

type Data = Record<string, unknown>;
const opened: Running[] = [];
after(async () => {
  for (const running of opened) await running.close();
});

const save = (req: express.Request) =>
  new Promise<void>((res, rej) => req.session.save((e: unknown) => (e ? rej(e) : res())));
const reload = (req: express.Request) =>
  new Promise<void>((res, rej) => req.session.reload((e: unknown) => (e ? rej(e) : res())));
const regenerate = (req: express.Request) =>
  new Promise<void>((res, rej) => req.session.regenerate((e: unknown) => (e ? rej(e) : res())));
const destroy = (req: express.Request) =>
  new Promise<void>((res, rej) => req.session.destroy((e: unknown) => (e ? rej(e) : res())));

const SEED = { a: 1, b: 'x', c: true, n: null, z: 0, s: '' };
const SEED_OBJ = { a: 1, arr: [1, 2], o: { k: 'v' } };

type Step = (req: express.Request, d: Data) => void | Promise<void>;
/** The session's data, as a handler writes it. */
const dataOf = (req: express.Request) => req.session as unknown as Data;
const scenarios: Record<string, { seed?: Data; steps: Step[] }> = {
  inc: {
    steps: [
      (_, d) => {
        d.a = (d.a as number) + 1;
      },
    ],
  },
  same: {
    steps: [
      (_, d) => {
        const { a } = d;
        d.a = a;
      },
    ],
  },
  nothing: { steps: [() => {}] },
  deleteReadd: {
    steps: [
      (_, d) => {
        delete d.a;
        d.a = 1;
      },
    ],
  },
  deleteReaddOther: {
    steps: [
      (_, d) => {
        delete d.a;
        d.a = 2;
      },
    ],
  },
  swap: {
    steps: [
      (_, d) => {
        const t = d.a;
        d.a = d.z;
        d.z = t;
      },
    ],
  },
  swapKeyNames: {
    steps: [
      (_, d) => {
        delete d.a;
        d.q = 1;
      },
    ],
  },
  setUndefined: {
    steps: [
      (_, d) => {
        d.a = undefined;
      },
    ],
  },
  addUndefined: {
    steps: [
      (_, d) => {
        d.q = undefined;
      },
    ],
  },
  deleteAndAddUndefined: {
    steps: [
      (_, d) => {
        delete d.a;
        d.q = undefined;
      },
    ],
  },
  setNull: {
    steps: [
      (_, d) => {
        d.a = null;
      },
    ],
  },
  setNaN: {
    steps: [
      (_, d) => {
        d.a = NaN;
      },
    ],
  },
  setNaNOnNull: {
    steps: [
      (_, d) => {
        d.n = NaN;
      },
    ],
  },
  setInf: {
    steps: [
      (_, d) => {
        d.a = Infinity;
      },
    ],
  },
  negZero: {
    steps: [
      (_, d) => {
        d.z = -0;
      },
    ],
  },
  date: {
    steps: [
      (_, d) => {
        d.a = new Date(0);
      },
    ],
  },
  fn: {
    steps: [
      (_, d) => {
        d.a = () => 1;
      },
    ],
  },
  symbolVal: {
    steps: [
      (_, d) => {
        d.a = Symbol('x');
      },
    ],
  },
  boxed: {
    steps: [
      (_, d) => {
        d.a = new Number(5);
      },
    ],
  },
  assign: { steps: [(_, d) => void Object.assign(d, { a: 2 })] },
  assignSame: { steps: [(_, d) => void Object.assign(d, { a: 1, b: 'x' })] },
  saveThenBack: {
    steps: [
      async (req, d) => {
        d.a = 5;
        await save(req);
        d.a = 1;
      },
    ],
  },
  saveThenBackTwice: {
    steps: [
      async (req, d) => {
        d.a = 5;
        await save(req);
        d.a = 1;
        await save(req);
        d.a = 5;
      },
    ],
  },
  saveBackSave: {
    steps: [
      async (req, d) => {
        d.a = 5;
        await save(req);
        d.a = 1;
        await save(req);
      },
    ],
  },
  saveDeleteThenReadd: {
    steps: [
      async (req, d) => {
        delete d.a;
        await save(req);
        d.a = 1;
      },
    ],
  },
  saveSameThenChange: {
    steps: [
      async (req, d) => {
        await save(req);
        d.a = 3;
      },
    ],
  },
  reloadThenChange: {
    steps: [
      async (req) => {
        await reload(req);
        dataOf(req).a = 7;
      },
    ],
  },
  changeThenReload: {
    steps: [
      async (req) => {
        dataOf(req).a = 9;
        await reload(req);
      },
    ],
  },
  changeReloadSetBack: {
    steps: [
      async (req) => {
        dataOf(req).a = 9;
        await reload(req);
        dataOf(req).a = 9;
      },
    ],
  },
  reloadNothing: {
    steps: [
      async (req) => {
        await reload(req);
      },
    ],
  },
  saveReloadBack: {
    steps: [
      async (req) => {
        dataOf(req).a = 9;
        await save(req);
        await reload(req);
        dataOf(req).a = 1;
      },
    ],
  },
  regenSame: {
    steps: [
      async (req) => {
        await regenerate(req);
        Object.assign(req.session, SEED);
      },
    ],
  },
  regenPartial: {
    steps: [
      async (req) => {
        await regenerate(req);
        dataOf(req).a = 1;
      },
    ],
  },
  regenNothing: {
    steps: [
      async (req) => {
        await regenerate(req);
      },
    ],
  },
  destroyed: {
    steps: [
      async (req) => {
        await destroy(req);
      },
    ],
  },
  twoRequests: {
    steps: [
      (_, d) => {
        d.a = 2;
      },
      (_, d) => {
        d.a = 1;
      },
    ],
  },
  twoRequestsSame: {
    steps: [
      (_, d) => {
        d.a = 2;
      },
      (_, d) => {
        d.a = 2;
      },
      (_, d) => {
        d.a = 1;
      },
    ],
  },
  objPush: { seed: SEED_OBJ, steps: [(_, d) => void (d.arr as number[]).push(3)] },
  objDeep: {
    seed: SEED_OBJ,
    steps: [
      (_, d) => {
        (d.o as Data).k = 'w';
      },
    ],
  },
  objReplacePrim: {
    seed: SEED_OBJ,
    steps: [
      (_, d) => {
        d.o = 1;
      },
    ],
  },
  objSame: { seed: SEED_OBJ, steps: [() => {}] },
  primToObjSame: {
    steps: [
      (_, d) => {
        d.a = [1];
      },
    ],
  },
  objSaveThenDeep: {
    seed: SEED_OBJ,
    steps: [
      async (req, d) => {
        d.a = 3;
        await save(req);
        (d.o as Data).k = 'w';
      },
    ],
  },
  objPushAfterSave: {
    seed: SEED_OBJ,
    steps: [
      async (req, d) => {
        await save(req);
        (d.arr as number[]).push(9);
      },
    ],
  },
  emptyAll: {
    steps: [
      (_, d) => {
        for (const k of Object.keys(SEED)) delete d[k];
      },
    ],
  },
  cookieKey: {
    steps: [
      (_, d) => {
        d.cookieX = 1;
      },
    ],
  },
};

async function startApp(middleware: express.RequestHandler): Promise<string> {
  const app = express();
  app.use(middleware);
  app.get('/seed/:which', (req, res) => {
    Object.assign(req.session, req.params.which === 'obj' ? structuredClone(SEED_OBJ) : SEED);
    res.end('ok');
  });
  app.get('/run/:name/:step', async (req, res, next) => {
    try {
      const step = scenarios[String(req.params.name)]!.steps[Number(req.params.step)]!;
      await step(req, dataOf(req));
      res.end('ok');
    } catch (error) {
      next(error);
    }
  });
  app.get('/peek', (req, res) => {
    const { cookie: _cookie, ...rest } = dataOf(req);
    res.json(rest);
  });
  const running = await listen(app as never);
  opened.push(running);
  return running.url;
}

/** Statuses and data (keys sorted) after every step of every journey. */
async function journeys(url: string): Promise<Record<string, string[]>> {
  const results: Record<string, string[]> = {};
  const sorted = (text: string) =>
    JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(text)).sort()));
  for (const [name, scenario] of Object.entries(scenarios)) {
    const client = new Client(url);
    await client.get(`/seed/${scenario.seed === SEED_OBJ ? 'obj' : 'prim'}`);
    const seen: string[] = [];
    for (let i = 0; i < scenario.steps.length; i++) {
      seen.push(String((await client.get(`/run/${name}/${i}`)).status));
      seen.push(sorted((await client.get('/peek')).text));
      seen.push(sorted((await client.get('/peek')).text));
    }
    results[name] = seen;
  }
  return results;
}

describe('Express: what each change to req.session leaves stored, against express-session', () => {
  let control: Record<string, string[]>;
  it('express-session itself (the control) runs every journey', async () => {
    control = await journeys(
      await startApp(expressSession({ secret: SECRET, resave: false, saveUninitialized: false }) as never),
    );
    assert.equal(Object.keys(control).length, Object.keys(scenarios).length);
  });
  for (const [name, store] of [
    ['memory', () => new MemoryStore()],
    ['SQLite', () => new SqliteStore({ path: ':memory:' })],
  ] as const) {
    it(`coatcheck on the ${name} store: the same statuses and data after every step`, async () => {
      const mine = await journeys(
        await startApp(
          session({ secret: SECRET, store: store(), warn: () => {}, guessLimit: false }) as never,
        ),
      );
      assert.deepEqual(mine, control);
    });
  }
});
