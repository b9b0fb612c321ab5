// provisionUsers without Bulk: one activity per slice of records writes them one resource at a
// time (resource-writes.ts), a few at once. It heartbeats how far it has got — the records done
// in order, with their counts — and a retried attempt (a worker crash, a heartbeat timeout)
// resumes from there instead of starting the slice over.
import { Context } from '@temporalio/activity';
import type { ChunkDescriptor } from '../scim/bulk-plan';
import { emptyCounts, type RecordCounts } from '../core/tally';
import type { WriteCapabilities } from '../scim/user-match';
import type { ChunkSubmission } from './bulk-chunks';
import type { ActivityDeps } from './deps';
import { asActivity, dialectFor, scimClientFor } from './deps';
import { chunkEntries, type ChunkSource, type RecordFailure } from './provisioning';
import { writeRecord, type RecordOutcome } from './provider/resource-writes';

export interface SliceInput {
  tenant: string;
  source: ChunkSource;
  chunk: ChunkDescriptor;
  /** The User endpoint from /ResourceTypes. */
  endpoint: string;
  capabilities: WriteCapabilities;
  /** Epoch ms until which retryable failures are retried. */
  deadline: number;
  /** Records of the slice written at once. */
  recordsInFlight: number;
  maxReported: number;
}

/** What a heartbeat carries: the first `done` records of the slice are settled, with these results. */
interface SliceProgress {
  done: number;
  counts: RecordCounts;
  failures: RecordFailure[];
}

function resumedProgress(context: Context | undefined, records: number): SliceProgress {
  const details = context?.info.heartbeatDetails as Partial<SliceProgress> | undefined;
  if (
    details &&
    Number.isInteger(details.done) &&
    (details.done as number) <= records &&
    details.counts &&
    Array.isArray(details.failures)
  ) {
    return { done: details.done as number, counts: { ...details.counts }, failures: [...details.failures] };
  }
  return { done: 0, counts: emptyCounts(), failures: [] };
}

function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // called as a plain function (benchmark baseline)
  }
}

/** Writes every record of the slice; each ends created, updated, unchanged or failed with a reason. */
export async function writeSlice(deps: ActivityDeps, input: SliceInput): Promise<ChunkSubmission> {
  const started = Date.now();
  const entries = await chunkEntries(input.tenant, input.source, input.chunk);
  const context = currentContext();
  const progress = resumedProgress(context, entries.length);
  const ctx = {
    client: scimClientFor(deps, input.tenant),
    endpoint: input.endpoint,
    capabilities: input.capabilities,
    deadline: input.deadline,
    dialect: dialectFor(deps, input.tenant),
  };
  const outcomes: Array<RecordOutcome | undefined> = [];
  // Settled records count once the ones before them are settled too, so that `done` is a position.
  const advance = () => {
    while (progress.done < entries.length && outcomes[progress.done] !== undefined) {
      const outcome = outcomes[progress.done] as RecordOutcome;
      if (outcome.kind === 'failed') {
        progress.counts.failed++;
        if (progress.failures.length < input.maxReported) progress.failures.push(outcome.failure);
      } else progress.counts[outcome.kind]++;
      outcomes[progress.done] = undefined;
      progress.done++;
    }
  };
  const heartbeat = setInterval(() => context?.heartbeat(progress), 1000);
  try {
    let next = progress.done;
    const workers = Array.from(
      { length: Math.max(1, Math.min(input.recordsInFlight, entries.length - next)) },
      async () => {
        while (next < entries.length) {
          const i = next++;
          outcomes[i] = await writeRecord(ctx, entries[i]);
          advance();
        }
      },
    );
    await Promise.all(workers);
  } finally {
    clearInterval(heartbeat);
  }
  return {
    state: 'completed',
    mode: 'per-resource',
    durationMs: Date.now() - started,
    ...progress.counts,
    failures: progress.failures,
    retry: [],
    retryReasons: [],
  };
}

export function createResourceSliceActivities(deps: ActivityDeps) {
  return {
    /** Writes a slice of records one resource at a time (no Bulk): verified lookup, POST, PATCH/PUT only when different. */
    async writeResourceSlice(input: SliceInput): Promise<ChunkSubmission> {
      return asActivity(() => writeSlice(deps, input));
    },
  };
}
