import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CASES, SERVERS, type StoreKind } from '../../bench/config.js';
import { findPostgres } from '../../bench/lib/postgres.js';
import { requireBinary } from '../support/servers.js';

const run = promisify(execFile);

const wrk = requireBinary('wrk');
const binaries: Record<StoreKind, string | null | true> = {
  none: true,
  memory: true,
  sqlite: true,
  redis: requireBinary('redis-server'),
  postgres: findPostgres() ?? requireBinary('postgres'),
};

interface CaseRow {
  rps: number;
  errors: number;
  requests: number;
}

interface Report {
  skipped: Record<string, string>;
  results: Record<string, Record<string, CaseRow>>;
  renewal: { server: string; errors: number; requests: number }[];
  paired: { subject: string; ratios: number[]; errors: number }[];
  targets: { id: string }[];
  scale: {
    store: string;
    status: string;
    reason?: string;
    reads: { sample: CaseRow; samples: CaseRow[]; scavengeMs: number | null }[];
    p99Ratios: number[];
    userOps: unknown[];
  }[];
  memory: { met: boolean } | null;
}

describe('benchmark harness in --smoke mode', { skip: wrk === null && 'wrk is not installed' }, () => {
  it('runs every server on every case with zero errors and writes the report', {
    timeout: 600_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coatcheck-smoke-'));
    const markdown = join(dir, 'results.md');
    const json = join(dir, 'results.json');
    try {
      await run(
        process.execPath,
        ['--import', 'tsx', 'bench/run.ts', '--smoke', '--out', markdown, '--json', json],
        {
          timeout: 580_000,
          maxBuffer: 16 * 2 ** 20,
        },
      );
      const report = JSON.parse(readFileSync(json, 'utf8')) as Report;
      const text = readFileSync(markdown, 'utf8');

      for (const spec of SERVERS) {
        const runnable = spec.requires.every((file) => existsSync(file)) && binaries[spec.store] !== null;
        if (spec.pairedOnly) {
          // A reference measured in the paired runs only: a row of that table, in no other.
          if (!runnable) continue;
          const paired = report.paired.find((run) => run.subject === spec.id);
          assert.ok(paired && paired.ratios.length > 0, `${spec.id} ran in the paired runs`);
          assert.equal(paired.errors, 0, `${spec.id} had no errors`);
          assert.ok(text.includes(`| ${spec.label} |`), `${spec.label} has a paired row`);
          assert.equal(report.results[spec.id], undefined, `${spec.id} is not a row of the matrix`);
          continue;
        }
        assert.ok(text.includes(`| ${spec.label} |`), `${spec.label} has a row in the report`);
        if (!runnable) {
          assert.ok(report.skipped[spec.id], `${spec.id} is skipped with a reason`);
          continue;
        }
        assert.equal(report.skipped[spec.id], undefined, `${spec.id} ran (${report.skipped[spec.id]})`);
        for (const caseSpec of CASES) {
          const row = report.results[spec.id]?.[caseSpec.id];
          assert.ok(row, `${spec.id} has a ${caseSpec.id} result`);
          assert.equal(row.errors, 0, `${spec.id} ${caseSpec.id} had no errors`);
          assert.ok(row.requests > 0, `${spec.id} ${caseSpec.id} served requests`);
        }
        if (spec.coatcheck) {
          const check = report.renewal.find((c) => c.server === spec.id);
          assert.ok(
            check && check.errors === 0 && check.requests > 0,
            `${spec.id} renewal check ran cleanly`,
          );
        }
      }
      assert.deepEqual(
        report.targets.map((t) => t.id),
        ['T1', 'T2', 'T3', 'T4', 'T5', 'T6', 'T7', 'T8', 'T9', 'T10', 'T11', 'T12', 'T13'],
      );
      for (const scale of report.scale) {
        if (binaries[scale.store as StoreKind] === null || scale.reason?.includes('source tree')) continue;
        assert.equal(scale.status, 'ran', `${scale.store} scale run (${scale.reason ?? ''})`);
        assert.equal(scale.reads.length, 2);
        for (const read of scale.reads) {
          assert.ok(
            read.samples.length > 0 && read.samples.every((run) => run.errors === 0 && run.requests > 0),
          );
          assert.ok(
            read.scavengeMs !== null && read.scavengeMs > 0,
            `${scale.store}: the server's scavenges were read`,
          );
        }
        assert.equal(scale.p99Ratios.length, scale.reads[0]!.samples.length);
        assert.ok(scale.userOps.length > 0);
      }
      assert.equal(report.memory?.met, true, 'the memory store stayed within maxSessions');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
