import {
  ApplicationFailure,
  ChildWorkflowFailure,
  condition,
  ContinueAsNew,
  continueAsNew,
  defineQuery,
  executeChild,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ChunkSource, PlanSource, ProvisionPlan } from '../activities/provisioning';
import type { SourceFormat } from '../activities/user-source';
import { indicesOf, type ChunkDescriptor } from '../scim/bulk-plan';
import type { User } from '../scim/codecs';
import { FailureType } from '../scim/failures';
import { compileMapping } from '../scim/mapping';
import { recordLimitsOf, type RecordLimits } from '../scim/record-checks';
import { bulkLimitsOf, userSchemaModel, type UserSchemaModel } from '../scim/user-validation';
import { PROVIDER_CALL } from './activity-options';
import { provisionUsersBatch } from './provision-users-batch';
import {
  emptyTally,
  latencyStats,
  mergeTally,
  type BatchOptions,
  type BatchTally,
  type ChunkOutcome,
  type InvalidRecord,
  type ProvisionProgress,
  type ProvisionTotals,
  type RecordFailure,
} from './provision-users-model';
import { ReportRecorder, type ReportStep } from './report';

const { discoverServiceProviderConfig, discoverResourceTypes, discoverSchemas } = proxyActivities<Activities>(PROVIDER_CALL);
const { planProvisioning } = proxyActivities<Activities>({
  ...PROVIDER_CALL,
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
});

export const progressQuery = defineQuery<ProvisionProgress>('progress');

export interface ProvisionUsersInput {
  tenant: string;
  /** Inline SCIM Users, for small runs (they travel in workflow history). */
  users?: Array<User | Record<string, unknown>>;
  /** A file the worker can read; only index ranges and counts travel in workflow history. */
  source?: {
    path: string;
    /** Default: from the extension (.csv, .json, .ndjson / .jsonl). */
    format?: SourceFormat;
    /** Attribute mapping (src/scim/mapping.ts); default: CSV headers are SCIM paths, JSON records are Users. */
    mapping?: unknown;
  };
  /** Bulk requests outstanding at once (one per running batch). Default 4. */
  maxChunksInFlight?: number;
  /** Bulk requests per child workflow (batch). Default 5. */
  chunksPerBatch?: number;
  /** Operations per Bulk request, at most the provider's bulk.maxOperations. */
  maxOperationsPerRequest?: number;
  /** Request body bytes, at most the provider's bulk.maxPayloadSize. */
  maxPayloadBytes?: number;
  /** Ask for asynchronous processing (`Prefer: respond-async`); the provider may choose it anyway. */
  preferAsync?: boolean;
  /** Sends of one record before a transient per-operation failure is final. Default 5. */
  maxOperationAttempts?: number;
  /** History length at which a run continues as new (parent and batches). Default 5000, well below 10 240. */
  historyEventLimit?: number;
  /** Invalid records and failures described in the report (all are counted). Default 100. */
  maxReported?: number;
  /** First async poll delay in ms (doubles up to 30 s). Default 500. */
  pollInitialMs?: number;
  /** Longest userName and other values a record may carry (defaults 256 and 4096 characters). */
  recordLimits?: Partial<RecordLimits>;
}

export interface ProvisionUsersResult {
  tenant: string;
  source: { kind: 'file' | 'inline'; path?: string; format?: SourceFormat; sha256?: string; records: number };
  limits: { maxOperations: number; maxPayloadSize: number; discovered: { maxOperations: number; maxPayloadSize: number } };
  totals: ProvisionTotals;
  /** succeeded / (validated + invalid); 1 when the source is empty. */
  successRate: number;
  /** Bulk request latencies (first POST to settled result, async wait included). */
  latencyMs: { total: number; p50: number; p95: number; max: number };
  /** planned: Bulk requests in the plan; requests: Bulk requests that ended (splits and resends add to them). */
  chunks: { planned: number; requests: number; outcomes: ChunkOutcome[]; outcomesOmitted: number };
  invalidRecords: InvalidRecord[];
  invalidOmitted: number;
  failures: RecordFailure[];
  failuresOmitted: number;
  batches: number;
  /** Runs of this workflow (continue-as-new starts a new one). */
  runs: number;
  /** Runs of all its batches together (more than `batches` when batches continued as new). */
  batchRuns: number;
  /** Largest history length any run of this workflow or its batches reached (as seen by the workflow). */
  largestHistoryLength: number;
}

