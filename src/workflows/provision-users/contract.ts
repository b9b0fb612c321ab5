// provisionUsers' contract and carried state: the input (checked before any call, defaults
// filled in), the result, what a run hands to the next on continue-as-new, and the totals
// computed from that state. Workflow-safe: no I/O.
import { ApplicationFailure } from '@temporalio/workflow';
import type { ChunkPages } from '../../activities/claims/chunk-pages';
import type { ManagerWarning } from '../../activities/manager-refs';
import type { ClaimRef } from '../../core/claim-ref';
import type { ProvisionPlan } from '../../activities/provisioning';
import type { SourceFormat } from '../../activities/sources/user-source';
import type { ChunkDescriptor } from '../../scim/bulk-plan';
import type { User } from '../../scim/codecs';
import { FailureType } from '../../core/failures';
import { compileMapping } from '../../mapping/mapping';
import { recordLimitsOf, type RecordLimits } from '../../scim/record-checks';
import { latencyStats, succeededOf, type LatencyStats } from '../../core/tally';
import type { WriteCapabilities } from '../../scim/user-match';
import {
  emptyTally,
  type BatchTally,
  type ChunkOutcome,
  type InvalidRecord,
  type ProvisionTotals,
  type RecordFailure,
} from './totals';
import { type CarriedRunModel, runModeOf } from '../history-compat';
import { InputChecks } from '../input-checks';
import type { ReportStep } from '../report';

export interface ProvisionUsersInput {
  tenant: string;
  /** Inline SCIM Users, for small runs (they travel in workflow history). */
  users?: Array<User | Record<string, unknown>>;
  /**
   * A file the worker can read, or an s3:// / https:// URL; only index ranges, counts and references
   * to the chunks' stored users travel in workflow history.
   */
  source?: {
    path: string;
    /** Default: from the extension (.csv, .json, .ndjson / .jsonl). */
    format?: SourceFormat;
    /** Attribute mapping (src/mapping/mapping.ts); default: CSV headers are SCIM paths, JSON records are Users. */
    mapping?: unknown;
  };
  /**
   * How to write: `bulk` (SCIM Bulk; refused when the provider does not support it),
   * `per-resource` (one POST / PATCH / PUT per user), or `auto` (default): Bulk when the
   * ServiceProviderConfig says bulk.supported, else per resource.
   */
  mode?: WriteMode;
  /** Bulk requests (or per-resource slices) outstanding at once (one per running batch). Default 4. */
  maxChunksInFlight?: number;
  /** Bulk requests (or slices) per child workflow (batch). Default 5. */
  chunksPerBatch?: number;
  /**
   * File sources: Bulk requests (or slices) per page of the stored plan; the run holds about one
   * page of them in its state and history at a time, whatever the source's size. Default 100.
   */
  chunksPerPage?: number;
  /** Per resource: records per slice (one activity, which heartbeats its position). Default 100. */
  recordsPerSlice?: number;
  /** Per resource: records of a slice written at once. Default 4. */
  recordsInFlight?: number;
  /** Operations per Bulk request, at most the provider's bulk.maxOperations. */
  maxOperationsPerRequest?: number;
  /** Request body bytes, at most the provider's bulk.maxPayloadSize. */
  maxPayloadBytes?: number;
  /** Ask for asynchronous processing (`Prefer: respond-async`); the provider may choose it anyway. */
  preferAsync?: boolean;
  /**
   * Retryable failures (429, 5xx, refused connections, timeouts) are retried until this many
   * minutes after the run started; only then do they fail a record. Default 360 (6 hours).
   */
  retryDeadlineMinutes?: number;
  /** History length at which a run continues as new (parent and batches). Default 5000, well below 10 240. */
  historyEventLimit?: number;
  /** Invalid records and failures described in the report (all are counted). Default 100. */
  maxReported?: number;
  /** First async poll delay in ms (doubles up to 30 s). Default 500. */
  pollInitialMs?: number;
  /** Longest userName and other values a record may carry (defaults 256 and 4096 characters). */
  recordLimits?: Partial<RecordLimits>;
}

export type WriteMode = 'auto' | 'bulk' | 'per-resource';

