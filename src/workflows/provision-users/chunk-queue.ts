// The state machine of a provisionUsers batch, without Temporal: which request goes next, and
// what each answer does to the queue and the tally. The batch workflow only sleeps, calls the
// activities and continues as new; every decision is made here, from the times it is given, so
// the same answers always produce the same sequence of workflow commands.
//
//   next(now) ─┬─ nothing ready ───────────────────▶ wait (until the earliest notBefore)
//              ├─ item with an async job ──────────▶ poll (after its nextPollAt)
//              └─ item ────────────────────────────▶ submit
//   answered ──┬─ pending (202 / still running) ───▶ keep at the head, poll again later
//              │     (pollInitialMs, doubling, cap 30 s; Retry-After wins)
//              ├─ lost job ────────────────────────▶ resend every record after a backoff
//              └─ completed ───────────────────────▶ count; per-operation 429/5xx resent after a backoff
//   resend: 1 s doubling, cap 5 s, until the run's retry deadline (then the records fail)
//   failed ────┬─ 413 ─────────────────────────────▶ split in two, both halves first
//              ├─ poll failed ─────────────────────▶ resend every record (the job may be gone)
//              └─ otherwise ───────────────────────▶ every record failed with the reason
import type { ChunkSubmission } from '../../activities/bulk-chunks';
import { indicesOf, retryChunk, splitChunk } from '../../scim/bulk-plan';
import { FailureType, failureTypesOf } from '../../core/failures';
import { addCounts, emptyCounts, type RecordCounts } from '../../core/tally';
import {
  MAX_CHUNK_OUTCOMES,
  MAX_LATENCY_SAMPLES,
  POLL_MAX_MS,
  RETRY_BASE_MS,
  RETRY_MAX_MS,
  type BatchOptions,
  type BatchTally,
  type ChunkOutcome,
  type WorkItem,
} from './totals';

/** Failures that no other chunk can escape either: the whole run stops with them. */
export const FATAL_FAILURES: ReadonlySet<string> = new Set<string>(failureTypesOf('fatal'));

export type NextStep =
  /** Nothing may go before `ms` from now. */
  | { kind: 'wait'; ms: number }
  /** POST the item (it is at the head of the queue). */
  | { kind: 'submit'; item: WorkItem }
  /** Wait `waitMs` (if positive), then GET the item's async job (it is at the head of the queue). */
  | { kind: 'poll'; item: WorkItem; jobUrl: string; waitMs: number };

/** An activity failure as the workflow read it. */
export interface StepFailure {
  type?: string;
  message: string;
  status?: number;
}

type OutcomeFacts = Pick<ChunkOutcome, 'mode' | 'httpStatus' | 'detail'> & RecordCounts;

export class ChunkQueue {
  constructor(
    private readonly batch: number,
    private readonly options: Pick<BatchOptions, 'deadline' | 'maxOperationAttempts' | 'maxReported' | 'pollInitialMs'>,
    /** The items still to settle; handed to continue-as-new as they are. */
    readonly items: WorkItem[],
    readonly tally: BatchTally,
  ) {}

  get empty(): boolean {
    return this.items.length === 0;
  }

  /** The first item that may go now, moved to the head; otherwise how long to wait for the earliest. */
  next(now: number): NextStep {
    const ready = this.items.findIndex((w) => (w.notBefore ?? 0) <= now);
    if (ready === -1) return { kind: 'wait', ms: Math.min(...this.items.map((w) => w.notBefore ?? now)) - now };
    if (ready > 0) this.items.unshift(...this.items.splice(ready, 1));
    const item = this.items[0];
    if (item.job) return { kind: 'poll', item, jobUrl: item.job.url, waitMs: item.job.nextPollAt - now };
    item.firstSentAt ??= now;
    return { kind: 'submit', item };
  }

  /** The head item's activity answered. */
  answered(item: WorkItem, submission: ChunkSubmission, now: number): void {
    const { chunk } = item;
    if (submission.state === 'pending') {
      // Durable polling: a workflow timer per wait, Retry-After when the provider gives one.
      const backoffMs = item.job ? Math.min(POLL_MAX_MS, item.job.backoffMs * 2) : this.options.pollInitialMs;
      item.job = {
        url: submission.jobUrl,
        backoffMs,
        nextPollAt: now + (submission.retryAfterMs ?? backoffMs),
        ...(submission.retryAfterMs !== undefined ? { retryAfter: true } : {}),
      };
      return;
    }
    this.items.shift();
    if (submission.state === 'lost') {
      const resent = this.resend(item, indicesOf(chunk.ranges), `async bulk job lost: ${submission.detail}`, now);
      this.outcome(item, now, {
        mode: 'async',
        httpStatus: submission.httpStatus,
        ...emptyCounts(),
        failed: chunk.operations - resent,
        retried: resent,
        detail: submission.detail,
      });
      return;
    }
    const latencyMs = now - (item.firstSentAt ?? now);
    addCounts(this.tally, { ...submission, retried: 0 });
    // The answer's journal names the batch's journals before it: it is now the batch's latest.
    if (submission.journal) this.tally.journals = [submission.journal];
    this.report(submission.failures);
    if (this.tally.latencies.length < MAX_LATENCY_SAMPLES) this.tally.latencies.push(latencyMs);
    const resent =
      submission.retry.length > 0 ? this.resend(item, submission.retry, submission.retryReasons.join('; '), now) : 0;
    this.outcome(item, now, {
      mode: submission.mode,
      httpStatus: submission.httpStatus,
      created: submission.created,
      updated: submission.updated,
      unchanged: submission.unchanged,
      failed: submission.failed + (submission.retry.length - resent),
      retried: resent,
      ...(submission.retry.length > 0
        ? { detail: `resend ${submission.retry.length}: ${submission.retryReasons.join('; ')}` }
        : {}),
    });
  }

