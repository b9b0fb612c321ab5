import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { temporal } from '@temporalio/proto';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import { readChunkPage } from '../src/activities/claims/chunk-pages';
import { planProvisioning, type PlanInput } from '../src/activities/provisioning';
import { sandboxTenant } from '../src/cli/dev';
import { FailureType } from '../src/core/failures';
import { ScimClient, TenantTokenProvider } from '../src/http';
import type { ChunkDescriptor } from '../src/scim/bulk-plan';
import { userSchemaModel, type UserSchemaModel } from '../src/scim/user-validation';
import type { TemporalEnvironment } from '../src/temporal/server';
import { provisionUsers, type ProvisionUsersInput } from '../src/workflows';
import { MAX_CHUNK_OUTCOMES, MAX_LATENCY_SAMPLES } from '../src/workflows/provision-users/totals';
import { startTestTemporal, startTestWorker, type TestWorker } from './helpers/temporal';

// Plans that stay small: a file source's plan comes as a first page of chunk descriptors plus
// stored pages read one at a time, so the planning result, every page read and every
// continue-as-new input stay the same size whatever the source's size. Measured from the
// histories of a real run (Temporal dev server, worker, CXone sandbox on loopback).

const ROOT = path.join(__dirname, '..', '..');
const MAPPING = JSON.parse(
  fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'provision', 'mapping.json'), 'utf8'),
) as unknown;
const CSV_HEADER = 'employee_id,email,first_name,last_name,department,enabled,phone';

/** `n` records; every `invalidEvery`-th one has no email (invalid), which splits the chunks' index ranges. */
function writeCsv(file: string, prefix: string, n: number, invalidEvery = 0): void {
  const rows = Array.from({ length: n }, (_, i) => {
    const email = invalidEvery > 0 && i % invalidEvery === invalidEvery - 1 ? '' : `${prefix}.user${i}@example.com`;
    return `${prefix}${i},${email},Given${i},Family${i},Dept${i % 3},true,+1 555 ${String(i).padStart(4, '0')}`;
  });
  fs.writeFileSync(file, `${[CSV_HEADER, ...rows].join('\n')}\n`);
}

/** A page of 10 descriptors, each with its claim's reference (a path in a temporary folder): about 3 kB. */
const PAGE_BYTES = 10 * 400;

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const payloadBytes = (payloads: temporal.api.common.v1.IPayloads | null | undefined) =>
  (payloads?.payloads ?? []).reduce((n, p) => n + (p.data?.length ?? 0), 0);

/** The result sizes of each completed activity of `type` in `events`. */
function activityResultBytes(events: HistoryEvent[], type: string): number[] {
  const scheduled = new Map(
    events.flatMap((e) =>
      e.activityTaskScheduledEventAttributes ? [[String(e.eventId), e.activityTaskScheduledEventAttributes]] : [],
    ),
  );
  return events.flatMap((e) => {
    const done = e.activityTaskCompletedEventAttributes;
    if (!done || scheduled.get(String(done.scheduledEventId))?.activityType?.name !== type) return [];
    return [payloadBytes(done.result)];
  });
}