export interface ProvisionUsersResult {
  tenant: string;
  /** How the records were written (decided from the ServiceProviderConfig and the input's mode). */
  mode: 'bulk' | 'per-resource';
  /** Which version of the source was provisioned: the SHA-256 of the bytes planned and the store's version of them. */
  source: {
    kind: 'file' | 'inline';
    path?: string;
    format?: SourceFormat;
    sha256?: string;
    version?: string;
    records: number;
  };
  limits: {
    maxOperations: number;
    maxPayloadSize: number;
    discovered: { maxOperations: number; maxPayloadSize: number };
  };
  totals: ProvisionTotals;
  /** succeeded / (validated + invalid); 1 when the source is empty. */
  successRate: number;
  /** Bulk request latencies (first POST to settled result, async wait included). */
  latencyMs: LatencyStats;
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
  /** What became of the mapping's manager references (absent without any). */
  managerLinks?: ManagerLinks;
  /**
   * The latest journals of the run's writes (claims/journal.ts; each names those before it): what
   * `cxone-scim undo` reads. A few references (at most one per batch lane), whatever the run's size.
   */
  journals?: ClaimRef[];
}

/** What became of the mapping's manager references. */
export interface ManagerLinks {
  /** Records whose manager the provider already had when planned (sent with the user). */
  resolvedWhenPlanned: number;
  /** Records linked by the second pass to a manager this run created. */
  linked: number;
  /** Records the second pass found linked already. */
  unchanged: number;
  /** Records provisioned without their manager (not found, ambiguous, or refused): warnings, not failures. */
  warned: number;
  warnings: ManagerWarning[];
  warningsOmitted: number;
}

/** What a run hands to the next one on continue-as-new. */
export interface Continuation {
  /** `mode`, `capabilities` and `deadline` are absent in runs started before per-resource writes (history-compat: batch-without-deadline). */
  model: CarriedRunModel;
  limits: ProvisionUsersResult['limits'];
  plan: Omit<ProvisionPlan, 'chunks' | 'pages'> & { planned: number };
  /** Chunks in hand, not yet handed to a batch. */
  chunks: ChunkDescriptor[];
  /**
   * The plan's stored pages not read yet: `next` is the next page to read, `chunks` the chunks in
   * it and the pages after it. Absent when every chunk left is in `chunks` (always so in runs
   * started before plan pages: history-compat provision-plan-pages).
   */
  pages?: ChunkPages & { next: number };
  nextBatch: number;
  submitted: number;
  chunksDone: number;
  batchesDone: number;
  tally: BatchTally;
  steps: ReportStep[];
  run: number;
}

export const DEFAULTS = {
  maxChunksInFlight: 4,
  chunksPerBatch: 5,
  chunksPerPage: 100,
  recordsPerSlice: 100,
  recordsInFlight: 4,
  retryDeadlineMinutes: 360,
  historyEventLimit: 5000,
  maxReported: 100,
  pollInitialMs: 500,
};
/** Used when the provider does not state a limit (0). */
export const FALLBACK_LIMITS = { maxOperations: 1000, maxPayloadSize: 1_048_576 };

const checks = new InputChecks(FailureType.InvalidProvisionInput);

export function invalidInput(message: string): ApplicationFailure {
  return checks.invalid(message);
}

/** Bulk when asked or available; per resource when asked or when the provider has no Bulk. */
export function writeModeOf(requested: WriteMode, capabilities: WriteCapabilities): 'bulk' | 'per-resource' {
  if (requested === 'bulk' && !capabilities.bulk) {
    throw ApplicationFailure.nonRetryable(
      'mode "bulk" was asked for, but the provider does not support Bulk (ServiceProviderConfig bulk.supported is false): use mode "auto" or "per-resource"',
      FailureType.UnsupportedProvider,
    );
  }
  if (requested === 'per-resource') return 'per-resource';
  return capabilities.bulk ? 'bulk' : 'per-resource';
}

/** What the report shows as the request: the options, never the users themselves. */
export function requestSummary(input: ProvisionUsersInput): Record<string, unknown> {
  const { users, ...rest } = input;
  return { ...rest, ...(users ? { users: `${users.length} inline users` } : {}) };
}

export type Settings = typeof DEFAULTS;

/** Checks the whole input before any call, and fills in the defaults. */
export function settingsOf(input: ProvisionUsersInput): Settings {
  if (!input.tenant) throw invalidInput('tenant is required');
  if ((input.users === undefined) === (input.source === undefined))
    throw invalidInput('give either users (inline) or source (a file), not both and not neither');
  if (input.users !== undefined && !Array.isArray(input.users))
    throw invalidInput('users must be an array of SCIM Users');
  if (input.source !== undefined && (typeof input.source.path !== 'string' || input.source.path === ''))
    throw invalidInput('source.path is required');
  if (input.source?.mapping !== undefined) {
    const mapping = compileMapping(input.source.mapping);
    if (!mapping.ok) throw invalidInput(`source.mapping is invalid: ${mapping.problems.join('; ')}`);
  }
  const recordLimits = recordLimitsOf(input.recordLimits);
  if (!recordLimits.ok) throw invalidInput(recordLimits.problem);
  if (input.mode !== undefined && !['auto', 'bulk', 'per-resource'].includes(input.mode))
    throw invalidInput(`mode must be auto, bulk or per-resource, got ${JSON.stringify(input.mode)}`);
  if ((input as { maxOperationAttempts?: unknown }).maxOperationAttempts !== undefined) {
    throw invalidInput(
      'maxOperationAttempts is no longer used: retryable failures are retried until retryDeadlineMinutes',
    );
  }
  checks.positiveInteger(input.maxOperationsPerRequest, 'maxOperationsPerRequest', 1);
  checks.positiveInteger(input.maxPayloadBytes, 'maxPayloadBytes', 1);
  const settings = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as Array<keyof Settings>)
    settings[key] = checks.positiveInteger(input[key], key, DEFAULTS[key]);
  return settings;
}

