// The batch state machine without Temporal: each answer's effect on the queue and the tally.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChunkSubmission, ChunkTally } from '../src/activities/bulk-chunks';
import { indicesOf, rangesOf, type ChunkDescriptor } from '../src/scim/bulk-plan';
import { addCounts, emptyCounts, latencyStats, succeededOf } from '../src/core/tally';
import { legacyBatchOptions } from '../src/workflows/history-compat';
import { ChunkQueue, FATAL_FAILURES } from '../src/workflows/provision-users/chunk-queue';
import {
  batchesFor,
  emptyTally,
  nextBatchSize,
  spreadSlices,
  POLL_MAX_MS,
  RETRY_BASE_MS,
  type BatchOptions,
} from '../src/workflows/provision-users/totals';

const chunk = (id: string, indices: number[]): ChunkDescriptor => ({
  id,
  ranges: rangesOf(indices),
  operations: indices.length,
  bytes: 100 * indices.length,
});

function queueOf(
  chunks: ChunkDescriptor[],
  options: Partial<{ deadline: number; maxReported: number; pollInitialMs: number }> = {},
) {
  return new ChunkQueue(
    7,
    { deadline: 3_600_000, maxReported: 100, pollInitialMs: 500, ...options },
    chunks.map((c) => ({ chunk: c, attempt: 1 })),
    emptyTally(),
  );
}

function completed(counts: Partial<ChunkTally>, mode: 'sync' | 'async' = 'sync'): ChunkSubmission {
  const retry = counts.retry ?? [];
  return {
    state: 'completed',
    mode,
    httpStatus: 200,
    durationMs: 5,
    ...emptyCounts(),
    failures: [],
    retryReasons: retry.length ? ['HTTP 503'] : [],
    ...counts,
    retry,
    retried: retry.length,
  };
}

