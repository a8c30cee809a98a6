/**
 * Runs one scenario end to end: store, 3 apps behind HAProxy, signed-in users, the load with the
 * fault in it, then every acknowledged write read back and the store's records counted. Returns
 * the figures the report shows and the invariants it checks.
 */
import type { Counts } from './backends.js';
import { startFleet } from './fleet.js';
import { type LoadRecord, populate, runLoad, verify } from './load.js';
import type { Marks, Scenario, Timing } from './scenarios.js';

export interface LoadSettings extends Timing {
  rate: number;
  durationMs: number;
  writers: number;
  signIns: number;
}

export interface ScenarioResult {
  name: string;
  what: string;
  keepsData: boolean;
  record: LoadRecord;
  marks: Marks | null;
  /** Milliseconds from `backAt` to the first 2xx, and to the end of the last failed response. */
  firstOkMs: number | null;
  errorsStopMs: number | null;
  status500: number;
  lost: number;
  unreadable: number;
  liveSessions: number;
  counts: Counts;
  deaths: string[];
  /** Invariants that failed, in words; empty when the scenario passed. */
  failures: string[];
}

const failed = (status: number | string) => typeof status !== 'number' || status >= 500;

/** Recovery times measured from `backAt`: the first 2xx after it, and when failures stopped. */
export function recovery(
  record: LoadRecord,
  marks: Marks | null,
): Pick<ScenarioResult, 'firstOkMs' | 'errorsStopMs'> {
  if (!marks) return { firstOkMs: null, errorsStopMs: null };
  const after = record.events.filter((event) => event.at >= marks.backAt);
  const firstOk = after.find((event) => typeof event.status === 'number' && event.status < 300);
  const lastError = record.events.filter((event) => event.at >= marks.faultAt && failed(event.status)).at(-1);
  return {
    firstOkMs: firstOk ? firstOk.at - marks.backAt : null,
    errorsStopMs: lastError ? Math.max(0, lastError.at - marks.backAt) : 0,
  };
}

export async function runScenario(
  scenario: Scenario,
  settings: LoadSettings,
  haproxy: string,
  sample?: (
    fleet: Awaited<ReturnType<typeof startFleet>>,
    count: () => Promise<Counts>,
    elapsed: () => number,
  ) => Promise<void>,
): Promise<ScenarioResult> {
  const { backend, fault } = await scenario.setup();
  let fleet: Awaited<ReturnType<typeof startFleet>> | null = null;
  try {
    fleet = await startFleet({ haproxy, env: backend.env });
    const running = fleet;
    const population = await populate({
      url: fleet.url,
      writers: settings.writers,
      signIns: settings.signIns,
    });
    let marks: Marks | null = null;
    const record = await runLoad(population, settings, async (elapsed) => {
      if (sample) await sample(running, () => backend.count(), elapsed);
      else marks = await fault(running, elapsed, settings);
    });
    const { lost, liveSessions, unreadable } = await verify(population);
    population.requester.close();
    const counts = await backend.count();
    const status500 = record.events.filter((event) => event.status === 500).length;
    const deaths = [...fleet.deaths];
    const failures = [
      ...(status500 > 0 ? [`${status500} responses were 500`] : []),
      ...(deaths.length > 0 ? [`${deaths.length} app process deaths`] : []),
      ...(scenario.keepsData && lost > 0 ? [`${lost} acknowledged writes lost`] : []),
    ];
    return {
      name: scenario.name,
      what: scenario.what,
      keepsData: scenario.keepsData,
      record,
      marks,
      ...recovery(record, marks),
      status500,
      lost,
      unreadable,
      liveSessions,
      counts,
      deaths,
      failures,
    };
  } finally {
    await fleet?.stop();
    await backend.stop();
  }
}
