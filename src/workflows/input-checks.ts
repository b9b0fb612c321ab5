// Checks of a job's input that every job needs: positive integers, shares, durations. Each refusal
// names the field and the value it got, in a non-retryable ApplicationFailure of the job's failure
// type (InvalidSyncInput, InvalidProvisionInput): the same input would fail the same way again.
// No I/O and no workflow APIs: the CLI parses its duration options with durationMs too.
import { ApplicationFailure, type Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';

/** What a duration may look like, for messages. */
export const DURATION_EXAMPLES = '"24 hours", "90 minutes" or "1 day"';

/**
 * Milliseconds of a Temporal duration (`90 minutes`, `24h`, `1 day`, or a number of ms), or
 * undefined when it does not parse to more than 0 ms.
 */
export function durationMs(value: unknown): number | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  let ms = Number.NaN;
  try {
    ms = msToNumber(value as Duration);
  } catch {
    return undefined;
  }
  return ms > 0 ? ms : undefined;
}

export class InputChecks {
  constructor(private readonly failureType: string) {}

  /** The refusal of `message` (a bound function: `const { invalid } = checks` works). */
  readonly invalid = (message: string): ApplicationFailure =>
    ApplicationFailure.nonRetryable(message, this.failureType);

  /** `value`, or `fallback` when absent; refused unless an integer ≥ 1. */
  positiveInteger(value: number | undefined, name: string, fallback: number): number {
    if (value === undefined) return fallback;
    if (!Number.isInteger(value) || value < 1)
      throw this.invalid(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
    return value;
  }

  /** `value`, or `fallback` when absent; refused unless an integer ≥ 0. */
  count(value: number | undefined, name: string, fallback: number): number {
    if (value === undefined) return fallback;
    if (!Number.isInteger(value) || value < 0)
      throw this.invalid(`${name} must be a whole number (0 or more), got ${JSON.stringify(value)}`);
    return value;
  }

  /** `value`, or `fallback` when absent; refused unless between 0 and 1. */
  share(value: number | undefined, name: string, fallback: number): number {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !(value >= 0 && value <= 1))
      throw this.invalid(`${name} must be between 0 and 1, got ${JSON.stringify(value)}`);
    return value;
  }

  /**
   * `value` as given (timers and activity timeouts take it), or `fallback` when absent; refused
   * unless it parses to a duration of more than 0 ms.
   */
  duration(value: string | undefined, name: string, fallback: Duration): Duration {
    if (value === undefined) return fallback;
    if (durationMs(value) === undefined)
      throw this.invalid(`${name} must be a duration such as ${DURATION_EXAMPLES}, got ${JSON.stringify(value)}`);
    return value as Duration;
  }
}
