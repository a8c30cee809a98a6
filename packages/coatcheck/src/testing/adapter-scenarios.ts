import type { SessionStore } from '../core/store/store.js';
import type { AdapterUnderTest } from './adapter-suite.js';
import { lifecycleScenarios } from './scenarios-lifecycle.js';
import { securityScenarios } from './scenarios-security.js';
import { timeScenarios } from './scenarios-time.js';

/** What every scenario gets: the adapter, and the suite's store (made on first use). */
export interface ScenarioContext {
  adapter: AdapterUnderTest;
  store: () => Promise<SessionStore>;
}

/** One behaviour the suite checks: a title for the report, and the check. */
export interface Scenario {
  title: string;
  run(context: ScenarioContext): Promise<void>;
}

/** Every scenario by its stable name: the names an adapter lists in `unsupported`. */
export const scenarios = {
  ...lifecycleScenarios,
  ...timeScenarios,
  ...securityScenarios,
} satisfies Record<string, Scenario>;

/** The name of a scenario of the adapter behaviour suite. */
export type AdapterScenario = keyof typeof scenarios;