/** The chunks of a plan: the first page and the stored ones. */
export function plannedChunks(plan: Pick<ProvisionPlan, 'chunks' | 'pages'>): number {
  return plan.chunks.length + (plan.pages?.chunks ?? 0);
}

/** Chunks not handed to a batch yet: in hand and in the pages not read yet. */
export function chunksLeft(state: Continuation): number {
  return state.chunks.length + (state.pages?.chunks ?? 0);
}

/** Report steps a continuation carries at most: the first ones (discovery, plan) and the latest runs'. */
export const MAX_CARRIED_STEPS = 40;
const KEPT_FIRST_STEPS = 8;
const EARLIER_STEPS = /^(\d+) earlier steps$/;

/**
 * The steps to carry into the next run: all of them while they are few; past MAX_CARRIED_STEPS the
 * ones between the first few and the latest become one step that counts them, so that a run of
 * any size carries a bounded report.
 */
export function carriedSteps(steps: ReportStep[]): ReportStep[] {
  if (steps.length <= MAX_CARRIED_STEPS) return steps;
  const head = steps.slice(0, KEPT_FIRST_STEPS);
  const tail = steps.slice(steps.length - (MAX_CARRIED_STEPS - KEPT_FIRST_STEPS - 1));
  const folded = steps.slice(KEPT_FIRST_STEPS, steps.length - tail.length);
  const count = folded.reduce((n, s) => n + Number(EARLIER_STEPS.exec(s.step)?.[1] ?? 1), 0);
  return [
    ...head,
    {
      step: `${count} earlier steps`,
      startedAt: folded[0].startedAt,
      durationMs: folded.reduce((n, s) => n + s.durationMs, 0),
      outcome: folded.some((s) => s.outcome === 'failed') ? 'failed' : 'succeeded',
      detail: "folded into one, so that the run's state stays bounded",
    },
    ...tail,
  ];
}

export function totalsOf(state: Continuation | undefined, inFlight: number): ProvisionTotals {
  const tally = state?.tally ?? emptyTally();
  return {
    total: state?.plan.records ?? 0,
    validated: state?.plan.valid ?? 0,
    invalid: state?.plan.invalid ?? 0,
    submitted: state?.submitted ?? 0,
    succeeded: succeededOf(tally),
    created: tally.created,
    updated: tally.updated,
    unchanged: tally.unchanged,
    failed: tally.failed,
    retried: tally.retried,
    inFlight,
  };
}

export function resultOf(input: ProvisionUsersInput, state: Continuation, maxReported: number): ProvisionUsersResult {
  const { tally, plan } = state;
  const totals = totalsOf(state, 0);
  const attempted = plan.valid + plan.invalid;
  return {
    tenant: input.tenant,
    mode: runModeOf(state.model),
    source: plan.file
      ? {
          kind: 'file',
          path: plan.file.path,
          format: plan.file.format,
          sha256: plan.file.sha256,
          ...(plan.file.version ? { version: plan.file.version } : {}),
          records: plan.records,
        }
      : { kind: 'inline', records: plan.records },
    limits: state.limits,
    totals,
    successRate: attempted === 0 ? 1 : totals.succeeded / attempted,
    latencyMs: latencyStats(tally.latencies),
    chunks: {
      planned: plan.planned,
      requests: tally.requests,
      outcomes: tally.chunkOutcomes,
      outcomesOmitted: tally.requests - tally.chunkOutcomes.length,
    },
    invalidRecords: plan.invalidRecords,
    invalidOmitted: plan.invalid - plan.invalidRecords.length,
    failures: tally.failures.slice(0, maxReported),
    failuresOmitted: Math.max(0, tally.failed - Math.min(maxReported, tally.failures.length)),
    batches: state.batchesDone,
    runs: state.run,
    batchRuns: tally.runs,
    largestHistoryLength: tally.largestHistoryLength,
    ...(tally.journals && tally.journals.length > 0 ? { journals: tally.journals } : {}),
  };
}
