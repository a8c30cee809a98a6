/**
 * Bounded mixed load through the proxy: virtual users with their own cookie jars, each with at
 * most one request in flight, sent at a fixed rate for a fixed time. Writers sign in once and then
 * write a new key per request (`w<seq>` = seq) and read; sign-in users sign in again and again
 * (a rotation each time). Every acknowledged (2xx) write is remembered so it can be read back.
 */
import { type Answer, applyCookies, cookieHeader, createRequester, type Requester } from './http.js';

export interface LoadOptions {
  url: string;
  /** Requests per second, spread over 10 ms ticks. */
  rate: number;
  durationMs: number;
  writers: number;
  signIns: number;
}

interface VirtualUser {
  jar: Map<string, string>;
  busy: boolean;
  seq: number;
  /** Keys whose write was answered 2xx. */
  acked: string[];
}

/** What a load run saw; times are milliseconds since the load started. */
export interface LoadRecord {
  startedAt: number;
  /** Per second of the run: status (or timeout / conn-error) → responses. */
  perSecond: Map<number, Map<string, number>>;
  /** Completion time and status of every response. */
  events: { at: number; status: Answer['status'] }[];
  /** Requests the rate asked for while every user of that kind was waiting for an answer. */
  notSent: number;
  ackedWrites: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const READ = 0.6;
/** Load that goes on after the fault's repair when the repair ends late. */
const TAIL_MS = 3_000;
const WRITE = 0.3;

export interface Population {
  writers: VirtualUser[];
  signIns: VirtualUser[];
  requester: Requester;
}

const user = (): VirtualUser => ({ jar: new Map(), busy: false, seq: 0, acked: [] });

/** Creates the users and signs each in once, 16 at a time; throws when a sign-in fails. */
export async function populate(options: Omit<LoadOptions, 'rate' | 'durationMs'>): Promise<Population> {
  const requester = createRequester(options.url, { sockets: 256, timeoutMs: 5_000 });
  const writers = Array.from({ length: options.writers }, user);
  const signIns = Array.from({ length: options.signIns }, user);
  const all = [
    ...writers.map((u, i) => [u, `w${i}`] as const),
    ...signIns.map((u, i) => [u, `u${i % 50}`] as const),
  ];
  for (let i = 0; i < all.length; i += 16) {
    await Promise.all(
      all.slice(i, i + 16).map(async ([vu, userId]) => {
        // A client still finding its servers (a Cluster's slot map) may answer 503 at first.
        const login = () =>
          requester.send({ method: 'POST', path: '/login', body: JSON.stringify({ userId }) });
        const answer = await settle(login, 10_000);
        if (answer.status !== 200) throw new Error(`sign-in before the run answered ${answer.status}`);
        applyCookies(vu.jar, answer.setCookies);
      }),
    );
  }
  return { writers, signIns, requester };
}

function pick(users: VirtualUser[], turn: number): VirtualUser | null {
  for (let i = 0; i < users.length; i++) {
    const candidate = users[(turn + i) % users.length]!;
    if (!candidate.busy) return candidate;
  }
  return null;
}

/** Runs the load for `durationMs`, calling `during` at its start; resolves when every answer is in. */
export async function runLoad(
  population: Population,
  options: Pick<LoadOptions, 'rate' | 'durationMs'>,
  during: (elapsed: () => number) => Promise<void>,
): Promise<LoadRecord> {
  const { requester, writers, signIns } = population;
  const startedAt = Date.now();
  const record: LoadRecord = { startedAt, perSecond: new Map(), events: [], notSent: 0, ackedWrites: 0 };
  const inFlight = new Set<Promise<void>>();
  const note = (status: Answer['status']) => {
    const at = Date.now() - startedAt;
    record.events.push({ at, status });
    const second = Math.floor(at / 1000);
    const bucket = record.perSecond.get(second) ?? new Map<string, number>();
    bucket.set(String(status), (bucket.get(String(status)) ?? 0) + 1);
    record.perSecond.set(second, bucket);
  };
  const issue = (vu: VirtualUser, request: Parameters<Requester['send']>[0], onOk?: () => void) => {
    vu.busy = true;
    const sent = requester
      .send({ ...request, headers: cookieHeader(vu.jar) })
      .then((answer) => {
        note(answer.status);
        applyCookies(vu.jar, answer.setCookies);
        if (typeof answer.status === 'number' && answer.status < 300) onOk?.();
      })
      .finally(() => {
        vu.busy = false;
        inFlight.delete(sent);
      });
    inFlight.add(sent);
  };

  let turn = 0;
  // Owed from the clock, so a late timer catches up; at most a tenth of a second's worth at once.
  const tick = () => {
    const owed = Math.floor(((Date.now() - startedAt) * options.rate) / 1000) - turn;
    for (let i = Math.min(owed, Math.ceil(options.rate / 10)); i > 0; i--) {
      turn++;
      const roll = Math.random();
      const vu = pick(roll < READ + WRITE ? writers : signIns, turn);
      if (!vu) {
        record.notSent++;
        continue;
      }
      if (roll < READ) issue(vu, { method: 'GET', path: '/me' });
      else if (roll < READ + WRITE) {
        const key = `w${++vu.seq}`;
        issue(vu, { method: 'POST', path: '/set', body: JSON.stringify({ [key]: vu.seq }) }, () => {
          vu.acked.push(key);
          record.ackedWrites++;
        });
      } else {
        const userId = `u${turn % 50}`;
        issue(vu, { method: 'POST', path: '/login', body: JSON.stringify({ userId }) });
      }
    }
  };
  const timer = setInterval(tick, 10);
  const elapsed = () => Date.now() - startedAt;
  let faultDone = Number.NEGATIVE_INFINITY;
  const fault = during(elapsed).then(() => {
    faultDone = Date.now();
  });
  await sleep(options.durationMs);
  await fault;
  // A repair that ran late still gets load after it, so recovery can be measured.
  await sleep(Math.max(0, Math.min(options.durationMs, TAIL_MS) - (Date.now() - faultDone)));
  clearInterval(timer);
  while (inFlight.size) await Promise.all(inFlight);
  return record;
}

/** Retries a read until it is not a 5xx / timeout, for at most `withinMs`. */
async function settle(send: () => Promise<Answer>, withinMs: number): Promise<Answer> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const answer = await send();
    const failed = typeof answer.status !== 'number' || answer.status >= 500;
    if (!failed || Date.now() > deadline) return answer;
    await sleep(200);
  }
}