describe('ChunkQueue (the provisionUsersBatch state machine)', () => {
  it('submits in order and counts a settled request, with its latency and outcome', () => {
    const q = queueOf([chunk('c0', [0, 1, 2]), chunk('c1', [3, 4])]);
    const first = q.next(1000);
    assert.equal(first.kind, 'submit');
    assert.equal(first.kind === 'submit' && first.item.chunk.id, 'c0');
    q.answered(q.items[0], completed({ created: 2, unchanged: 1 }), 1250);
    assert.deepEqual([q.tally.created, q.tally.unchanged, q.tally.requests, q.tally.latencies], [2, 1, 1, [250]]);
    assert.deepEqual(q.tally.chunkOutcomes[0], {
      chunk: 'c0',
      batch: 7,
      startedAt: new Date(1000).toISOString(),
      operations: 3,
      bytes: 300,
      latencyMs: 250,
      mode: 'sync',
      httpStatus: 200,
      created: 2,
      updated: 0,
      unchanged: 1,
      failed: 0,
      retried: 0,
    });
    const second = q.next(1300);
    assert.equal(second.kind === 'submit' && second.item.chunk.id, 'c1');
    q.answered(q.items[0], completed({ updated: 2 }), 1400);
    assert.ok(q.empty);
    assert.equal(succeededOf(q.tally), 5);
  });

  it('polls an async job: first after pollInitialMs, then doubling up to 30 s, Retry-After winning', () => {
    const q = queueOf([chunk('c0', [0, 1])], { pollInitialMs: 400 });
    const item = q.items[0];
    q.next(0);
    q.answered(item, { state: 'pending', jobUrl: '/Bulk/j1', httpStatus: 202, jobStatus: 'queued' }, 10);
    let step = q.next(10);
    assert.deepEqual(step.kind === 'poll' && [step.jobUrl, step.waitMs], ['/Bulk/j1', 400]);
    const waits: number[] = [];
    let now = 410;
    for (let i = 0; i < 9; i++) {
      q.answered(item, { state: 'pending', jobUrl: '/Bulk/j1', httpStatus: 200, jobStatus: 'running' }, now);
      step = q.next(now);
      waits.push(step.kind === 'poll' ? step.waitMs : -1);
      now += waits[waits.length - 1];
    }
    assert.deepEqual(waits, [800, 1600, 3200, 6400, 12800, 25600, POLL_MAX_MS, POLL_MAX_MS, POLL_MAX_MS]);
    q.answered(
      item,
      { state: 'pending', jobUrl: '/Bulk/j1', httpStatus: 200, jobStatus: 'running', retryAfterMs: 2000 },
      now,
    );
    step = q.next(now);
    assert.equal(step.kind === 'poll' && step.waitMs, 2000);
    q.answered(item, completed({ created: 2 }, 'async'), now + 2000);
    assert.ok(q.empty);
    assert.equal(q.tally.chunkOutcomes[0].mode, 'async');
    assert.equal(q.tally.chunkOutcomes[0].latencyMs, now + 2000);
  });

  it("resends per-operation transient failures after a backoff doubling up to 5 s, until the run's deadline", () => {
    const q = queueOf([chunk('c0', [0, 1, 2, 3])], { deadline: 20_000 });
    q.next(0);
    q.answered(q.items[0], completed({ created: 2, retry: [1, 3] }), 100);
    assert.equal(q.tally.retried, 2);
    assert.deepEqual(
      q.items.map((w) => [w.chunk.id, indicesOf(w.chunk.ranges), w.attempt, w.notBefore]),
      [['c0r1', [1, 3], 2, 100 + RETRY_BASE_MS]],
    );
    // Not yet: the queue says how long to wait.
    assert.deepEqual(q.next(600), { kind: 'wait', ms: 500 });
    q.next(1100);
    q.answered(q.items[0], completed({ created: 1, retry: [3] }), 1200);
    assert.deepEqual(
      q.items.map((w) => [w.chunk.id, w.attempt, w.notBefore]),
      [['c0r2', 3, 1200 + 2 * RETRY_BASE_MS]],
    );
    // Keeps resending (1 s, 2 s, 4 s, then 5 s at most) while the deadline allows.
    const delays: number[] = [];
    let now = 3200;
    while (!q.empty) {
      const step = q.next(now);
      if (step.kind === 'wait') {
        now += step.ms;
        continue;
      }
      const before = q.items.length;
      q.answered(q.items[0], completed({ retry: [3] }), now);
      if (q.items.length === before) delays.push((q.items[q.items.length - 1].notBefore ?? 0) - now);
    }
    assert.deepEqual(delays, [4000, 5000, 5000]);
    assert.deepEqual([q.tally.created, q.tally.failed, q.tally.retried], [3, 1, 6]);
    assert.match(q.tally.failures[0].detail, /^still failing at the run's retry deadline after 6 attempts: HTTP 503/);
    assert.equal(q.tally.failures[0].record, 4);
    assert.deepEqual(
      q.tally.chunkOutcomes.slice(0, 2).map((o) => [o.chunk, o.failed, o.retried]),
      [
        ['c0', 0, 2],
        ['c0r1', 0, 1],
      ],
    );
    assert.deepEqual(q.tally.chunkOutcomes[q.tally.chunkOutcomes.length - 1].failed, 1);
  });

  it('a batch started by an earlier version (no deadline) keeps giving up after maxOperationAttempts when replayed', () => {
    const legacy = legacyBatchOptions(
      {
        tenant: 't',
        endpoint: '/Users',
        patchSupported: true,
        preferAsync: false,
        maxOperationAttempts: 2,
        historyEventLimit: 5000,
        maxReported: 10,
        pollInitialMs: 500,
      } as unknown as BatchOptions,
      1000,
    );
    assert.deepEqual([legacy.mode, legacy.deadline, legacy.capabilities.patch], ['bulk', 1000 + 6 * 3_600_000, true]);
    const q = new ChunkQueue(1, legacy, [{ chunk: chunk('c0', [0, 1]), attempt: 1 }], emptyTally());
    q.next(0);
    q.answered(q.items[0], completed({ created: 1, retry: [1] }), 10);
    q.next(2000);
    q.answered(q.items[0], completed({ retry: [1] }), 2010);
    assert.ok(q.empty);
    assert.match(q.tally.failures[0].detail, /^gave up after 2 attempts/);
  });

  it('a ready item goes before one still backing off', () => {
    const q = queueOf([chunk('c0', [0, 1]), chunk('c1', [2])]);
    q.next(0);
    q.answered(q.items[0], completed({ created: 1, retry: [1] }), 10);
    assert.deepEqual(
      q.items.map((w) => w.chunk.id),
      ['c1', 'c0r1'],
    );
    const step = q.next(20);
    assert.equal(step.kind === 'submit' && step.item.chunk.id, 'c1');
  });

  it('a 413 splits the request in halves, queued first; a single operation that is still too large fails', () => {
    const q = queueOf([chunk('c0', [0, 1, 2]), chunk('c1', [5])]);
    q.next(0);
    q.failed(q.items[0], { type: 'ScimPayloadTooLarge', message: 'too large', status: 413 }, 5);
    assert.deepEqual(
      q.items.map((w) => [w.chunk.id, indicesOf(w.chunk.ranges)]),
      [
        ['c0a', [0, 1]],
        ['c0b', [2]],
        ['c1', [5]],
      ],
    );
    assert.equal(q.tally.chunkOutcomes[0].httpStatus, 413);
    assert.equal(q.tally.failed, 0);
    q.next(10);
    q.failed(q.items[0], { type: 'ScimPayloadTooLarge', message: 'too large', status: 413 }, 15);
    q.next(20);
    q.failed(q.items[0], { type: 'ScimPayloadTooLarge', message: 'too large', status: 413 }, 25);
    assert.deepEqual(
      q.items.map((w) => w.chunk.id),
      ['c0ab', 'c0b', 'c1'],
    );
    assert.equal(q.tally.failed, 1);
    assert.deepEqual(q.tally.failures[0], { record: 1, status: 413, detail: 'bulk request failed: too large' });
  });

  it('a request that failed as a whole fails every record with the status; a poll that failed resends them', () => {
    const q = queueOf([chunk('c0', [0, 1]), chunk('c1', [2, 3, 4])]);
    q.next(0);
    q.failed(q.items[0], { type: 'ScimBadRequest', message: 'bad', status: 400 }, 1);
    assert.deepEqual([q.tally.failed, q.tally.failures.map((f) => f.record)], [2, [1, 2]]);
    const item = q.items[0];
    q.next(2);
    q.answered(item, { state: 'pending', jobUrl: '/Bulk/j2', httpStatus: 202, jobStatus: 'queued' }, 3);
    q.next(503);
    q.failed(item, { type: 'ScimServerError', message: 'status unavailable', status: 503 }, 504);
    assert.deepEqual(
      q.items.map((w) => [w.chunk.id, w.attempt, indicesOf(w.chunk.ranges)]),
      [['c1r1', 2, [2, 3, 4]]],
    );
    assert.equal(q.tally.retried, 3);
    assert.deepEqual(
      q.tally.chunkOutcomes.map((o) => [o.mode, o.failed, o.retried]),
      [
        ['none', 2, 0],
        ['async', 0, 3],
      ],
    );
  });

  it('a lost async job past the deadline fails its records; failures described stop at maxReported but all are counted', () => {
    const q = queueOf([chunk('c0', [0, 1, 2])], { maxReported: 2, deadline: 1000 });
    const item = q.items[0];
    q.next(0);
    q.answered(item, { state: 'pending', jobUrl: '/Bulk/j3', httpStatus: 202, jobStatus: 'queued' }, 1);
    q.next(501);
    q.answered(item, { state: 'lost', httpStatus: 404, detail: 'the bulk job is gone (404)' }, 502);
    assert.ok(q.empty, 'past the deadline: nothing resent');
    assert.equal(q.tally.failed, 3);
    assert.equal(q.tally.failures.length, 2);
    assert.match(q.tally.failures[0].detail, /async bulk job lost/);
  });

  it('names the failures that stop the whole run', () => {
    for (const type of ['SourceChanged', 'ScimUnauthorized', 'ScimForbidden']) assert.ok(FATAL_FAILURES.has(type));
    assert.ok(!FATAL_FAILURES.has('ScimPayloadTooLarge'));
  });
});

describe('counts and latency statistics', () => {
  it('adds counts and computes nearest-rank percentiles in any order', () => {
    const into = emptyCounts();
    addCounts(into, { created: 1, updated: 2, unchanged: 3, failed: 4, retried: 5 });
    addCounts(into, { created: 1, updated: 0, unchanged: 0, failed: 0, retried: 1 });
    assert.deepEqual(into, { created: 2, updated: 2, unchanged: 3, failed: 4, retried: 6 });
    assert.equal(succeededOf(into), 7);
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    assert.deepEqual(latencyStats(values), { total: 5050, p50: 50, p95: 95, p99: 99, max: 100 });
    assert.deepEqual(latencyStats([]), { total: 0, p50: 0, p95: 0, p99: 0, max: 0 });
    assert.deepEqual(latencyStats([7]), { total: 7, p50: 7, p95: 7, p99: 7, max: 7 });
  });
});

describe('batch sizes (how provisionUsers hands chunks to its batches)', () => {
  const sizes = (chunks: number, perBatch: number, lanes: number) => {
    const out: number[] = [];
    for (let left = chunks; left > 0; left -= out[out.length - 1]) out.push(nextBatchSize(left, perBatch, lanes));
    return out;
  };

  it('a small run fills every lane: 10 Bulk requests over 4 free lanes start as 4 batches (3, 3, 2, 2), not 2 of 5', () => {
    // provisionUsers' first wave shares what is left among the lanes still free.
    const firstWave: number[] = [];
    for (let left = 10, free = 4; free > 0; free--) {
      firstWave.push(nextBatchSize(left, 5, free));
      left -= firstWave[firstWave.length - 1];
    }
    assert.deepEqual(firstWave, [3, 3, 2, 2]);
    assert.deepEqual(sizes(3, 5, 4), [1, 1, 1]);
    assert.deepEqual(sizes(10, 5, 4), [3, 2, 2, 1, 1, 1], 'shared among all lanes (after the first wave)');
    assert.equal(batchesFor(10, 5, 4), 6);
  });

  it('a large run keeps chunksPerBatch, and its last batches shrink so that the lanes end together', () => {
    const hundred = sizes(100, 5, 4);
    assert.deepEqual(hundred.slice(0, 17), Array(17).fill(5));
    assert.deepEqual(hundred.slice(17), [4, 3, 2, 2, 1, 1, 1, 1]);
    assert.equal(
      hundred.reduce((a, b) => a + b, 0),
      100,
    );
    assert.deepEqual(sizes(12, 6, 1), [6, 6], 'one lane: full batches');
    assert.equal(batchesFor(0, 5, 4), 0);
  });

  it('a small per-resource run is spread over every lane: its slices are halved, largest first, never below one record', () => {
    const spread = spreadSlices([chunk('c0', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), chunk('c1', [10, 11, 12])], 4);
    assert.deepEqual(
      spread.map((c) => [c.id, indicesOf(c.ranges)]),
      [
        ['c0aa', [0, 1, 2]],
        ['c0ab', [3, 4]],
        ['c0b', [5, 6, 7, 8, 9]],
        ['c1', [10, 11, 12]],
      ],
    );
    assert.deepEqual(
      spreadSlices([chunk('c0', [0, 1])], 4).map((c) => c.id),
      ['c0a', 'c0b'],
    );
    assert.deepEqual(spreadSlices([], 4), []);
    const many = [chunk('c0', [0, 1]), chunk('c1', [2, 3]), chunk('c2', [4]), chunk('c3', [5])];
    assert.deepEqual(spreadSlices(many, 4), many, 'enough slices already: unchanged');
  });
});
