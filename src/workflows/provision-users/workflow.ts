import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  condition,
  continueAsNew,
  defineQuery,
  executeChild,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { ChunkSource, PlanSource } from '../../activities/provisioning';
import { indicesOf, type ChunkDescriptor } from '../../scim/bulk-plan';
import { latencyStats } from '../../core/tally';
import { FailureType } from '../../core/failures';
import { recordLimitsOf, type RecordLimits } from '../../scim/record-checks';
import { writeCapabilitiesOf } from '../../scim/user-match';
import { bulkLimitsOf, userSchemaModel, type UserSchemaModel } from '../../scim/user-validation';
import { providerCallUntil } from '../activity-options';
import { provisionUsersBatch } from './batch-workflow';
import {
  batchesFor,
  emptyTally,
  handOverJournals,
  mergeTally,
  nextBatchSize,
  spreadSlices,
  type BatchOptions,
  type ProvisionProgress,
  type ProvisionTotals,
} from './totals';
import {
  carriedSteps,
  chunksLeft,
  DEFAULTS,
  FALLBACK_LIMITS,
  plannedChunks,
  requestSummary,
  resultOf,
  settingsOf,
  totalsOf,
  writeModeOf,
  type Continuation,
  type ProvisionUsersInput,
  type ProvisionUsersResult,
  type Settings,
} from './contract';
import { legacyRunModel, patchedSince } from '../history-compat';
import { linkManagersOfRun, withManagerLinks } from './manager-links';
import { ReportRecorder } from '../report';
import { countRecords } from '../business-metrics';
import { fileNameOf, withSummary } from '../ui-metadata';

export type { ProvisionUsersInput, ProvisionUsersResult, WriteMode } from './contract';

export const progressQuery = defineQuery<ProvisionProgress>('progress');

/**
 * Job 2: bulk user provisioning.
 *
 *   discovery GET /ServiceProviderConfig (bulk limits), /ResourceTypes, /Schemas
 *     ─▶ planProvisioning (activity: read the source once, streaming, map, validate every record
 *        against the discovered schemas, size and pack Bulk requests, store each request's users
 *        as a claim; returns index ranges and claim references, never users — for a file source
 *        the first page of chunksPerPage of them, the other pages stored: readChunkPage reads
 *        the next one when the chunks in hand run short)
 *     ─▶ batches of chunks as child workflows provisionUsersBatch, maxChunksInFlight at once
 *          (each: POST /Bulk ─▶ sync result or async job polled with timers ─▶ 409 → lookup,
 *           update if different; 413 → split; per-operation 429/5xx → resend later)
 *     ─▶ totals and bounded report
 *   history past the limit ─▶ wait for running batches ─▶ continue-as-new with totals, the
 *   chunks in hand and the reference to the pages not read yet (a bounded state).
 *
 * Answers `progress` (counts) and `report` (steps, totals, and at the end the result).
 */
