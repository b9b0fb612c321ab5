import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';

// Reading activity failures in workflow code. The activity side (src/activities/provider/failure-mapping.ts)
// puts the HTTP facts into the ApplicationFailure: `type` names the outcome (one of the failure
// list in src/core/failures.ts), details[0] holds { status, scimType, detail, method, path }.

function applicationCause(err: unknown): ApplicationFailure | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure ? cause : undefined;
}

/** The failure type set by the activity (e.g. ScimPreconditionFailed), if any. */
export function failureTypeOf(err: unknown): string | undefined {
  return applicationCause(err)?.type ?? undefined;
}

/** The HTTP status an activity failure carries, if any. */
export function httpStatusOf(err: unknown): number | undefined {
  const details = applicationCause(err)?.details?.[0] as { status?: unknown } | undefined;
  const status = Number(details?.status);
  return Number.isFinite(status) && status > 0 ? status : undefined;
}

/** The innermost human-readable message of a (possibly wrapped) failure. */
export function messageOf(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return messageOf(err.cause);
  return err instanceof Error ? err.message : String(err);
}
