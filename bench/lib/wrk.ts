/**
 * Runs wrk pinned to the load generator's core with one of the case scripts in bench/lua, and reads
 * the summary line that bench/lua/common.lua prints.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { USER_AGENT } from './sessions.js';

export type WrkScript = 'read' | 'mix' | 'login' | 'logout';

export interface WrkResult {
  requests: number;
  durationUs: number;
  rps: number;
  p50Us: number;
  p99Us: number;
  /** Socket errors plus responses outside 2xx/3xx. */
  errors: number;
  /** The logout pool ran out before the end of the run. */
  exhausted: boolean;
}

export interface WrkRun {
  binary: string;
  core: number;
  url: string;
  script: WrkScript;
  args: string[];
  durationSec: number;
  connections: number;
  /** Where the combined script is written. */
  workDir: string;
}

const luaDir = new URL('../lua/', import.meta.url);

function scriptFile(workDir: string, script: WrkScript): string {
  const path = join(workDir, `${script}.lua`);
  const common = readFileSync(new URL('common.lua', luaDir), 'utf8');
  const body = readFileSync(new URL(`${script}.lua`, luaDir), 'utf8');
  writeFileSync(path, `USER_AGENT = ${JSON.stringify(USER_AGENT)}\n${common}\n${body}`);
  return path;
}

export function runWrk(run: WrkRun): Promise<WrkResult> {
  const script = scriptFile(run.workDir, run.script);
  const args = [
    '-c',
    String(run.core),
    run.binary,
    '-t1',
    `-c${run.connections}`,
    `-d${Math.max(1, Math.round(run.durationSec))}s`,
    '--timeout',
    '5s',
    '--latency',
    '-s',
    script,
    run.url,
    '--',
    ...run.args,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), (run.durationSec + 30) * 1000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const line = /^BENCH (\{.*\})$/m.exec(stdout)?.[1];
      if (code !== 0 || !line) {
        reject(new Error(`wrk failed (exit ${code}): ${stderr.trim() || stdout.trim()}`));
        return;
      }
      const raw = JSON.parse(line) as Record<string, number>;
      const n = (key: string) => raw[key] ?? 0;
      resolve({
        requests: n('requests'),
        durationUs: n('durationUs'),
        rps: n('requests') / (n('durationUs') / 1e6),
        p50Us: n('p50Us'),
        p99Us: n('p99Us'),
        errors: n('connect') + n('read') + n('write') + n('status') + n('timeout'),
        exhausted: stderr.includes('POOL_EXHAUSTED'),
      });
    });
  });
}