export async function provisionUsers(
  input: ProvisionUsersInput,
  continuation?: Continuation,
): Promise<ProvisionUsersResult> {
  const report = new ReportRecorder<Record<string, unknown>, ProvisionUsersResult>(input.tenant, requestSummary(input));
  let settings: Settings | undefined;
  let state: Continuation | undefined = continuation;
  let phase: ProvisionProgress['phase'] = state ? 'provisioning' : 'discovering';
  const running = new Map<number, { chunks: number; operations: number }>();
  if (state) report.steps.push(...state.steps);
  // Discovery's three requests at once; batches sized by nextBatchSize, and a small per-resource
  // run's slices spread over every lane by spreadSlices. Runs whose history predates the patch
  // replay as they ran: discovery in turn, always chunksPerBatch chunks per batch.
  const spread = patchedSince('provision-spread-work');
  // A file source's plan in pages (the run holds about one page of chunks whatever the source's
  // size); runs whose history predates the patch replay with the whole plan in their state.
  const paged = patchedSince('provision-plan-pages');

  const totals = () =>
    totalsOf(
      state,
      [...running.values()].reduce((n, b) => n + b.operations, 0),
    );
  setHandler(progressQuery, (): ProvisionProgress => {
    const chunksPerBatch = settings?.chunksPerBatch ?? DEFAULTS.chunksPerBatch;
    const planned = state?.plan.planned ?? 0;
    const inFlightChunks = [...running.values()].reduce((n, b) => n + b.chunks, 0);
    const lanes = settings?.maxChunksInFlight ?? DEFAULTS.maxChunksInFlight;
    const batches = !state
      ? 0
      : spread
        ? state.batchesDone + running.size + batchesFor(chunksLeft(state), chunksPerBatch, lanes)
        : Math.ceil(planned / chunksPerBatch);
    return {
      phase,
      ...totals(),
      chunks: { planned, done: state?.chunksDone ?? 0, inFlight: inFlightChunks },
      batches: { planned: batches, done: state?.batchesDone ?? 0, inFlight: running.size },
      run: state?.run ?? 1,
    };
  });
  report.useTotals(() => {
    // Every record of the source is attempted, an invalid one failed (records in flight are neither yet).
    const t = totals();
    const attempted = t.validated + t.invalid;
    return {
      attempted,
      succeeded: t.succeeded,
      failed: t.failed + t.invalid,
      successRate: attempted === 0 ? 1 : t.succeeded / attempted,
      latencyMs: latencyStats(state?.tally.latencies ?? []),
    };
  });

  return report.complete(
    async () => {
      settings = settingsOf(input);
      state ??= await prepare(input, settings, report, (p) => (phase = p), spread, paged);
      phase = 'provisioning';
      const done = await provision(input, settings, state, report, running, spread);
      if (!done) {
        state.steps = carriedSteps(report.steps);
        state.run += 1;
        await continueAsNew<typeof provisionUsers>(input, state);
      }
      // Second pass: users whose manager this run created, linked now that it exists (history-compat: provision-manager-links).
      const managerLinks = patchedSince('provision-manager-links')
        ? await linkManagersOfRun(input, state, settings.maxReported, report)
        : undefined;
      return withManagerLinks(resultOf(input, state, settings.maxReported), managerLinks);
    },
    (result) => outcomeOf(result.totals),
    (end) => (phase = end),
  );
}

/** All records provisioned: succeeded; some: partial; none of a non-empty source: failed (the run itself ended normally). */
function outcomeOf(totals: ProvisionTotals): 'succeeded' | 'partial' | 'failed' {
  if (totals.failed + totals.invalid === 0) return 'succeeded';
  return totals.succeeded === 0 ? 'failed' : 'partial';
}

/** The record limits for the plan (checked by settingsOf before any call). */
function recordLimitsFor(input: ProvisionUsersInput): { recordLimits?: RecordLimits } {
  const checked = recordLimitsOf(input.recordLimits);
  return checked.ok ? { recordLimits: checked.limits } : {};
}

