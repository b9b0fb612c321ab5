// The project's own metrics, exported with the Temporal runtime's on the worker's /metrics
// (CXONE_SCIM_METRICS_ADDRESS, runtime.ts): workflows record them through `metricMeter` of
// @temporalio/workflow (skipped while a history replays, so a replay never counts twice),
// activities through their context's meter. Pure names and buckets: importable from workflows.
//
// Labels: `tenant` (a configured tenant id), `job` (the workflow type that did the work) and a
// few bounded ones (`outcome`, `method`, `status_class`); never a user, a record or a workflow id.

/** Metric names (Prometheus); the Grafana dashboard (ops/grafana) queries exactly these. */
export const METRIC = {
  /** Counter {tenant, job, outcome}: records written, by outcome (RecordOutcome). */
  records: 'cxone_scim_records_total',
  /** Counter {tenant, job, method, status_class}: provider HTTP responses (`2xx`…`5xx`, `network` for no answer). */
  providerResponses: 'cxone_scim_provider_responses_total',
  /** Counter {tenant, job, method}: 429 Too Many Requests answers. */
  throttled: 'cxone_scim_provider_throttled_total',
  /** Histogram {tenant, job}, seconds: each wait a 429 / 503 asked for with Retry-After. */
  retryAfterWait: 'cxone_scim_retry_after_wait_seconds',
  /** Gauge {tenant, job}: 1 while a run of this job for this tenant waits for an approval, else 0. */
  approvalsWaiting: 'cxone_scim_approvals_waiting',
  /** Histogram {tenant, job}, seconds: from a lifecycle event's timestamp to the IdP having the change. */
  lifecycleLag: 'cxone_scim_lifecycle_lag_seconds',
} as const;

/**
 * What happened to a record: written (`created`, `updated`, `deactivated`, `reactivated`,
 * `deleted`, `linked` by adoption), found already right (`unchanged`), refused before any call
 * (`invalid`) or failed at the provider (`failed`). Assignment jobs count their own actions
 * (`set-team`, `add-skill`, `set-proficiency`, `remove-skill`).
 */
export type RecordOutcome =
  | 'created'
  | 'updated'
  | 'unchanged'
  | 'deactivated'
  | 'reactivated'
  | 'deleted'
  | 'linked'
  | 'invalid'
  | 'failed'
  | (string & {});

/** Histogram buckets (seconds), given to the runtime's exporter (its defaults stop at 10). */
export const HISTOGRAM_BUCKETS: Record<string, number[]> = {
  [METRIC.retryAfterWait]: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900],
  [METRIC.lifecycleLag]: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600],
};

/** `2xx` … `5xx` for an HTTP status, `network` when no answer came. */
export function statusClassOf(status: number | undefined): string {
  return status === undefined ? 'network' : `${Math.floor(status / 100)}xx`;
}
