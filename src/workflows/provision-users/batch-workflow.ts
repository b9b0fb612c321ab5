import {
  ApplicationFailure,
  continueAsNew,
  ContinueAsNew,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { ChunkInput, ChunkSubmission } from '../../activities/bulk-chunks';
import { providerCallUntil } from '../activity-options';
import { ChunkQueue, FATAL_FAILURES } from './chunk-queue';
import { failureTypeOf, httpStatusOf, messageOf } from '../failures';
import { succeededOf } from '../../core/tally';
import { emptyTally, type BatchTally, type ProvisionUsersBatchInput, type WorkItem } from './totals';
import { legacyBatchOptions } from '../history-compat';
import { reportQuery, reportTotals, type ReportStep, type WorkflowReport } from '../report';
import { fileNameOf, humanDuration, RunDetails, withSummary } from '../ui-metadata';

/**
 * A batch of a provisionUsers run: a few Bulk requests, sent one at a time (the parent runs
 * several batches at once). Returns totals and bounded samples to the parent. The decisions are
 * ChunkQueue's (chunk-queue.ts); this workflow sleeps, calls the activities and continues as new.
 *
 *   per resource:    writeResourceSlice (each record: verified lookup ─▶ POST, or PATCH/PUT if different) ─▶ settled
 *   for each chunk:  submitBulkChunk ─┬─ 200 BulkResponse ───────────────▶ settled (409 → lookup, update if different)
 *                                     ├─ 202 + job ─▶ sleep ─▶ pollBulkChunk ─▶ … ─▶ settled
 *                                     │      (500 ms, doubling, cap 30 s; Retry-After wins)
 *                                     ├─ 413 ─▶ split in two, both halves queued first
 *                                     └─ per-operation 429/5xx ─▶ those records queued again after a backoff
 *   history past the limit ─▶ continue-as-new with the queue and the tally so far
 */
export async function provisionUsersBatch(input: ProvisionUsersBatchInput): Promise<BatchTally> {
  const tally: BatchTally = input.carried ?? {
    ...emptyTally(),
    ...(input.journals ? { journals: input.journals } : {}),
  };
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
    if (!(err instanceof ContinueAsNew))
      Object.assign(status, {
        value: 'failed',
        error: messageOf(err),
        completedAt: new Date(Date.now()).toISOString(),
      });
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
      step:
        o.mode === 'per-resource'
          ? `slice ${o.chunk} (${o.operations} records, one resource at a time)`
          : `bulk request ${o.chunk} (${o.operations} operations, ${o.mode})`,
      startedAt: o.startedAt,
      durationMs: o.latencyMs,
      outcome: o.failed > 0 || (o.mode === 'none' && o.httpStatus !== 413) ? 'failed' : 'succeeded',
      ...(o.httpStatus !== undefined ? { httpStatus: o.httpStatus } : {}),
      detail:
        o.detail ??
        `${o.created} created, ${o.updated} updated, ${o.unchanged} unchanged, ${o.failed} failed, ${o.retried} resent`,
    }),
  );
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
    totals: reportTotals(succeededOf(tally), tally.failed, tally.latencies),
    ...(status.error ? { error: status.error } : {}),
  };
}

