export type { ConformanceOptions } from './conformance.js';
export { makeRecord, runStoreConformance } from './conformance.js';
