export type {
  AdapterBehaviourOptions,
  AdapterScenario,
  AdapterSessionOptions,
  AdapterSetup,
  AdapterUnderTest,
  RunningAdapter,
} from './adapter-suite.js';
export { runAdapterBehaviour } from './adapter-suite.js';
export type { ConformanceOptions } from './conformance.js';
export { makeRecord, runStoreConformance } from './conformance.js';
export { makeRememberedDevice } from './conformance-remembered.js';
