/**
 * Property-based fuzz (fast-check) of session cookies, CSRF tokens and session data against a
 * running Express adapter. Whatever is generated: no 500, no crash of the server process, and no
 * request authenticated (or let through the CSRF check) by a value the server did not issue.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import {
  cookieArbitrary,
  csrfTokenArbitrary,
  dataArbitrary,
  FUZZ_ORIGIN,
  type Issued,
} from './fuzz-inputs.js';
import { applyCookies, cookieHeader, createRequester, type Requester } from './http.js';

export interface FuzzResult {
  requests: number;
  byProperty: Record<string, number>;
  status500: number;
  crashed: boolean;
  /** Counterexamples of failed properties, with their seeds (no more than a few). */
  failures: string[];
  durationMs: number;
}

const serverPath = fileURLToPath(new URL('./fuzz-server.ts', import.meta.url));

function startServer(): Promise<{ child: ChildProcess; app: string; csrf: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', serverPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const reap = () => child.exitCode === null && child.pid && process.kill(child.pid, 'SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
  return new Promise((resolve, reject) => {
    let output = '';
    let errors = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      errors = (errors + chunk).slice(-4000);
    });
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const line = /^\{"app":(\d+),"csrf":(\d+)\}$/m.exec(output);
      if (line) resolve({ child, app: `http://127.0.0.1:${line[1]}`, csrf: `http://127.0.0.1:${line[2]}` });
    });
    child.once('exit', (code) => reject(new Error(`fuzz server exited with ${code}: ${errors}`)));
  });
}

interface Account {
  jar: Map<string, string>;
  userId: string;
  /** CSRF tokens the server handed this session (any of them is valid). */
  tokens: Set<string>;
  uses: number;
}

const ok = (status: unknown) => typeof status === 'number' && status >= 200 && status < 300;

