import { ApplicationFailure, continueAsNew, ContinueAsNew, proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ChunkInput, ChunkSubmission } from '../activities/provisioning';
import { indicesOf, retryChunk, splitChunk } from '../scim/bulk-plan';
import { FailureType, failureTypesOf } from '../scim/failures';
import { PROVIDER_CALL } from './activity-options';
import { failureTypeOf, httpStatusOf, messageOf } from './failures';
import {
  emptyTally,
  latencyStats,
  MAX_CHUNK_OUTCOMES,
  MAX_LATENCY_SAMPLES,
  POLL_MAX_MS,
  RETRY_BASE_MS,
  type BatchTally,
  type ChunkOutcome,
  type ProvisionUsersBatchInput,
  type WorkItem,
} from './provision-users-model';
import { reportQuery, type ReportStep, type WorkflowReport } from './report';

// A Bulk request may settle many 409s by lookup; heartbeats (every second) let a killed worker's
// attempt be retried within 10 s instead of waiting for the start-to-close timeout.
const { submitBulkChunk, pollBulkChunk } = proxyActivities<Activities>({
  ...PROVIDER_CALL,
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '10 seconds',
});

/** Failures that no other chunk can escape either: the whole run stops with them. */
const FATAL = new Set<string>(failureTypesOf('fatal'));

/**
 * A batch of a provisionUsers run: a few Bulk requests, sent one at a time (the parent runs
 * several batches at once). Returns totals and bounded samples to the parent.
 *
 *   for each chunk:  submitBulkChunk ─┬─ 200 BulkResponse ───────────────▶ settled (409 → lookup, update if different)
 *                                     ├─ 202 + job ─▶ sleep ─▶ pollBulkChunk ─▶ … ─▶ settled
 *                                     │      (500 ms, doubling, cap 30 s; Retry-After wins)
 *                                     ├─ 413 ─▶ split in two, both halves queued first
 *                                     └─ per-operation 429/5xx ─▶ those records queued again after a backoff
 *   history past the limit ─▶ continue-as-new with the queue and the tally so far
 */
export async function provisionUsersBatch(input: ProvisionUsersBatchInput): Promise<BatchTally> {
  const tally: BatchTally = input.carried ?? emptyTally();
  tally.runs += 1;
  const queue: WorkItem[] = [...input.work];
  const status: { value: WorkflowReport['status']; error?: string; completedAt?: string } = { value: 'running' };
  // `report` like every workflow, but no search attributes: the compliance report counts the
  // parent (which holds these totals), not each batch again.
  setHandler(reportQuery, () => batchReport(input, tally, status));
  try {
    const result = await run(input, tally, queue);
    Object.assign(status, { value: 'succeeded', completedAt: new Date(Date.now()).toISOString() });
    return result;
  } catch (err) {
    if (!(err instanceof ContinueAsNew)) Object.assign(status, { value: 'failed', error: messageOf(err), completedAt: new Date(Date.now()).toISOString() });
    throw err;
  }
}

function batchReport(
  input: ProvisionUsersBatchInput,
  tally: BatchTally,
  status: { value: WorkflowReport['status']; error?: string; completedAt?: string },
): WorkflowReport {
  const info = workflowInfo();
  const steps = tally.chunkOutcomes.map(
    (o): ReportStep => ({
      step: `bulk request ${o.chunk} (${o.operations} operations, ${o.mode})`,
      startedAt: o.startedAt,
      durationMs: o.latencyMs,
      outcome: o.failed > 0 || (o.mode === 'none' && o.httpStatus !== 413) ? 'failed' : 'succeeded',
      ...(o.httpStatus !== undefined ? { httpStatus: o.httpStatus } : {}),
      detail: o.detail ?? `${o.created} created, ${o.updated} updated, ${o.unchanged} unchanged, ${o.failed} failed, ${o.retried} resent`,
    }),
  );
  const succeeded = tally.created + tally.updated + tally.unchanged;
  const attempted = succeeded + tally.failed;
  return {
    workflowType: info.workflowType,
    workflowId: info.workflowId,
    runId: info.runId,
    tenant: input.options.tenant,
    request: { batch: input.batch, parent: info.parent?.workflowId, bulkRequests: input.work.length },
    status: status.value,
    startedAt: new Date(info.startTime.getTime()).toISOString(),
    ...(status.completedAt ? { completedAt: status.completedAt } : {}),
    steps,
    totals: { attempted, succeeded, failed: tally.failed, successRate: attempted === 0 ? 1 : succeeded / attempted, latencyMs: latencyStats(tally.latencies) },
    ...(status.error ? { error: status.error } : {}),
  };
}