async function run(input: ProvisionUsersBatchInput, tally: BatchTally, items: WorkItem[]): Promise<BatchTally> {
  const options = legacyBatchOptions(input.options, workflowInfo().startTime.getTime());
  const base: Omit<ChunkInput, 'chunk'> = {
    tenant: options.tenant,
    source: input.source,
    endpoint: options.endpoint,
    preferAsync: options.preferAsync,
    patchSupported: options.patchSupported,
    maxReported: options.maxReported,
  };
  // Each write activity journals what it wrote, naming the batch's latest journal (ChunkQueue keeps it).
  const parent = workflowInfo().parent;
  const journal = () => ({
    workflowId: parent?.workflowId ?? workflowInfo().workflowId,
    runId: parent?.runId ?? workflowInfo().runId,
    previous: tally.journals ?? [],
  });
  // A Bulk request may settle many 409s by lookup, a slice writes many records one by one (each
  // retried until the deadline); heartbeats (every second) let a killed worker's attempt be
  // retried within 10 s, and a slice resumes from the position its last heartbeat carried.
  const { submitBulkChunk, pollBulkChunk, writeResourceSlice } = proxyActivities<Activities>(
    providerCallUntil(options.deadline, {
      startToCloseTimeout: options.mode === 'bulk' ? '10 minutes' : '24 hours',
      heartbeatTimeout: '10 seconds',
    }),
  );
  const queue = new ChunkQueue(input.batch, options, items, tally);
  const details = new RunDetails(`provisionUsersBatch ${input.batch} · tenant ${options.tenant} · ${options.mode}`);
  let steps = 0;
  while (!queue.empty) {
    const info = workflowInfo();
    if (steps > 0 && (info.historyLength >= options.historyEventLimit || info.continueAsNewSuggested)) {
      tally.largestHistoryLength = Math.max(tally.largestHistoryLength, info.historyLength);
      await continueAsNew<typeof provisionUsersBatch>({ ...input, work: queue.items, carried: tally });
    }
    const next = queue.next(Date.now());
    details.set('queue', `batch ${input.batch}: ${describeTally(tally)}; ${queue.items.length} requests to settle`);
    if (next.kind === 'wait') {
      const wait = `backoff ${humanDuration(next.ms)} before resending records that failed transiently`;
      details.set('waiting', `waiting: ${wait}`);
      await sleep(next.ms, { summary: wait });
      details.set('waiting', undefined);
      continue;
    }
    let submission: ChunkSubmission;
    try {
      if (next.kind === 'poll') {
        const job = `Bulk job ${fileNameOf(next.jobUrl)} of request ${next.item.chunk.id}`;
        if (next.waitMs > 0) {
          const wait = `${next.item.job?.retryAfter ? 'waiting out Retry-After' : 'polling backoff'} ${humanDuration(next.waitMs)} before polling ${job}`;
          details.set('waiting', `waiting: ${wait}`);
          await sleep(next.waitMs, { summary: wait });
          details.set('waiting', undefined);
        }
        submission = await pollBulkChunk.executeWithOptions(withSummary(`poll ${job}`), [
          { ...base, chunk: next.item.chunk, jobUrl: next.jobUrl, journal: journal() },
        ]);
      } else if (options.mode === 'per-resource') {
        const { tenant, source, endpoint, maxReported } = base;
        const { capabilities, deadline, recordsInFlight } = options;
        submission = await writeResourceSlice.executeWithOptions(
          withSummary(
            `write ${next.item.chunk.operations} users one at a time (slice ${next.item.chunk.id}, attempt ${next.item.attempt})`,
          ),
          [
            {
              tenant,
              source,
              endpoint,
              maxReported,
              capabilities,
              deadline,
              recordsInFlight,
              chunk: next.item.chunk,
              journal: journal(),
            },
          ],
        );
      } else {
        submission = await submitBulkChunk.executeWithOptions(
          withSummary(
            `POST /Bulk: ${next.item.chunk.operations} operations, ${next.item.chunk.bytes} bytes (request ${next.item.chunk.id}, attempt ${next.item.attempt})`,
          ),
          [{ ...base, chunk: next.item.chunk, journal: journal() }],
        );
      }
    } catch (err) {
      const type = failureTypeOf(err);
      if (type !== undefined && FATAL_FAILURES.has(type)) throw ApplicationFailure.nonRetryable(messageOf(err), type);
      queue.failed(next.item, { type, message: messageOf(err), status: httpStatusOf(err) }, Date.now());
      steps++;
      continue;
    }
    queue.answered(next.item, submission, Date.now());
    steps++;
  }
  tally.largestHistoryLength = Math.max(tally.largestHistoryLength, workflowInfo().historyLength);
  details.set('queue', `batch ${input.batch}: ${describeTally(tally)}; all requests settled`);
  return tally;
}

/** The batch's counts as its current details show them. */
function describeTally(tally: BatchTally): string {
  return `${tally.created} created, ${tally.updated} updated, ${tally.unchanged} unchanged, ${tally.failed} failed, ${tally.retried} resent (${tally.requests} requests)`;
}
