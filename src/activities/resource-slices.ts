// provisionUsers without Bulk: one activity per slice of records writes them one resource at a
// time (resource-writes.ts), a few at once. It heartbeats how far it has got — the records done
// in order, with their counts — and a retried attempt (a worker crash, a heartbeat timeout)
// resumes from there instead of starting the slice over.
import { Context } from '@temporalio/activity';
import type { ChunkDescriptor } from '../scim/bulk-plan';
import { emptyCounts, type RecordCounts } from '../core/tally';
import type { JournalEntry } from '../scim/undo';
import type { WriteCapabilities } from '../scim/user-match';
import { storeChunkJournal, type ChunkSubmission } from './bulk-chunks';
import type { ClaimRef } from './claims/claim-store';
import { readJournal, type JournalLink } from './claims/journal';
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
  /** Where the slice's writes are journaled (absent in batches started before journals). */
  journal?: JournalLink;
}

/**
 * What a heartbeat carries: the first `done` records of the slice are settled, with these results;
 * `journal` holds the journal entries of their writes (history carries its reference only).
 */
interface SliceProgress {
  done: number;
  counts: RecordCounts;
  failures: RecordFailure[];
  journal?: ClaimRef;
}

async function resumedProgress(
  context: Context | undefined,
  records: number,
): Promise<SliceProgress & { entries: JournalEntry[] }> {
  const details = context?.info.heartbeatDetails as Partial<SliceProgress> | undefined;
  if (
    details &&
    Number.isInteger(details.done) &&
    (details.done as number) <= records &&
    details.counts &&
    Array.isArray(details.failures)
  ) {
    const entries = details.journal ? ((await readJournal(details.journal)).entries as JournalEntry[]) : [];
    return {
      done: details.done as number,
      counts: { ...details.counts },
      failures: [...details.failures],
      ...(details.journal ? { journal: details.journal } : {}),
      entries,
    };
  }
  return { done: 0, counts: emptyCounts(), failures: [], entries: [] };
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
  const { entries: journal, ...progress } = await resumedProgress(context, entries.length);
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
      } else {
        progress.counts[outcome.kind]++;
        if (outcome.kind !== 'unchanged') journal.push(outcome.journal);
      }
      outcomes[progress.done] = undefined;
      progress.done++;
    }
  };
  // Each second: the position reached, once the journal of the writes up to it is stored.
  let journaled = journal.length;
  let beating: Promise<void> = Promise.resolve();
  const beat = async () => {
    const position: SliceProgress = {
      ...progress,
      counts: { ...progress.counts },
      failures: [...progress.failures],
    };
    if (journal.length > journaled) {
      const upTo = journal.length;
      const ref = await storeChunkJournal(input, journal.slice(0, upTo));
      if (ref) position.journal = progress.journal = ref;
      journaled = upTo;
    }
    context?.heartbeat(position);
  };
  const heartbeat = setInterval(() => {
    beating = beating.then(beat).catch(() => undefined); // a store that failed now is tried again next second
  }, 1000);
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
    await beating;
  }
  const stored = await storeChunkJournal(input, journal);
  return {
    state: 'completed',
    mode: 'per-resource',
    durationMs: Date.now() - started,
    ...progress.counts,
    failures: progress.failures,
    retry: [],
    retryReasons: [],
    ...(stored ? { journal: stored } : {}),
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
