// What a worker process and its tenant's tenantRateLimiter workflow say to each other (the
// fleet-wide request limit; docs/fleet.md "One rate limit for the fleet"). Names and shapes here
// are recorded in the limiter's history: change none of them.

/** Slice length: a grant lasts at most this long, and a Retry-After reaches the whole fleet within 1.5 slices. */
export const SLICE_MS = 1000;

export const REQUEST_BUDGET_UPDATE = 'requestBudget';
export const PAUSE_REQUESTS_SIGNAL = 'pauseRequests';

/**
 * The one limiter workflow of a tenant on a task queue (Temporal keeps a single running workflow
 * per id). It runs on that task queue, so the workers that ask are the ones that keep it alive: a
 * limiter left on a queue nobody polls any more (another deployment's) is never asked.
 */
export function rateLimiterWorkflowId(taskQueue: string, tenant: string): string {
  return `tenant-rate-limiter-${taskQueue}-${tenant}`;
}

export interface FleetLimits {
  /** Requests started per second by all workers together. */
  requestsPerSecond?: number;
  /** Requests in flight at once across all workers. */
  concurrency?: number;
}

export interface BudgetRequest {
  /** Which worker process asks (one id per process). */
  worker: string;
  /** The slice asked for: [slice × SLICE_MS, (slice + 1) × SLICE_MS) in epoch ms. */
  slice: number;
  /** The worker's clock when it asked (epoch ms): a grant for the running slice starts no earlier. */
  now: number;
  /** Requests per second the worker could use; omitted: as much as its fair share. */
  wantRate?: number;
  /** The tenant's configured limits, as this worker knows them. */
  limits: FleetLimits;
}

export interface BudgetGrant {
  slice: number;
  /** The worker may start requests at `requestsPerSecond` from `from` until `until` (epoch ms). */
  from: number;
  until: number;
  /** Absent: no rate limit configured. */
  requestsPerSecond?: number;
  /** Absent: no concurrency limit configured. */
  concurrency?: number;
  /** No request of the tenant before this (a Retry-After some worker got); 0 when none. */
  pausedUntil: number;
  /** Workers that share the slice (for a fallback share when the limiter cannot be reached). */
  workers: number;
}
