/**
 * CPU profile of one server under the authenticated-read load (`node --cpu-prof`), reduced to the
 * functions with the most self time and the modules they live in.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerSpec } from '../config.js';
import { CASES } from '../config.js';
import { type BenchContext, measure } from './measure.js';
import { startServer } from './servers.js';

export interface HotSpot {
  name: string;
  percent: number;
}

export interface Profile {
  server: string;
  functions: HotSpot[];
  modules: HotSpot[];
}

interface CpuProfile {
  startTime: number;
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

function where(url: string): string {
  if (!url) return '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  const source =
    /\/work\/[^/]+\/(?:main\/)?((?:src|bench)\/.+)$/.exec(url) ?? /\/((?:src|bench)\/.+)$/.exec(url);
  return source ? source[1]! : url.replace(/^file:\/\//, '');
}

function top(map: Map<string, number>, total: number, count: number): HotSpot[] {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, time]) => ({ name, percent: (100 * time) / total }));
}

/** Monotonic clock in microseconds: the clock V8 stamps profile samples with. */
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

/** Self time per function and per module, from samples inside `window` (monotonic µs) only. */
export function reduceProfile(server: string, profile: CpuProfile, window: [number, number]): Profile {
  const byId = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const functions = new Map<string, number>();
  const modules = new Map<string, number>();
  let total = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id);
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < window[0] || at > window[1]) return;
    if (!frame || frame.functionName === '(idle)' || frame.functionName === '(program)') return;
    total += delta;
    const file = where(frame.url);
    // Line numbers are left out: tsx-compiled sources report positions in the compiled text.
    const name = frame.url ? `${frame.functionName || '(anonymous)'} (${file})` : frame.functionName;
    functions.set(name, (functions.get(name) ?? 0) + delta);
    const module = frame.functionName === '(garbage collector)' ? '(garbage collector)' : file;
    modules.set(module, (modules.get(module) ?? 0) + delta);
  });
  return { server, functions: top(functions, total || 1, 15), modules: top(modules, total || 1, 10) };
}

export async function profileServer(
  spec: ServerSpec,
  env: Record<string, string>,
  context: BenchContext,
): Promise<Profile> {
  const dir = mkdtempSync(join(context.workDir, 'prof-'));
  const server = await startServer(spec, env, ['--cpu-prof', '--cpu-prof-dir', dir]);
  const read = CASES.find((c) => c.id === 'read')!;
  let window: [number, number];
  try {
    await measure(server, read, context, 'profile-warmup', 1);
    const start = monotonicUs();
    await measure(server, read, context, 'profile', Math.max(2, context.settings.durationSec));
    window = [start, monotonicUs()];
  } finally {
    await server.stop();
  }
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no profile written for ${spec.id}`);
  return reduceProfile(spec.id, JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile, window);
}