async function run(input: ProvisionUsersBatchInput, tally: BatchTally, queue: WorkItem[]): Promise<BatchTally> {
  const { options } = input;
  const base: Omit<ChunkInput, 'chunk'> = {
    tenant: options.tenant,
    source: input.source,
    endpoint: options.endpoint,
    preferAsync: options.preferAsync,
    patchSupported: options.patchSupported,
    maxReported: options.maxReported,
  };

  const fail = (indices: number[], detail: string, status?: number) => {
    tally.failed += indices.length;
    for (const index of indices) {
      if (tally.failures.length >= options.maxReported) break;
      tally.failures.push({ record: index + 1, ...(status !== undefined ? { status } : {}), detail });
    }
  };
  const outcome = (item: WorkItem, o: Omit<ChunkOutcome, 'batch' | 'startedAt' | 'chunk' | 'operations' | 'bytes' | 'latencyMs'>) => {
    tally.requests++;
    if (tally.chunkOutcomes.length >= MAX_CHUNK_OUTCOMES) return;
    const sentAt = item.firstSentAt ?? Date.now();
    const { chunk } = item;
    tally.chunkOutcomes.push({
      chunk: chunk.id,
      batch: input.batch,
      startedAt: new Date(sentAt).toISOString(),
      operations: chunk.operations,
      bytes: chunk.bytes,
      latencyMs: Date.now() - sentAt,
      ...o,
    });
  };
  const resend = (item: WorkItem, indices: number[], reason: string) => {
    if (item.attempt >= options.maxOperationAttempts) {
      fail(indices, `gave up after ${item.attempt} attempts: ${reason}`);
      return 0;
    }
    tally.retried += indices.length;
    const delay = Math.min(POLL_MAX_MS, RETRY_BASE_MS * 2 ** (item.attempt - 1));
    queue.push({ chunk: retryChunk(item.chunk, indices, item.attempt), attempt: item.attempt + 1, notBefore: Date.now() + delay });
    return indices.length;
  };

  /** One step of the item at the head of the queue: a POST, or one poll of its async job. */
  const step = async (item: WorkItem): Promise<void> => {
    const chunk = item.chunk;
    let submission: ChunkSubmission;
    try {
      if (item.job) {
        const wait = item.job.nextPollAt - Date.now();
        if (wait > 0) await sleep(wait);
        submission = await pollBulkChunk({ ...base, chunk, jobUrl: item.job.url });
      } else {
        item.firstSentAt ??= Date.now();
        submission = await submitBulkChunk({ ...base, chunk });
      }
    } catch (err) {
      const type = failureTypeOf(err) ?? '';
      if (FATAL.has(type)) throw ApplicationFailure.nonRetryable(messageOf(err), type);
      queue.shift();
      const halves = type === FailureType.PayloadTooLarge ? splitChunk(chunk) : undefined;
      if (halves) {
        // 413: the provider takes less than it advertised (or than we estimated): halve and resend.
        queue.unshift({ chunk: halves[0], attempt: item.attempt }, { chunk: halves[1], attempt: item.attempt });
        outcome(item, { mode: 'none', httpStatus: 413, created: 0, updated: 0, unchanged: 0, failed: 0, retried: 0, detail: `413: split into ${halves[0].id} (${halves[0].operations}) and ${halves[1].id} (${halves[1].operations})` });
        return;
      }
      if (item.job) {
        // The job's status could not be fetched; it may still have run. Resending is safe: a 409
        // for what it created is settled by lookup.
        const resent = resend(item, indicesOf(chunk.ranges), `async bulk job status unavailable: ${messageOf(err)}`);
        outcome(item, { mode: 'async', created: 0, updated: 0, unchanged: 0, failed: chunk.operations - resent, retried: resent, detail: messageOf(err) });
        return;
      }
      // Retries exhausted or a non-retryable answer for the request as a whole: report every operation.
      const status = httpStatusOf(err);
      fail(indicesOf(chunk.ranges), `bulk request failed: ${messageOf(err)}`, status);
      outcome(item, { mode: 'none', ...(status ? { httpStatus: status } : {}), created: 0, updated: 0, unchanged: 0, failed: chunk.operations, retried: 0, detail: messageOf(err) });
      return;
    }

    if (submission.state === 'pending') {
      // Durable polling: a workflow timer per wait, Retry-After when the provider gives one.
      const backoffMs = item.job ? Math.min(POLL_MAX_MS, item.job.backoffMs * 2) : options.pollInitialMs;
      item.job = { url: submission.jobUrl, backoffMs, nextPollAt: Date.now() + (submission.retryAfterMs ?? backoffMs) };
      return;
    }
    queue.shift();
    if (submission.state === 'lost') {
      const resent = resend(item, indicesOf(chunk.ranges), `async bulk job lost: ${submission.detail}`);
      outcome(item, { mode: 'async', httpStatus: submission.httpStatus, created: 0, updated: 0, unchanged: 0, failed: chunk.operations - resent, retried: resent, detail: submission.detail });
      return;
    }
    const latencyMs = Date.now() - (item.firstSentAt ?? Date.now());
    tally.created += submission.created;
    tally.updated += submission.updated;
    tally.unchanged += submission.unchanged;
    tally.failed += submission.failed;
    tally.failures.push(...submission.failures.slice(0, Math.max(0, options.maxReported - tally.failures.length)));
    if (tally.latencies.length < MAX_LATENCY_SAMPLES) tally.latencies.push(latencyMs);
    const resent = submission.retry.length > 0 ? resend(item, submission.retry, submission.retryReasons.join('; ')) : 0;
    outcome(item, {
      mode: submission.mode,
      httpStatus: submission.httpStatus,
      created: submission.created,
      updated: submission.updated,
      unchanged: submission.unchanged,
      failed: submission.failed + (submission.retry.length - resent),
      retried: resent,
      ...(submission.retry.length > 0 ? { detail: `resend ${submission.retry.length}: ${submission.retryReasons.join('; ')}` } : {}),
    });
  };

  let steps = 0;
  while (queue.length > 0) {
    const info = workflowInfo();
    if (steps > 0 && (info.historyLength >= options.historyEventLimit || info.continueAsNewSuggested)) {
      tally.largestHistoryLength = Math.max(tally.largestHistoryLength, info.historyLength);
      await continueAsNew<typeof provisionUsersBatch>({ ...input, work: queue, carried: tally });
    }
    // The first item that may go now; otherwise wait for the earliest one.
    const now = Date.now();
    const ready = queue.findIndex((w) => (w.notBefore ?? 0) <= now);
    if (ready === -1) {
      await sleep(Math.min(...queue.map((w) => w.notBefore ?? now)) - now);
      continue;
    }
    if (ready > 0) queue.unshift(...queue.splice(ready, 1));
    await step(queue[0]);
    steps++;
  }
  tally.largestHistoryLength = Math.max(tally.largestHistoryLength, workflowInfo().historyLength);
  return tally;
}
