import type { Duration } from '@temporalio/common';
import type { ActivityOptions } from '@temporalio/workflow';

/**
 * Retry policy for provider calls. Which failures retry is decided by the activity (the HTTP
 * outcome mapping marks 400/403/404/409/412 non-retryable and sets the next delay from
 * Retry-After on 429/503); this only shapes the backoff for the retryable ones.
 */
export const PROVIDER_CALL: ActivityOptions = {
  startToCloseTimeout: '60 seconds',
  retry: {
    initialInterval: '500 milliseconds',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 8,
  },
};

/** Retryable failures of a provider call are retried for this long at most, then the run sees them. */
export const RETRY_CAP = '5 seconds';

/**
 * Retry policy for the apply activities of a sync run: retryable failures are retried for the
 * run's `runDeadline` (checked, default 6 hours: checkSyncRunOptions), never by an attempt count, with the backoff capped at
 * RETRY_CAP. Retry-After still wins.
 */
export function providerCallFor(runDeadline: Duration, options: ActivityOptions): ActivityOptions {
  return {
    ...options,
    scheduleToCloseTimeout: runDeadline,
    retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: RETRY_CAP },
  };
}

/**
 * Retry policy for a run with a retry deadline (provisionUsers): retryable failures are retried
 * until the deadline (epoch ms, workflow time), never by an attempt count, with a backoff capped
 * at 5 s so that the run resumes within 5 s of the provider coming back. Retry-After still wins.
 */
export function providerCallUntil(deadline: number, options: ActivityOptions = {}): ActivityOptions {
  return {
    ...PROVIDER_CALL,
    ...options,
    scheduleToCloseTimeout: Math.max(1000, deadline - Date.now()),
    retry: { initialInterval: '250 milliseconds', backoffCoefficient: 2, maximumInterval: RETRY_CAP },
  };
}
