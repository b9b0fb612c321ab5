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