/** What a run hands to the next one on continue-as-new. */
interface Continuation {
  model: { endpoint: string; patchSupported: boolean };
  limits: ProvisionUsersResult['limits'];
  plan: Omit<ProvisionPlan, 'chunks'> & { planned: number };
  /** Chunks not yet handed to a batch. */
  chunks: ChunkDescriptor[];
  nextBatch: number;
  submitted: number;
  chunksDone: number;
  batchesDone: number;
  tally: BatchTally;
  steps: ReportStep[];
  run: number;
}

const DEFAULTS = {
  maxChunksInFlight: 4,
  chunksPerBatch: 5,
  maxOperationAttempts: 5,
  historyEventLimit: 5000,
  maxReported: 100,
  pollInitialMs: 500,
};
/** Used when the provider does not state a limit (0). */
const FALLBACK_LIMITS = { maxOperations: 1000, maxPayloadSize: 1_048_576 };

function invalidInput(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, FailureType.InvalidProvisionInput);
}

/** What the report shows as the request: the options, never the users themselves. */
function requestSummary(input: ProvisionUsersInput): Record<string, unknown> {
  const { users, ...rest } = input;
  return { ...rest, ...(users ? { users: `${users.length} inline users` } : {}) };
}

function positive(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw invalidInput(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}

type Settings = typeof DEFAULTS;

/** Checks the whole input before any call, and fills in the defaults. */
function settingsOf(input: ProvisionUsersInput): Settings {
  if (!input.tenant) throw invalidInput('tenant is required');
  if ((input.users === undefined) === (input.source === undefined)) throw invalidInput('give either users (inline) or source (a file), not both and not neither');
  if (input.users !== undefined && !Array.isArray(input.users)) throw invalidInput('users must be an array of SCIM Users');
  if (input.source !== undefined && (typeof input.source.path !== 'string' || input.source.path === '')) throw invalidInput('source.path is required');
  if (input.source?.mapping !== undefined) {
    const mapping = compileMapping(input.source.mapping);
    if (!mapping.ok) throw invalidInput(`source.mapping is invalid: ${mapping.problems.join('; ')}`);
  }
  const recordLimits = recordLimitsOf(input.recordLimits);
  if (!recordLimits.ok) throw invalidInput(recordLimits.problem);
  positive(input.maxOperationsPerRequest, 'maxOperationsPerRequest', 1);
  positive(input.maxPayloadBytes, 'maxPayloadBytes', 1);
  const settings = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as Array<keyof Settings>) settings[key] = positive(input[key], key, DEFAULTS[key]);
  return settings;
}

/**
 * Job 2: bulk user provisioning.
 *
 *   discovery GET /ServiceProviderConfig (bulk limits), /ResourceTypes, /Schemas
 *     ─▶ planProvisioning (activity: read the source, map, validate every record against the
 *        discovered schemas, size and pack Bulk requests; returns index ranges, never users)
 *     ─▶ batches of chunks as child workflows provisionUsersBatch, maxChunksInFlight at once
 *          (each: POST /Bulk ─▶ sync result or async job polled with timers ─▶ 409 → lookup,
 *           update if different; 413 → split; per-operation 429/5xx → resend later)
 *     ─▶ totals and bounded report
 *   history past the limit ─▶ wait for running batches ─▶ continue-as-new with totals and the
 *   chunks not yet handed out.
 *
 * Answers `progress` (counts) and `report` (steps, totals, and at the end the result).
 */