describe('provisionUsers plans in pages: bounded results and continuations (real worker, CXone sandbox)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'provision-plan-pages-'));
  const savedStore = process.env.CXONE_SCIM_CLAIM_STORE;
  let temporalEnv: TemporalEnvironment;
  let sandbox: Sandbox;
  let worker: TestWorker;
  let model: UserSchemaModel;

  before(async () => {
    process.env.CXONE_SCIM_CLAIM_STORE = path.join(tmp, 'claims');
    sandbox = await startSandbox({ port: 0, bulkMaxOperations: 1000 });
    const client = new ScimClient({ tenant: sandboxTenant(sandbox), tokens: new TenantTokenProvider() });
    const [resourceTypes, schemas] = await Promise.all([client.get('/ResourceTypes'), client.get('/Schemas')]);
    const built = userSchemaModel(resourceTypes.body, schemas.body);
    assert.ok(built.ok);
    model = built.model;
    temporalEnv = await startTestTemporal();
    worker = await startTestWorker(temporalEnv, [sandboxTenant(sandbox)]);
  });

  after(async () => {
    if (savedStore === undefined) delete process.env.CXONE_SCIM_CLAIM_STORE;
    else process.env.CXONE_SCIM_CLAIM_STORE = savedStore;
    await worker?.stop();
    await temporalEnv?.stop();
    await sandbox?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const start = (input: Omit<ProvisionUsersInput, 'tenant'>, id: string) =>
    temporalEnv.testEnv.client.workflow.start(provisionUsers, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `${id}-${Date.now()}`,
      args: [{ tenant: 'sandbox', ...input }],
    });

  const named = (prefix: string) =>
    sandbox
      .listUsers()
      .map((u) => String(u.userName))
      .filter((n) => n.startsWith(`${prefix}.`));

  it('the pages of a plan hold, in order, exactly the descriptors an unpaged plan returns; a page not listed is refused', async () => {
    const file = path.join(tmp, 'planner.csv');
    writeCsv(file, 'planner', 3000, 7);
    const input: PlanInput = {
      tenant: 'sandbox',
      source: { kind: 'file', path: file, mapping: MAPPING },
      model,
      limits: { maxOperations: 9, maxPayloadSize: 1_048_576 },
      maxReported: 10,
    };
    const whole = await planProvisioning(input);
    const paged = await planProvisioning({ ...input, chunksPerPage: 20 });
    assert.equal(whole.pages, undefined, 'without chunksPerPage every descriptor comes with the plan');
    assert.ok(paged.pages, 'with chunksPerPage the plan is paged');
    assert.equal(paged.chunks.length, 20, 'the first page comes with the plan');
    const read: ChunkDescriptor[] = [...paged.chunks];
    for (let page = 1; page <= paged.pages.count; page++) {
      const chunks = await readChunkPage(paged.pages.index, page);
      assert.ok(chunks.length > 0 && chunks.length <= 20, `page ${page}: ${chunks.length} descriptors`);
      read.push(...chunks);
    }
    assert.equal(paged.pages.chunks, read.length - 20);
    assert.deepEqual(read, whole.chunks, 'the same descriptors, in the same order');
    assert.deepEqual(
      [paged.records, paged.valid, paged.invalid, paged.bytes],
      [whole.records, whole.valid, whole.invalid, whole.bytes],
    );
    assert.equal(whole.invalid, Math.floor(3000 / 7));
    await assert.rejects(readChunkPage(paged.pages.index, paged.pages.count + 1), (err: Error & { type?: string }) => {
      assert.equal(err.type, FailureType.PlanUnavailable);
      assert.match(err.message, new RegExp(`lists ${paged.pages?.count} pages, not page ${paged.pages!.count + 1}`));
      return true;
    });
  });

  it('50 000 records in 5 000 Bulk requests: the planning result, each page read and each continue-as-new input stay a few kB', async (t) => {
    const file = path.join(tmp, 'large.csv');
    writeCsv(file, 'large', 50_000);
    const handle = await start(
      {
        source: { path: file, mapping: MAPPING },
        maxOperationsPerRequest: 10,
        chunksPerPage: 10,
        chunksPerBatch: 5,
        maxChunksInFlight: 2,
        historyEventLimit: 80,
      },
      'plan-pages-large',
    );
    const client = temporalEnv.testEnv.client;
    // Until the run has continued as new twice (reading pages on the way), then stop it.
    const deadline = Date.now() + 180_000;
    let runs: HistoryEvent[][] = [];
    for (;;) {
      runs = [];
      let runId: string | undefined = (await handle.describe()).runId;
      while (runId) {
        const events: HistoryEvent[] =
          (await client.workflow.getHandle(handle.workflowId, runId).fetchHistory()).events ?? [];
        runs.unshift(events);
        runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
      }
      if (runs.length >= 3) break;
      assert.ok(Date.now() < deadline, `the run continued as new ${runs.length - 1} time(s) in 3 minutes`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await handle.terminate('measured');

    const [plan] = activityResultBytes(runs[0], 'planProvisioning');
    const pages = runs.flatMap((events) => activityResultBytes(events, 'readChunkPage'));
    const continuations = runs
      .slice(1)
      .map((events) => payloadBytes(events[0]?.workflowExecutionStartedEventAttributes?.input));
    const figures = `plan ${plan} B, pages ${pages.join(' ')} B, continuations ${continuations.join(' ')} B`;
    t.diagnostic(figures);
    // Unpaged, the plan of 5 000 descriptors was about 1 MB, and so was the first continuation.
    assert.ok(plan > 0 && plan < PAGE_BYTES + 2048, `the planning result is about one page: ${figures}`);
    assert.ok(pages.length >= 2, `pages were read: ${figures}`);
    assert.ok(
      pages.every((bytes) => bytes > 0 && bytes < PAGE_BYTES),
      `each page read is one page of 10 descriptors: ${figures}`,
    );
    // A continuation carries the chunks in hand (less than two pages), the page reference, totals
    // and bounded samples (chunk outcomes, latencies): bounded whatever the source's size.
    const continuationBound = 2 * PAGE_BYTES + MAX_CHUNK_OUTCOMES * 320 + MAX_LATENCY_SAMPLES * 8 + 8192;
    assert.ok(
      continuations.every((bytes) => bytes < continuationBound),
      `each continue-as-new input is bounded: ${figures}`,
    );
    // The largest event of the run (of any kind) is bounded too.
    const largest = Math.max(...runs.flat().map((e) => JSON.stringify(e).length));
    assert.ok(largest < 2 * continuationBound, `largest event ${largest} characters as JSON: ${figures}`);
  });

  it('a stored page gone after planning: the run stops with PlanUnavailable naming the page, after the batches it started', async () => {
    const store = path.join(tmp, 'claims-lost-page');
    process.env.CXONE_SCIM_CLAIM_STORE = store;
    const file = path.join(tmp, 'lost-page.csv');
    writeCsv(file, 'lostpage', 12);
    // Two one-request batches, one after the other, at 300 ms a request, before the first stored page is read.
    sandbox.setSwitches({ latencyMs: 300 });
    try {
      const handle = await start(
        {
          source: { path: file, mapping: MAPPING },
          maxOperationsPerRequest: 2,
          chunksPerPage: 2,
          chunksPerBatch: 1,
          maxChunksInFlight: 1,
        },
        'plan-pages-lost',
      );
      // Once the plan is made, its stored pages (not the chunks' users) are removed.
      const deadline = Date.now() + 60_000;
      for (;;) {
        const events = (await handle.fetchHistory()).events ?? [];
        if (activityResultBytes(events, 'planProvisioning').length > 0) break;
        assert.ok(Date.now() < deadline, 'the plan was made within a minute');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      fs.rmSync(path.join(store, 'plans'), { recursive: true, force: true });
      const failed = await handle.result().then(
        () => assert.fail('the run should fail'),
        (err: Error & { cause?: Error & { type?: string } }) => err.cause,
      );
      assert.equal(failed?.type, FailureType.PlanUnavailable);
      assert.match(failed?.message ?? '', /^plan page 1: cannot read the index of the plan pages at /);
      assert.equal(named('lostpage').length, 4, 'the two batches started before the page read finished');
    } finally {
      sandbox.setSwitches({ latencyMs: 0 });
      process.env.CXONE_SCIM_CLAIM_STORE = path.join(tmp, 'claims');
    }
  });

  it('a paged plan, Bulk and per resource, across continue-as-new: every user provisioned once, exact totals', async () => {
    for (const mode of ['bulk', 'per-resource'] as const) {
      const prefix = `paged-${mode}`;
      const file = path.join(tmp, `${prefix}.csv`);
      writeCsv(file, prefix, 300, 11);
      const handle = await start(
        {
          source: { path: file, mapping: MAPPING },
          mode,
          ...(mode === 'bulk' ? { maxOperationsPerRequest: 3 } : { recordsPerSlice: 3 }),
          chunksPerPage: 7,
          chunksPerBatch: 3,
          maxChunksInFlight: 3,
          historyEventLimit: 120,
        },
        prefix,
      );
      const result = await handle.result();
      const invalid = Math.floor(300 / 11);
      assert.deepEqual(
        [result.totals.created, result.totals.failed, result.totals.invalid],
        [300 - invalid, 0, invalid],
        `${mode}: totals`,
      );
      assert.equal(result.chunks.planned, Math.ceil((300 - invalid) / 3), `${mode}: chunks planned`);
      assert.ok(result.runs > 1, `${mode}: the run continued as new (${result.runs} runs)`);
      const users = named(prefix);
      assert.equal(users.length, 300 - invalid, `${mode}: every valid user in the sandbox`);
      assert.equal(new Set(users).size, users.length, `${mode}: no duplicates`);
    }
  });
});
