import { ApplicationFailure } from '@temporalio/activity';
import { OAuthError, ScimForeignUrlError, ScimHttpError, ScimNetworkError } from '../../http';
import { FailureType, failureTypeForStatus, isRetryable } from '../../core/failures';

/**
 * The one mapping from an HTTP outcome to the failure an activity throws. The type comes from the
 * failure list (src/core/failures.ts) and so does retrying: only `retryable` types are retried;
 * `fatal` and `per-record` ones are non-retryable and the workflow decides what they stop.
 */
export function toActivityFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof ScimHttpError)
    return failure(err.message, failureTypeForStatus(err.status), err.summary(), err.retryAfterMs, err.persistent);
  if (err instanceof ScimNetworkError) return failure(err.message, FailureType.NetworkError, err.summary());
  if (err instanceof OAuthError) {
    const type = err.transient ? FailureType.OAuthUnavailable : FailureType.OAuthFailed;
    return failure(err.message, type, err.summary(), err.retryAfterMs);
  }
  if (err instanceof ScimForeignUrlError) return failure(err.message, FailureType.ForeignUrl, { origin: err.origin });
  return ApplicationFailure.fromError(err);
}

function failure(
  message: string,
  type: FailureType,
  details: object,
  retryAfterMs?: number,
  persistent?: number,
): ApplicationFailure {
  // A 5xx this request got identically while the tenant answered others: retrying will not cure it.
  const retryable = isRetryable(type) && !persistent;
  return ApplicationFailure.create({
    message,
    type,
    nonRetryable: !retryable,
    details: [details],
    // The server's Retry-After, when it gave one, beats the retry policy's backoff. A zero delay
    // is left to the policy: Temporal treats a nextRetryDelay of 0 as "no retry".
    ...(retryable && retryAfterMs !== undefined && retryAfterMs > 0 ? { nextRetryDelay: retryAfterMs } : {}),
  });
}
