export type { AnomalyOptions, AnomalyReason, AnomalyThreshold } from './anomalies.js';
export { ANOMALY_REASONS, detectAnomalies } from './anomalies.js';
export type { MetricSet, SessionMetrics, SessionMetricsOptions } from './metrics.js';
export { sessionMetrics } from './metrics.js';
export type { TraceStoreOptions } from './tracing.js';
export { traceStore } from './tracing.js';
export type { StoreOperation } from './wrap-store.js';
export { STORE_OPERATIONS } from './wrap-store.js';