export async function provisionUsers(input: ProvisionUsersInput, continuation?: Continuation): Promise<ProvisionUsersResult> {
  const report = new ReportRecorder<Record<string, unknown>, ProvisionUsersResult>(input.tenant, requestSummary(input));
  let settings: Settings | undefined;
  let state: Continuation | undefined = continuation;
  let phase: ProvisionProgress['phase'] = state ? 'provisioning' : 'discovering';
  const running = new Map<number, { chunks: number; operations: number }>();
  if (state) report.steps.push(...state.steps);

  const totals = () => totalsOf(state, [...running.values()].reduce((n, b) => n + b.operations, 0));
  setHandler(progressQuery, (): ProvisionProgress => {
    const chunksPerBatch = settings?.chunksPerBatch ?? DEFAULTS.chunksPerBatch;
    const planned = state?.plan.planned ?? 0;
    const inFlightChunks = [...running.values()].reduce((n, b) => n + b.chunks, 0);
    return {
      phase,
      ...totals(),
      chunks: { planned, done: state?.chunksDone ?? 0, inFlight: inFlightChunks },
      batches: { planned: Math.ceil(planned / chunksPerBatch), done: state?.batchesDone ?? 0, inFlight: running.size },
      run: state?.run ?? 1,
    };
  });
  report.useTotals(() => {
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

  try {
    settings = settingsOf(input);
    state ??= await prepare(input, settings, report, (p) => (phase = p));
    phase = 'provisioning';
    const done = await provision(input, settings, state, report, running);
    if (!done) {
      state.steps = report.steps;
      state.run += 1;
      await continueAsNew<typeof provisionUsers>(input, state);
    }
    const result = resultOf(input, state, settings.maxReported);
    phase = 'completed';
    report.succeed(result, outcomeOf(result.totals));
    return result;
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    phase = 'failed';
    report.fail(err);
    throw err;
  }
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
): Promise<Continuation> {
  const spc = await report.step(
    'discover ServiceProviderConfig',
    () => discoverServiceProviderConfig(input.tenant),
    (d) => ({ httpStatus: d.httpStatus, etagAfter: d.etag, payloadSha256: d.payloadSha256 }),
  );
  const resourceTypes = await report.step(
    'discover ResourceTypes',
    () => discoverResourceTypes(input.tenant),
    (d) => ({ httpStatus: d.httpStatus, payloadSha256: d.payloadSha256 }),
  );
  const schemas = await report.step(
    'discover Schemas',
    () => discoverSchemas(input.tenant),
    (d) => ({ httpStatus: d.httpStatus, payloadSha256: d.payloadSha256 }),
  );
  const bulk = bulkLimitsOf(spc.body);
  if (!bulk.ok) throw ApplicationFailure.nonRetryable(bulk.problem, FailureType.UnsupportedProvider);
  if (!bulk.limits.supported) throw ApplicationFailure.nonRetryable('the provider does not support Bulk (ServiceProviderConfig bulk.supported is false)', FailureType.UnsupportedProvider);
  const built = userSchemaModel(resourceTypes.body, schemas.body);
  if (built.warnings.length > 0) {
    // Whatever discovery could not read is named where the report shows discovery (and in the worker log).
    const step = report.steps[report.steps.length - 1];
    step.detail = `${built.warnings.length} warning(s): ${built.warnings.join('; ')}`;
    log.warn('discovery dropped parts of the provider\'s schema documents', { warnings: built.warnings });
  }
  if (!built.ok) throw ApplicationFailure.nonRetryable(built.problem, FailureType.UnsupportedProvider);
  const model: UserSchemaModel = built.model;
  const discovered = { maxOperations: bulk.limits.maxOperations, maxPayloadSize: bulk.limits.maxPayloadSize };
  // The provider's limits (a fallback when it states none), lowered by the input's caps.
  const cap = (wanted: number | undefined, provider: number, fallback: number) => Math.min(provider > 0 ? provider : fallback, wanted ?? Infinity);
  const limits = {
    maxOperations: cap(input.maxOperationsPerRequest, discovered.maxOperations, FALLBACK_LIMITS.maxOperations),
    maxPayloadSize: cap(input.maxPayloadBytes, discovered.maxPayloadSize, FALLBACK_LIMITS.maxPayloadSize),
    discovered,
  };

  setPhase('planning');
  const source: PlanSource = input.users ? { kind: 'inline', users: input.users } : { kind: 'file', ...(input.source as NonNullable<ProvisionUsersInput['source']>) };
  const plan = await report.step(
    'plan: read, map, validate, chunk',
    () => planProvisioning({ tenant: input.tenant, source, model, limits, maxReported: settings.maxReported, ...recordLimitsFor(input) }),
    (p) => ({
      ...(p.file ? { payloadSha256: p.file.sha256 } : {}),
      detail: `${p.records} records: ${p.valid} valid, ${p.invalid} invalid; ${p.chunks.length} Bulk requests (≤ ${limits.maxOperations} operations, ≤ ${limits.maxPayloadSize} bytes)`,
    }),
  );
  const { chunks, ...planSummary } = plan;
  const patch = (spc.body as { patch?: { supported?: unknown } }).patch;
  return {
    model: { endpoint: model.endpoint, patchSupported: patch?.supported === true },
    limits,
    plan: { ...planSummary, planned: chunks.length },
    chunks,
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
): Promise<boolean> {
  const { maxChunksInFlight, chunksPerBatch, historyEventLimit, maxReported } = settings;
  const options: BatchOptions = {
    tenant: input.tenant,
    endpoint: state.model.endpoint,
    patchSupported: state.model.patchSupported,
    preferAsync: input.preferAsync === true,
    maxOperationAttempts: settings.maxOperationAttempts,
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
    const chunks = state.chunks.splice(0, chunksPerBatch);
    const batch = state.nextBatch++;
    const operations = chunks.reduce((n, c) => n + c.operations, 0);
    state.submitted += operations;
    running.set(batch, { chunks: chunks.length, operations });
    started++;
    executeChild(provisionUsersBatch, {
      workflowId: `${workflowId}-batch-${batch}`,
      args: [{ batch, options, source: batchSource(input, state, chunks), work: chunks.map((chunk) => ({ chunk, attempt: 1 })) }],
    }).then(
      (tally) => {
        mergeTally(state.tally, tally, maxReported);
        state.chunksDone += chunks.length;
        state.batchesDone += 1;
        running.delete(batch);
        finished++;
      },
      (err) => {
        // Surface the batch's own reason (e.g. SourceChanged), not "child workflow failed".
        const cause = err instanceof ChildWorkflowFailure && err.cause instanceof ApplicationFailure ? err.cause : undefined;
        failure ??= cause ? ApplicationFailure.nonRetryable(`batch ${batch}: ${cause.message}`, cause.type) : err;
        running.delete(batch);
        finished++;
      },
    );
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
        while (failure === undefined && running.size < maxChunksInFlight && state.chunks.length > 0 && (started === 0 || !historyFull())) startBatch();
        if (running.size === 0) break;
        const seen = finished;
        await condition(() => finished > seen);
        if (failure !== undefined) {
          await condition(() => running.size === 0);
          throw failure;
        }
      }
    },
    () => ({ detail: `batches ${firstBatch}–${state.nextBatch - 1}: ${state.chunksDone} of ${state.plan.planned} Bulk requests settled so far` }),
  );
  state.tally.largestHistoryLength = Math.max(state.tally.largestHistoryLength, workflowInfo().historyLength);
  return state.chunks.length === 0;
}

/** The file, or just the inline users these chunks need (inline users are small runs by design). */
function batchSource(input: ProvisionUsersInput, state: Continuation, chunks: ChunkDescriptor[]): ChunkSource {
  if (state.plan.file) return state.plan.file;
  const indices = chunks.flatMap((c) => indicesOf(c.ranges));
  const offset = Math.min(...indices);
  return { kind: 'inline', offset, users: (input.users ?? []).slice(offset, Math.max(...indices) + 1) };
}

function totalsOf(state: Continuation | undefined, inFlight: number): ProvisionTotals {
  const tally = state?.tally ?? emptyTally();
  return {
    total: state?.plan.records ?? 0,
    validated: state?.plan.valid ?? 0,
    invalid: state?.plan.invalid ?? 0,
    submitted: state?.submitted ?? 0,
    succeeded: tally.created + tally.updated + tally.unchanged,
    created: tally.created,
    updated: tally.updated,
    unchanged: tally.unchanged,
    failed: tally.failed,
    retried: tally.retried,
    inFlight,
  };
}

function resultOf(input: ProvisionUsersInput, state: Continuation, maxReported: number): ProvisionUsersResult {
  const { tally, plan } = state;
  const totals = totalsOf(state, 0);
  const attempted = plan.valid + plan.invalid;
  return {
    tenant: input.tenant,
    source: plan.file
      ? { kind: 'file', path: plan.file.path, format: plan.file.format, sha256: plan.file.sha256, records: plan.records }
      : { kind: 'inline', records: plan.records },
    limits: state.limits,
    totals,
    successRate: attempted === 0 ? 1 : totals.succeeded / attempted,
    latencyMs: latencyStats(tally.latencies),
    chunks: { planned: plan.planned, requests: tally.requests, outcomes: tally.chunkOutcomes, outcomesOmitted: tally.requests - tally.chunkOutcomes.length },
    invalidRecords: plan.invalidRecords,
    invalidOmitted: plan.invalid - plan.invalidRecords.length,
    failures: tally.failures.slice(0, maxReported),
    failuresOmitted: Math.max(0, tally.failed - Math.min(maxReported, tally.failures.length)),
    batches: state.batchesDone,
    runs: state.run,
    batchRuns: tally.runs,
    largestHistoryLength: tally.largestHistoryLength,
  };
}
