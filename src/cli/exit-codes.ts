// What the CLI's exit code means, so that CI can gate on it, and how errors are printed.
import { isGrpcServiceError } from '@temporalio/client';
import type { WorkflowReport } from '../workflows/report';

/**
 * Exit codes of `configure`, `provision` and `watch` (documented in docs/workflows.md):
 *   0  done: every record provisioned, or the configuration applied / already in sync
 *   1  error: the run failed (or provisioned none of a non-empty source), or the command could not run
 *   2  partial: the run finished, but some records were invalid or failed (or it was quarantined)
 *   3  drift: `configure --verify` found the provider's configuration differs from the desired one
 *   4  not published: `configure` found the provider publishes no ServiceProviderConfig (404, 405 or
 *      501 to its GET, or a body that is not one, as NICE's CXone): nothing compared, nothing written
 */
export const ExitCode = { Done: 0, Error: 1, Partial: 2, Drift: 3, NotPublished: 4 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit code a finished run's report calls for. */
export function exitCodeOf(report: Pick<WorkflowReport, 'status' | 'result'>): ExitCode {
  switch (report.status) {
    case 'succeeded': {
      const result = report.result as { mode?: unknown; inSync?: unknown; published?: unknown } | undefined;
      if (result?.published === false) return ExitCode.NotPublished;
      return result?.mode === 'verify' && result.inSync === false ? ExitCode.Drift : ExitCode.Done;
    }
    case 'partial':
    case 'quarantined':
      return ExitCode.Partial;
    default:
      return ExitCode.Error;
  }
}

/** A CLI mistake (arguments, files): printed without a stack, exit code 1. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

function ownMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // gRPC errors carry the server's words in `details`; their message repeats the status code.
  if (isGrpcServiceError(err) && err.details) return err.details;
  return err.message;
}

/** The error and its causes, one per line ("caused by: …"), repeated messages left out. */
export function describeError(err: unknown): string {
  const lines: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 10; depth++) {
    const message = ownMessage(current).trim();
    if (message && !lines.some((line) => line.includes(message))) lines.push(message);
    current = current instanceof Error ? (current as Error & { cause?: unknown }).cause : undefined;
  }
  return lines.map((line, i) => (i === 0 ? line : `  caused by: ${line}`)).join('\n');
}

/** True when the error says Temporal could not be reached (gRPC UNAVAILABLE or DEADLINE_EXCEEDED anywhere in its causes). */
export function isTemporalUnreachable(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; current instanceof Error && depth < 10; depth++) {
    if (isGrpcServiceError(current) && (current.code === GRPC_UNAVAILABLE || current.code === GRPC_DEADLINE_EXCEEDED))
      return true;
    current = (current as Error & { cause?: unknown }).cause;
  }
  return false;
}

const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_UNAVAILABLE = 14;