/** Discovery, model, limits and the plan: the first run only. */
async function prepare(
  input: ProvisionUsersInput,
  settings: Settings,
  report: ReportRecorder<Record<string, unknown>, ProvisionUsersResult>,
  setPhase: (phase: ProvisionProgress['phase']) => void,
  spread: boolean,
  paged: boolean,
): Promise<Continuation> {
  const deadline = Date.now() + settings.retryDeadlineMinutes * 60_000;
  const { discoverServiceProviderConfig, discoverResourceTypes, discoverSchemas } = proxyActivities<Activities>(
    providerCallUntil(deadline),
  );
  const { planProvisioning } = proxyActivities<Activities>(
    providerCallUntil(deadline, { startToCloseTimeout: '10 minutes', heartbeatTimeout: '30 seconds' }),
  );
  // The three documents at once (in the report in this order, each timed from the start).
  const started = Date.now();
  const calls = spread
    ? ([
        discoverServiceProviderConfig.executeWithOptions(withSummary('GET /ServiceProviderConfig'), [input.tenant]),
        discoverResourceTypes.executeWithOptions(withSummary('GET /ResourceTypes'), [input.tenant]),
        discoverSchemas.executeWithOptions(withSummary('GET /Schemas'), [input.tenant]),
      ] as const)
    : undefined;
  // Handled here so that a failure of one while another is awaited is never an unhandled rejection; awaited below.
  for (const call of calls ?? []) call.catch(() => undefined);
  const spc = await report.step(
    'discover ServiceProviderConfig',
    () =>
      calls?.[0] ??
      discoverServiceProviderConfig.executeWithOptions(withSummary('GET /ServiceProviderConfig'), [input.tenant]),
    (d) => ({ httpStatus: d.httpStatus, etagAfter: d.etag, payloadSha256: d.payloadSha256 }),
    calls ? started : undefined,
  );
  const resourceTypes = await report.step(
    'discover ResourceTypes',
    () => calls?.[1] ?? discoverResourceTypes.executeWithOptions(withSummary('GET /ResourceTypes'), [input.tenant]),
    (d) => ({ httpStatus: d.httpStatus, payloadSha256: d.payloadSha256 }),
    calls ? started : undefined,
  );
  const schemas = await report.step(
    'discover Schemas',
    () => calls?.[2] ?? discoverSchemas.executeWithOptions(withSummary('GET /Schemas'), [input.tenant]),
    (d) => ({ httpStatus: d.httpStatus, payloadSha256: d.payloadSha256 }),
    calls ? started : undefined,
  );
  const bulk = bulkLimitsOf(spc.body);
  if (!bulk.ok) throw ApplicationFailure.nonRetryable(bulk.problem, FailureType.UnsupportedProvider);
  const capabilities = writeCapabilitiesOf(spc.body);
  const mode = writeModeOf(input.mode ?? 'auto', capabilities);
  const built = userSchemaModel(resourceTypes.body, schemas.body);
  if (built.warnings.length > 0) {
    // Whatever discovery could not read is named where the report shows discovery (and in the worker log).
    const step = report.steps[report.steps.length - 1];
    step.detail = `${built.warnings.length} warning(s): ${built.warnings.join('; ')}`;
    log.warn("discovery dropped parts of the provider's schema documents", { warnings: built.warnings });
  }
  if (!built.ok) throw ApplicationFailure.nonRetryable(built.problem, FailureType.UnsupportedProvider);
  const model: UserSchemaModel = built.model;
  const discovered = { maxOperations: bulk.limits.maxOperations, maxPayloadSize: bulk.limits.maxPayloadSize };
  // The provider's limits (a fallback when it states none), lowered by the input's caps.
  const cap = (wanted: number | undefined, provider: number, fallback: number) =>
    Math.min(provider > 0 ? provider : fallback, wanted ?? Infinity);
  // Per resource, a "chunk" is a slice of records for one activity, with no size limit.
  const limits =
    mode === 'bulk'
      ? {
          maxOperations: cap(input.maxOperationsPerRequest, discovered.maxOperations, FALLBACK_LIMITS.maxOperations),
          maxPayloadSize: cap(input.maxPayloadBytes, discovered.maxPayloadSize, FALLBACK_LIMITS.maxPayloadSize),
          discovered,
        }
      : { maxOperations: settings.recordsPerSlice, maxPayloadSize: Number.MAX_SAFE_INTEGER, discovered };

  setPhase('planning');
  const source: PlanSource = input.users
    ? { kind: 'inline', users: input.users }
    : { kind: 'file', ...(input.source as NonNullable<ProvisionUsersInput['source']>) };
  const plan = await report.step(
    'plan: read, map, validate, chunk',
    async () => {
      const planned = await planProvisioning.executeWithOptions(
        withSummary(
          `plan: read ${input.source ? fileNameOf(input.source.path) : `${input.users?.length ?? 0} inline users`}, map, validate, ${mode === 'bulk' ? 'pack Bulk requests' : 'slice'}`,
        ),
        [
          {
            tenant: input.tenant,
            source,
            model,
            limits,
            maxReported: settings.maxReported,
            ...recordLimitsFor(input),
            ...(paged ? { chunksPerPage: settings.chunksPerPage } : {}),
          },
        ],
      );
      return mode === 'per-resource' && spread && !planned.pages
        ? { ...planned, chunks: spreadSlices(planned.chunks, settings.maxChunksInFlight) }
        : planned;
    },
    (p) => ({
      ...(p.file ? { payloadSha256: p.file.sha256 } : {}),
      detail: `${p.file?.version ? `source version ${p.file.version}; ` : ''}${p.records} records: ${p.valid} valid, ${p.invalid} invalid; ${mode === 'bulk' ? `${plannedChunks(p)} Bulk requests (≤ ${limits.maxOperations} operations, ≤ ${limits.maxPayloadSize} bytes)` : `${plannedChunks(p)} slices of ≤ ${limits.maxOperations} records, written one resource at a time (${input.mode === 'per-resource' ? 'mode per-resource' : 'the provider has no Bulk'})`}`,
    }),
  );
  const { chunks, pages, ...planSummary } = plan;
  const planned = plannedChunks(plan);
  countRecords(input.tenant, { invalid: plan.invalid });
  report.details.set(
    'plan',
    `plan: ${plan.records} records (${plan.valid} valid, ${plan.invalid} invalid) from ${plan.file ? `${fileNameOf(plan.file.path)} sha256 ${plan.file.sha256.slice(0, 12)}${plan.file.version ? `, version ${plan.file.version}` : ''}` : 'inline users'}; ${planned} ${mode === 'bulk' ? 'Bulk requests' : 'slices'}${pages ? ` (${pages.count + 1} pages)` : ''}`,
  );
  return {
    model: { endpoint: model.endpoint, patchSupported: capabilities.patch, mode, capabilities, deadline },
    limits,
    plan: { ...planSummary, planned },
    chunks,
    ...(pages ? { pages: { ...pages, next: 1 } } : {}),
    nextBatch: 0,
    submitted: 0,
    chunksDone: 0,
    batchesDone: 0,
    tally: emptyTally(),
    steps: [],
    run: 1,
  };
}