/** After the run: every acknowledged write read back, and the sessions that still work. */
export async function verify(
  population: Population,
): Promise<{ lost: number; liveSessions: number; unreadable: number }> {
  const { requester, writers, signIns } = population;
  let lost = 0;
  let unreadable = 0;
  let liveSessions = 0;
  for (let i = 0; i < writers.length; i += 16) {
    await Promise.all(
      writers.slice(i, i + 16).map(async (vu) => {
        const answer = await settle(
          () => requester.send({ method: 'GET', path: '/peek', headers: cookieHeader(vu.jar) }),
          15_000,
        );
        if (answer.status !== 200) {
          unreadable++;
          lost += vu.acked.length;
          return;
        }
        const { data, meta } = JSON.parse(answer.body) as {
          data: Record<string, unknown>;
          meta?: { userId?: string };
        };
        for (const key of vu.acked) if (data[key] !== Number(key.slice(1))) lost++;
        if (meta?.userId) liveSessions++;
      }),
    );
  }
  for (const vu of signIns) {
    const answer = await settle(
      () => requester.send({ method: 'GET', path: '/me', headers: cookieHeader(vu.jar) }),
      15_000,
    );
    if (answer.status === 200) liveSessions++;
  }
  return { lost, liveSessions, unreadable };
}