  /** The head item's activity failed (a fatal failure is the caller's to raise, see FATAL_FAILURES). */
  failed(item: WorkItem, failure: StepFailure, now: number): void {
    const { chunk } = item;
    this.items.shift();
    const halves = failure.type === FailureType.PayloadTooLarge ? splitChunk(chunk) : undefined;
    if (halves) {
      // 413: the provider takes less than it advertised (or than we estimated): halve and resend.
      this.items.unshift({ chunk: halves[0], attempt: item.attempt }, { chunk: halves[1], attempt: item.attempt });
      this.outcome(item, now, {
        mode: 'none',
        httpStatus: 413,
        ...emptyCounts(),
        detail: `413: split into ${halves[0].id} (${halves[0].operations}) and ${halves[1].id} (${halves[1].operations})`,
      });
      return;
    }
    if (item.job) {
      // The job's status could not be fetched; it may still have run. Resending is safe: a 409
      // for what it created is settled by lookup.
      const resent = this.resend(
        item,
        indicesOf(chunk.ranges),
        `async bulk job status unavailable: ${failure.message}`,
        now,
      );
      this.outcome(item, now, {
        mode: 'async',
        ...emptyCounts(),
        failed: chunk.operations - resent,
        retried: resent,
        detail: failure.message,
      });
      return;
    }
    // Retries exhausted or a non-retryable answer for the request as a whole: report every operation.
    const { status } = failure;
    this.fail(indicesOf(chunk.ranges), `bulk request failed: ${failure.message}`, status);
    this.outcome(item, now, {
      mode: 'none',
      ...(status ? { httpStatus: status } : {}),
      ...emptyCounts(),
      failed: chunk.operations,
      detail: failure.message,
    });
  }

  private report(failures: BatchTally['failures']): void {
    this.tally.failures.push(...failures.slice(0, Math.max(0, this.options.maxReported - this.tally.failures.length)));
  }

  private fail(indices: number[], detail: string, status?: number): void {
    this.tally.failed += indices.length;
    this.report(indices.map((index) => ({ record: index + 1, ...(status !== undefined ? { status } : {}), detail })));
  }

  /**
   * Queues the records again after a backoff (doubling, capped at 5 s); returns how many. Past the
   * run's retry deadline they fail instead: a transient failure is final only then.
   */
  private resend(item: WorkItem, indices: number[], reason: string, now: number): number {
    const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(item.attempt - 1, 16));
    // A batch of an earlier version counted attempts instead; it keeps doing so when replayed
    // (history-compat: batch-without-deadline).
    const { maxOperationAttempts } = this.options;
    if (maxOperationAttempts !== undefined && item.attempt >= maxOperationAttempts) {
      this.fail(indices, `gave up after ${item.attempt} attempts: ${reason}`);
      return 0;
    }
    if (now + delay > this.options.deadline) {
      this.fail(indices, `still failing at the run's retry deadline after ${item.attempt} attempts: ${reason}`);
      return 0;
    }
    this.tally.retried += indices.length;
    this.items.push({
      chunk: retryChunk(item.chunk, indices, item.attempt),
      attempt: item.attempt + 1,
      notBefore: now + delay,
    });
    return indices.length;
  }

  private outcome(item: WorkItem, now: number, facts: OutcomeFacts): void {
    this.tally.requests++;
    if (this.tally.chunkOutcomes.length >= MAX_CHUNK_OUTCOMES) return;
    const sentAt = item.firstSentAt ?? now;
    const { chunk } = item;
    const { mode, httpStatus, detail, created, updated, unchanged, failed, retried } = facts;
    this.tally.chunkOutcomes.push({
      chunk: chunk.id,
      batch: this.batch,
      startedAt: new Date(sentAt).toISOString(),
      operations: chunk.operations,
      bytes: chunk.bytes,
      latencyMs: now - sentAt,
      mode,
      ...(httpStatus !== undefined ? { httpStatus } : {}),
      created,
      updated,
      unchanged,
      failed,
      retried,
      ...(detail !== undefined ? { detail } : {}),
    });
  }
}