/** Runs batches until all are done (true) or this run's history is long enough to continue as new (false). */
async function provision(
  input: ProvisionUsersInput,
  settings: Settings,
  state: Continuation,
  report: ReportRecorder<Record<string, unknown>, ProvisionUsersResult>,
  running: Map<number, { chunks: number; operations: number }>,
  spread: boolean,
): Promise<boolean> {
  const { maxChunksInFlight, chunksPerBatch, historyEventLimit, maxReported } = settings;
  const model = legacyRunModel(state.model, () => Date.now() + settings.retryDeadlineMinutes * 60_000);
  const options: BatchOptions = {
    tenant: input.tenant,
    endpoint: model.endpoint,
    patchSupported: model.patchSupported,
    mode: model.mode,
    capabilities: model.capabilities,
    recordsInFlight: settings.recordsInFlight,
    preferAsync: input.preferAsync === true,
    deadline: model.deadline,
    historyEventLimit,
    maxReported,
    pollInitialMs: settings.pollInitialMs,
  };
  const workflowId = workflowInfo().workflowId;
  const firstBatch = state.nextBatch;
  let failure: unknown;
  let finished = 0;
  let started = 0;

  const startBatch = () => {
    // The first batches of a run share what is left among the lanes still free (10 requests, 4
    // lanes: 3, 3, 2, 2); later ones among all lanes, so that the last ones end together.
    const lanes = finished === 0 ? maxChunksInFlight - running.size : maxChunksInFlight;
    const chunks = state.chunks.splice(
      0,
      spread ? nextBatchSize(chunksLeft(state), chunksPerBatch, lanes) : chunksPerBatch,
    );
    const batch = state.nextBatch++;
    const operations = chunks.reduce((n, c) => n + c.operations, 0);
    state.submitted += operations;
    running.set(batch, { chunks: chunks.length, operations });
    started++;
    executeChild(provisionUsersBatch, {
      workflowId: `${workflowId}-batch-${batch}`,
      staticSummary: `batch ${batch}: ${chunks.length} ${model.mode === 'bulk' ? 'Bulk requests' : 'slices'}, ${operations} users · tenant ${input.tenant}`,
      args: [
        {
          batch,
          options,
          source: batchSource(input, state, chunks),
          work: chunks.map((chunk) => ({ chunk, attempt: 1 })),
          journals: handOverJournals(state.tally),
        },
      ],
    }).then(
      (tally) => {
        mergeTally(state.tally, tally, maxReported);
        const { created, updated, unchanged, failed } = tally;
        countRecords(input.tenant, { created, updated, unchanged, failed });
        state.chunksDone += chunks.length;
        state.batchesDone += 1;
        running.delete(batch);
        finished++;
        showProgress();
      },
      (err) => {
        // Surface the batch's own reason (e.g. SourceChanged), not "child workflow failed".
        const cause =
          err instanceof ChildWorkflowFailure && err.cause instanceof ApplicationFailure ? err.cause : undefined;
        failure ??= cause ? ApplicationFailure.nonRetryable(`batch ${batch}: ${cause.message}`, cause.type) : err;
        running.delete(batch);
        finished++;
      },
    );
  };

  const showProgress = () => {
    const t = totalsOf(state, 0);
    report.details.set(
      'progress',
      `${state.chunksDone} of ${state.plan.planned} ${model.mode === 'bulk' ? 'Bulk requests' : 'slices'} settled, ${running.size} batches running (run ${state.run}); ${t.succeeded} users succeeded, ${t.failed} failed, ${t.invalid} invalid`,
    );
  };
  showProgress();

  // The next stored page of the plan, into the chunks in hand.
  const { readChunkPage } = proxyActivities<Activities>(
    providerCallUntil(model.deadline, { startToCloseTimeout: '2 minutes' }),
  );
  const readPage = async (pages: NonNullable<Continuation['pages']>) => {
    const chunks = await readChunkPage.executeWithOptions(
      withSummary(`read page ${pages.next + 1} of ${pages.count + 1} of the plan`),
      [{ index: pages.index, page: pages.next }],
    );
    state.chunks.push(...chunks);
    if (pages.next < pages.count)
      state.pages = { ...pages, next: pages.next + 1, chunks: pages.chunks - chunks.length };
    else delete state.pages;
  };

  const historyFull = () => {
    const info = workflowInfo();
    return info.historyLength >= historyEventLimit || info.continueAsNewSuggested;
  };

  await report.step(
    `provision: batches from ${firstBatch}${state.run > 1 ? ` (run ${state.run})` : ''}`,
    async () => {
      for (;;) {
        // At least one batch per run, so that a very low limit still makes progress.
        while (
          failure === undefined &&
          running.size < maxChunksInFlight &&
          chunksLeft(state) > 0 &&
          (started === 0 || !historyFull())
        ) {
          if (state.pages && state.chunks.length < chunksPerBatch) {
            const page = state.pages.next;
            await readPage(state.pages).catch((err: unknown) => {
              // Surface the activity's own reason (e.g. PlanUnavailable), not "activity failed".
              const cause =
                err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause : undefined;
              failure ??= cause
                ? ApplicationFailure.nonRetryable(`plan page ${page}: ${cause.message}`, cause.type)
                : err;
            });
            continue;
          }
          startBatch();
        }
        if (failure !== undefined) {
          // A page that could not be read, or a batch that failed while one was read.
          await condition(() => running.size === 0);
          throw failure;
        }
        if (running.size === 0) break;
        const seen = finished;
        await condition(() => finished > seen);
        if (failure !== undefined) {
          await condition(() => running.size === 0);
          throw failure;
        }
      }
    },
    () => ({
      detail: `batches ${firstBatch}–${state.nextBatch - 1}: ${state.chunksDone} of ${state.plan.planned} Bulk requests settled so far`,
    }),
  );
  state.tally.largestHistoryLength = Math.max(state.tally.largestHistoryLength, workflowInfo().historyLength);
  return chunksLeft(state) === 0;
}

/** The file as planned (each chunk carries its users' claim), or just the inline users these chunks need (small runs by design). */
function batchSource(input: ProvisionUsersInput, state: Continuation, chunks: ChunkDescriptor[]): ChunkSource {
  if (state.plan.file) return state.plan.file;
  const indices = chunks.flatMap((c) => indicesOf(c.ranges));
  const offset = Math.min(...indices);
  return { kind: 'inline', offset, users: (input.users ?? []).slice(offset, Math.max(...indices) + 1) };
}