/** Runs at least `requests` fuzzed requests, `concurrency` properties at a time. */
export async function runFuzz(options: {
  requests: number;
  concurrency: number;
  seed: number;
  /** Stops here even short of `requests`; the result says how many ran. */
  maxMs: number;
}): Promise<FuzzResult> {
  const started = Date.now();
  const deadline = started + options.maxMs;
  const server = await startServer();
  let crashed = false;
  let stopping = false;
  server.child.once('exit', () => {
    crashed = !stopping;
  });
  const app = createRequester(server.app, { sockets: options.concurrency * 2, timeoutMs: 10_000 });
  const csrfApp = createRequester(server.csrf, { sockets: options.concurrency * 2, timeoutMs: 10_000 });
  const result: FuzzResult = {
    requests: 0,
    byProperty: {},
    status500: 0,
    crashed: false,
    failures: [],
    durationMs: 0,
  };
  const issued: Issued = { cookies: [], csrfTokens: [] };
  const everIssued = new Set<string>();

  const send = async (requester: Requester, property: string, request: Parameters<Requester['send']>[0]) => {
    let answer = await requester.send(request);
    // A keep-alive socket the server closed just as it was reused: the client's race, not the server's.
    if (answer.status === 'conn-error') answer = await requester.send(request);
    result.requests++;
    result.byProperty[property] = (result.byProperty[property] ?? 0) + 1;
    if (answer.status === 500) result.status500++;
    for (const line of answer.setCookies) {
      const value = /^[^=]+=([^;]*)/.exec(line)?.[1];
      if (!value || everIssued.has(value)) continue;
      everIssued.add(value);
      issued.cookies.push(value);
      if (issued.cookies.length > 256) issued.cookies.shift();
    }
    return answer;
  };
  const signIn = async (account: Account) => {
    account.jar.clear();
    account.tokens.clear();
    applyCookies(
      account.jar,
      (
        await send(app, 'sign-in', {
          method: 'POST',
          path: '/login',
          body: JSON.stringify({ userId: account.userId }),
        })
      ).setCookies,
    );
    account.uses = 0;
  };
  const signInCsrf = async (account: Account) => {
    account.jar.clear();
    const pre = await send(csrfApp, 'sign-in', { method: 'GET', path: '/csrf' });
    applyCookies(account.jar, pre.setCookies);
    const { token } = JSON.parse(pre.body) as { token: string };
    const login = await send(csrfApp, 'sign-in', {
      method: 'POST',
      path: '/login',
      headers: { ...cookieHeader(account.jar), origin: FUZZ_ORIGIN, 'x-csrf-token': token },
      body: JSON.stringify({ userId: account.userId }),
    });
    if (!ok(login.status)) throw new Error(`CSRF app sign-in answered ${login.status}`);
    applyCookies(account.jar, login.setCookies);
    account.tokens = new Set([(JSON.parse(login.body) as { token: string }).token]);
    issued.csrfTokens.push(...account.tokens);
  };
  const accounts = (prefix: string) =>
    Array.from({ length: options.concurrency }, (_, i) => ({
      jar: new Map(),
      userId: `${prefix}${i}`,
      tokens: new Set<string>(),
      uses: 0,
    }));
  const cookieAccounts: Account[] = accounts('c');
  const csrfAccounts: Account[] = accounts('x');
  for (const account of cookieAccounts) await signIn(account);
  for (const account of csrfAccounts) await signInCsrf(account);

  // Whether a Cookie header carries a value the server issued: exactly, as some pair's value
  // (percent-decoded or not), or anywhere inside it for the recent ones mutations start from.
  const issuedIn = (header: string) => {
    const decode = (text: string) => {
      try {
        return decodeURIComponent(text);
      } catch {
        return text;
      }
    };
    const values = header.split(/[;,]/).map((pair) =>
      pair
        .slice(pair.indexOf('=') + 1)
        .trim()
        .replace(/^"|"$/g, ''),
    );
    if (values.some((value) => everIssued.has(value) || everIssued.has(decode(value)))) return true;
    const decoded = decode(header);
    return issued.cookies.some((value) => header.includes(value) || decoded.includes(value));
  };

  // Cookie headers (forged, mutated from issued ones, or raw) on an authenticated route.
  const cookieProperty = fc.asyncProperty(cookieArbitrary(issued), async (cookie) => {
    const answer = await send(app, 'cookie', { method: 'GET', path: '/me', headers: { cookie } });
    if (answer.status === 500 || typeof answer.status !== 'number')
      throw new Error(`answered ${answer.status}`);
    if (ok(answer.status) && !issuedIn(cookie))
      throw new Error(`a cookie never issued answered ${answer.status}`);
  });
  // Session data of any JSON shape written by a signed-in user: stored or refused, never a 500, and
  // the session stays the user's. Each worker has its own account, so no two requests race on it.
  const dataProperty = (account: Account) =>
    fc.asyncProperty(dataArbitrary(), async (body) => {
      if (account.uses++ >= 20) await signIn(account);
      const written = await send(app, 'data', {
        method: 'POST',
        path: '/set',
        headers: cookieHeader(account.jar),
        body,
      });
      applyCookies(account.jar, written.setCookies);
      if (typeof written.status !== 'number' || written.status >= 500)
        throw new Error(`answered ${written.status}`);
      const me = await send(app, 'data', { method: 'GET', path: '/me', headers: cookieHeader(account.jar) });
      const userId = me.status === 200 ? (JSON.parse(me.body) as { userId: string }).userId : null;
      if (userId !== account.userId)
        throw new Error(`after the write, GET /me answered ${me.status} for ${userId}`);
    });
  // CSRF tokens on a signed-in JSON API route: only a token issued to this session passes.
  const csrfProperty = (account: Account) =>
    fc.asyncProperty(csrfTokenArbitrary(issued), async (token) => {
      const answer = await send(csrfApp, 'csrf', {
        method: 'POST',
        path: '/api/transfer',
        headers: { ...cookieHeader(account.jar), origin: FUZZ_ORIGIN, 'x-csrf-token': token },
        body: '{}',
      });
      if (answer.status === 500 || typeof answer.status !== 'number')
        throw new Error(`answered ${answer.status}`);
      if (ok(answer.status) && !account.tokens.has(token))
        throw new Error(`a token never issued answered ${answer.status}`);
    });

  let batch = 0;
  const worker = async (index: number) => {
    const properties = [
      cookieProperty,
      dataProperty(cookieAccounts[index]!),
      csrfProperty(csrfAccounts[index]!),
    ];
    while (
      result.requests < options.requests &&
      !crashed &&
      result.failures.length < 3 &&
      Date.now() < deadline
    ) {
      const seed = options.seed + batch++;
      const property = properties[seed % properties.length]!;
      const outcome = await fc.check(property as fc.IAsyncProperty<[string]>, {
        numRuns: 200,
        seed,
        endOnFailure: true,
      });
      if (outcome.failed)
        result.failures.push(`seed ${seed}: ${fc.defaultReportMessage(outcome)?.slice(0, 2000)}`);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, i) => worker(i)));
  app.close();
  csrfApp.close();
  if (!crashed) {
    stopping = true;
    const exited = new Promise((resolve) => server.child.once('exit', resolve));
    process.kill(server.child.pid!, 'SIGTERM');
    await exited;
  }
  result.crashed = crashed;
  result.durationMs = Date.now() - started;
  return result;
}
