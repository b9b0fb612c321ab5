// Types and small pure helpers shared by provisionUsers (the parent) and provisionUsersBatch
// (its child workflows). Workflow-safe: no I/O.
import type { ChunkSource, InvalidRecord, RecordFailure } from '../../activities/provisioning';
import type { ClaimRef } from '../../core/claim-ref';
import { splitChunk, type ChunkDescriptor } from '../../scim/bulk-plan';
import { addCounts, emptyCounts, type RecordCounts } from '../../core/tally';
import type { WriteCapabilities } from '../../scim/user-match';

/** Counts of a run (records, not requests); `inFlight` is what running batches hold. */
export interface ProvisionTotals extends RecordCounts {
  /** Records in the source. */
  total: number;
  /** Records that passed validation (and will be or were sent). */
  validated: number;
  /** Records that failed validation: reported, never sent. */
  invalid: number;
  /** Valid records handed to batches so far. */
  submitted: number;
  /** created + updated + unchanged. */
  succeeded: number;
  inFlight: number;
}

/** The answer to the `progress` query. */
export interface ProvisionProgress extends ProvisionTotals {
  phase: 'discovering' | 'planning' | 'provisioning' | 'completed' | 'failed';
  /** Bulk requests: planned, settled (in finished batches), held by running batches. */
  chunks: { planned: number; done: number; inFlight: number };
  batches: { planned: number; done: number; inFlight: number };
  /** Runs of the parent so far (continue-as-new starts a new one). */
  run: number;
}

/** How one Bulk request ended (a split or a retry has an id of its own, see bulk-plan.ts). */
export interface ChunkOutcome extends RecordCounts {
  chunk: string;
  batch: number;
  /** When it was first sent (workflow time). */
  startedAt: string;
  operations: number;
  /** Planned request body size (exact as planned; estimated for a split or a resend). */
  bytes: number;
  /** sync / async Bulk, a slice written per resource, or none (the request failed as a whole). */
  mode: 'sync' | 'async' | 'per-resource' | 'none';
  httpStatus?: number;
  /** From the first POST to the settled result, async wait included. */
  latencyMs: number;
  /** Set when the request as a whole failed or was split. */
  detail?: string;
}

/** What a batch reports back to the parent: totals and bounded samples, never per-user results. */
export interface BatchTally extends RecordCounts {
  failures: RecordFailure[];
  /** Bulk requests that ended (each has an outcome; only the first ones are kept). */
  requests: number;
  chunkOutcomes: ChunkOutcome[];
  /** Latencies of settled Bulk requests (bounded sample). */
  latencies: number[];
  largestHistoryLength: number;
  runs: number;
  /**
   * The latest journals of the run's writes (claims/journal.ts): each names those before it, so a
   * batch holds one, the parent a few (one per batch finished since it last started one), never
   * a reference per slice. Absent in runs started before journals.
   */
  journals?: ClaimRef[];
}

export interface BatchOptions {
  tenant: string;
  endpoint: string;
  patchSupported: boolean;
  /** Bulk requests, or slices written one resource at a time. */
  mode: 'bulk' | 'per-resource';
  capabilities: WriteCapabilities;
  /** Per resource: records of a slice written at once. */
  recordsInFlight: number;
  preferAsync: boolean;
  /**
   * Epoch ms (workflow time): retryable failures are retried until then, then fail their records.
   * Absent (with `mode` and `capabilities`) in batches started before per-resource writes, which
   * gave up after `maxOperationAttempts` sends instead (history-compat: batch-without-deadline).
   */
  deadline: number;
  maxOperationAttempts?: number;
  historyEventLimit: number;
  maxReported: number;
  /** First async poll delay; doubles up to 30 s unless Retry-After says otherwise. */
  pollInitialMs: number;
}

