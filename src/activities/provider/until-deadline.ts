// Retrying one provider call inside an activity until the run's deadline, never by a small
// attempt count: an outage of any length up to the deadline loses nothing. The backoff is capped
// at 5 s so that work resumes within 5 s of the provider coming back; a Retry-After is honoured
// (the tenant's request gate also holds every other request back until then).
import { ScimHttpError, ScimNetworkError } from '../../http';
import { isTransient } from './existing-user';

export const RETRY_FIRST_MS = 250;
export const RETRY_CAP_MS = 5000;

/** A retryable failure was still happening when the run's deadline passed. */
export class DeadlinePassedError extends Error {
  override readonly name = 'DeadlinePassedError';
  constructor(
    readonly last: Error,
    attempts: number,
  ) {
    super(`still failing at the run's retry deadline after ${attempts} attempts: ${last.message}`);
  }
}

/** 429, 5xx (but 501), connection refused/reset, timeouts; not a 5xx found persistent (src/http/dialect.ts). */
export function isRetryable(err: unknown): err is ScimHttpError | ScimNetworkError {
  return (
    err instanceof ScimNetworkError || (err instanceof ScimHttpError && isTransient(err.status) && !err.persistent)
  );
}

export interface RetryClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: RetryClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Calls `call` until it succeeds, fails non-retryably, or `deadline` (epoch ms) passes. */
export async function untilDeadline<T>(
  deadline: number,
  call: () => Promise<T>,
  clock: RetryClock = realClock,
): Promise<T> {
  let backoff = RETRY_FIRST_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!isRetryable(err)) throw err;
      const retryAfter = err instanceof ScimHttpError ? (err.retryAfterMs ?? 0) : 0;
      const wait = Math.max(Math.min(backoff, RETRY_CAP_MS), retryAfter);
      if (clock.now() + wait > deadline) throw new DeadlinePassedError(err, attempt);
      await clock.sleep(wait);
      backoff = Math.min(backoff * 2, RETRY_CAP_MS);
    }
  }
}
