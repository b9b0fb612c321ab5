// The project's metrics recorded from workflow code (names and labels: src/temporal/business-metrics.ts).
// Temporal's workflow `metricMeter` emits nothing while a history replays, so a worker that replays
// a run (after a restart or a cache eviction) never counts its records twice; it emits nothing new
// for a run either until that run's next task.
import { metricMeter, workflowInfo } from '@temporalio/workflow';
import { METRIC, type RecordOutcome } from '../temporal/business-metrics';

const jobOf = () => workflowInfo().workflowType;

/** Adds records by outcome for this workflow's job (zero counts are left out). */
export function countRecords(tenant: string, counts: Partial<Record<RecordOutcome, number>>): void {
  const records = metricMeter.createCounter(METRIC.records, '1', 'Records by outcome');
  const job = jobOf();
  for (const [outcome, n] of Object.entries(counts)) if (n && n > 0) records.add(n, { tenant, job, outcome });
}

/** What a sync job's `applied` counts (by plan action) mean as record outcomes; actions not listed are not writes. */
const SYNC_ACTION_OUTCOMES: Record<string, RecordOutcome | undefined> = {
  create: 'created',
  update: 'updated',
  unchanged: 'unchanged',
  reactivate: 'reactivated',
  deactivate: 'deactivated',
  delete: 'deleted',
  protected: undefined,
  'out-of-scope': undefined,
  empty: undefined,
};

/** Counts a sync job's applied actions (assignment actions keep their names) and its failures. */
export function countSyncRecords(tenant: string, applied: Record<string, number> | undefined, failed: number): void {
  const counts: Record<string, number> = { failed };
  for (const [action, n] of Object.entries(applied ?? {})) {
    const outcome = action in SYNC_ACTION_OUTCOMES ? SYNC_ACTION_OUTCOMES[action] : action;
    if (outcome) counts[outcome] = (counts[outcome] ?? 0) + n;
  }
  countRecords(tenant, counts);
}

/**
 * Marks this job as waiting for an approval for the tenant, until the returned function is called.
 * A gauge of 1 / 0 per tenant and job: two runs of one job for one tenant waiting at once show as
 * one, and the first decided sets 0.
 */
export function approvalWaiting(tenant: string): () => void {
  const gauge = metricMeter.createGauge(METRIC.approvalsWaiting, 'int', '1', 'Runs waiting for an approval');
  const tags = { tenant, job: jobOf() };
  gauge.set(1, tags);
  return () => gauge.set(0, tags);
}

/** Records one change's lag, from the event's timestamp to the IdP having it. */
export function recordLifecycleLag(tenant: string, lagMs: number): void {
  metricMeter
    .createHistogram(METRIC.lifecycleLag, 'float', 's', 'From a lifecycle event to the IdP having the change')
    .record(Math.max(0, lagMs) / 1000, { tenant, job: jobOf() });
}