/** A Bulk request still to settle: maybe waiting for its async job, maybe not before a retry delay. */
export interface WorkItem {
  chunk: ChunkDescriptor;
  /** 1 for the first POST of these records; +1 per resend. */
  attempt: number;
  /** Workflow time of the first POST, for the latency. */
  firstSentAt?: number;
  /** Workflow time before which it must not be sent (retry backoff). */
  notBefore?: number;
  /** An async Bulk job being polled; `retryAfter` when the next poll waits for the provider's Retry-After. */
  job?: { url: string; backoffMs: number; nextPollAt: number; retryAfter?: boolean };
}

export interface ProvisionUsersBatchInput {
  batch: number;
  options: BatchOptions;
  source: ChunkSource;
  work: WorkItem[];
  /** Set by continue-as-new: what earlier runs of this batch did. */
  carried?: BatchTally;
  /** The run's journals finished batches left (the batch's first journal names them). */
  journals?: ClaimRef[];
}

export const MAX_LATENCY_SAMPLES = 2000;
export const MAX_CHUNK_OUTCOMES = 200;
export const POLL_MAX_MS = 30_000;
export const RETRY_BASE_MS = 1000;
/** Resends back off at most this long, so that work resumes within 5 s of the provider coming back. */
export const RETRY_MAX_MS = 5000;

export function emptyTally(): BatchTally {
  return {
    ...emptyCounts(),
    failures: [],
    requests: 0,
    chunkOutcomes: [],
    latencies: [],
    largestHistoryLength: 0,
    runs: 0,
  };
}

/** Adds `more` into `into`, keeping samples bounded. */
export function mergeTally(into: BatchTally, more: BatchTally, maxReported: number): void {
  addCounts(into, more);
  into.requests += more.requests;
  into.failures.push(...more.failures.slice(0, Math.max(0, maxReported - into.failures.length)));
  into.chunkOutcomes.push(...more.chunkOutcomes.slice(0, Math.max(0, MAX_CHUNK_OUTCOMES - into.chunkOutcomes.length)));
  into.latencies.push(...more.latencies.slice(0, Math.max(0, MAX_LATENCY_SAMPLES - into.latencies.length)));
  into.largestHistoryLength = Math.max(into.largestHistoryLength, more.largestHistoryLength);
  into.runs += more.runs;
  if (more.journals && more.journals.length > 0) into.journals = [...(into.journals ?? []), ...more.journals];
}

/** The journals a tally holds, taken out of it: handed to the next batch, whose first journal names them. */
export function handOverJournals(tally: BatchTally): ClaimRef[] {
  const journals = tally.journals ?? [];
  delete tally.journals;
  return journals;
}

export type { InvalidRecord, RecordFailure };

/**
 * Chunks for the next batch: at most `chunksPerBatch`, and no more than keeps every one of the
 * `lanes` batches that run at once busy with what is left — so that a small run (10 Bulk requests,
 * 4 lanes) uses all four lanes, and a run's last batches end together.
 */
export function nextBatchSize(remaining: number, chunksPerBatch: number, lanes: number): number {
  return Math.max(1, Math.min(chunksPerBatch, Math.ceil(remaining / lanes)));
}

/**
 * Per resource: slices halved, largest first, until each of the `lanes` has one, so that a small
 * run writes as many records at once as a large one (recordsPerSlice stays an upper bound).
 */
export function spreadSlices(slices: readonly ChunkDescriptor[], lanes: number): ChunkDescriptor[] {
  const spread = [...slices];
  while (spread.length > 0 && spread.length < lanes) {
    const largest = spread.reduce((best, slice, i) => (slice.operations > spread[best].operations ? i : best), 0);
    const halves = splitChunk(spread[largest]);
    if (!halves) break;
    spread.splice(largest, 1, ...halves);
  }
  return spread;
}

/** How many batches `remaining` chunks make with {@link nextBatchSize}. */
export function batchesFor(remaining: number, chunksPerBatch: number, lanes: number): number {
  let batches = 0;
  for (let left = remaining; left > 0; left -= nextBatchSize(left, chunksPerBatch, lanes)) batches++;
  return batches;
}
