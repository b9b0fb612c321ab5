import { ContinueAsNew, defineQuery, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { failureTypeOf, httpStatusOf, messageOf } from './failures';
import { latencyStats, type LatencyStats } from '../core/tally';
import { SCIM_OPERATION, SCIM_OUTCOME, SCIM_TENANT } from '../temporal/search-attributes';
import { RunDetails } from './ui-metadata';

/** One step of a workflow as the compliance report shows it. */
export interface ReportStep {
  step: string;
  startedAt: string;
  durationMs: number;
  outcome: 'succeeded' | 'failed' | 'skipped';
  httpStatus?: number;
  etagBefore?: string;
  etagAfter?: string;
  payloadSha256?: string;
  detail?: string;
}

export interface ReportTotals {
  attempted: number;
  succeeded: number;
  failed: number;
  /** succeeded / attempted, 0..1 (1 when nothing was attempted). */
  successRate: number;
  latencyMs: LatencyStats;
}

/**
 * How a run ended: `partial` when it finished but some records were invalid or failed,
 * `quarantined` when it stopped itself (a failure rate too high to go on).
 */
export const RUN_OUTCOMES = ['succeeded', 'partial', 'failed', 'quarantined'] as const;
export type RunOutcome = (typeof RUN_OUTCOMES)[number];

/**
 * Figures of an entity workflow: one that never completes (it is the record of one thing, e.g.
 * a user), so it is reported by what it has done so far, not as a finished run.
 */
export interface EntityFigures {
  /** ignored: duplicates and events older than the last applied one; failed: refused (malformed, unknown type). */
  events: { received: number; applied: number; ignored: number; failed: number };
  idpSync: {
    state: 'disabled' | 'pending' | 'in-sync' | 'failed';
    succeeded: number;
    failed: number;
    /** From the change (the event's timestamp) to the IdP having it, over recent syncs. */
    lagMs: { p50: number; p95: number; max: number; samples: number };
  };
}

/** What every workflow answers to the `report` query. */
export interface WorkflowReport<Request = unknown, Result = unknown> {
  workflowType: string;
  workflowId: string;
  runId: string;
  tenant: string;
  request: Request;
  status: 'running' | RunOutcome;
  startedAt: string;
  completedAt?: string;
  steps: ReportStep[];
  totals: ReportTotals;
  result?: Result;
  error?: string;
  /** The failure's `ApplicationFailure.type`, e.g. ScimForbidden (the failure list: src/core/failures.ts). */
  errorType?: string;
  /** Entity workflows only. */
  entity?: EntityFigures;
}

export const reportQuery = defineQuery<WorkflowReport>('report');

/** Report totals from counts: attempted = succeeded + failed. */
export function reportTotals(succeeded: number, failed: number, latencies: readonly number[]): ReportTotals {
  const attempted = succeeded + failed;
  return {
    attempted,
    succeeded,
    failed,
    successRate: attempted === 0 ? 1 : succeeded / attempted,
    latencyMs: latencyStats(latencies),
  };
}

export function totalsOf(outcomes: { ok: boolean; durationMs: number }[]): ReportTotals {
  const succeeded = outcomes.filter((o) => o.ok).length;
  return reportTotals(
    succeeded,
    outcomes.length - succeeded,
    outcomes.map((o) => o.durationMs),
  );
}

/**
 * Records workflow steps for the `report` query, answers that query, and keeps the search
 * attributes (ScimTenant, ScimOperation, ScimOutcome) and the UI's current details (the steps
 * running, the last one done, how the run ended; jobs add their own lines) in step. Times come
 * from the workflow clock (deterministic), so a step's duration includes activity retries.
 */
export class ReportRecorder<Request, Result = unknown> {
  readonly steps: ReportStep[] = [];
  /** The current details the Temporal UI shows (ui-metadata.ts); jobs set their own lines too. */
  readonly details: RunDetails;
  private readonly report: WorkflowReport<Request, Result>;
  private totalsProvider?: () => ReportTotals;
  private entityProvider?: () => EntityFigures;
  /** Steps under way (several may run at once), by name, with how many of that name. */
  private readonly running = new Map<string, number>();

  constructor(tenant: string, request: Request) {
    const info = workflowInfo();
    this.details = new RunDetails(`${info.workflowType} · tenant ${tenant}`);
    upsertSearchAttributes([
      { key: SCIM_TENANT, value: tenant },
      { key: SCIM_OPERATION, value: info.workflowType },
      { key: SCIM_OUTCOME, value: 'running' },
    ]);
    setHandler(reportQuery, () => ({
      ...this.snapshot(this.totalsProvider?.()),
      ...(this.entityProvider ? { entity: this.entityProvider() } : {}),
    }));
    this.report = {
      workflowType: info.workflowType,
      workflowId: info.workflowId,
      runId: info.runId,
      tenant,
      request,
      status: 'running',
      startedAt: new Date(info.startTime.getTime()).toISOString(),
      steps: this.steps,
      totals: totalsOf([]),
    };
  }

  /** Workflows whose totals are not step totals (e.g. users provisioned) supply their own. */
  useTotals(provider: () => ReportTotals): void {
    this.totalsProvider = provider;
  }

  /** Marks the workflow as an entity workflow, reported by these figures. */
  useEntity(provider: () => EntityFigures): void {
    this.entityProvider = provider;
  }

  /** The report as it stands; `totals` defaults to the step totals. */
  snapshot(totals?: ReportTotals): WorkflowReport<Request, Result> {
    const attempted = this.steps.filter((s) => s.outcome !== 'skipped');
    return {
      ...this.report,
      totals: totals ?? totalsOf(attempted.map((s) => ({ ok: s.outcome === 'succeeded', durationMs: s.durationMs }))),
    };
  }

  /** Runs one step, recording its timing and outcome; `describe` adds HTTP facts from its result. */
  /** `startedAt` (epoch ms): when the work began, if before this call (e.g. requests sent together). */
  async step<T>(
    name: string,
    run: () => Promise<T>,
    describe?: (result: T) => Partial<ReportStep>,
    startedAt?: number,
  ): Promise<T> {
    const started = startedAt ?? Date.now();
    this.stepStarted(name);
    try {
      const result = await run();
      this.recorded({
        step: name,
        startedAt: new Date(started).toISOString(),
        durationMs: Date.now() - started,
        outcome: 'succeeded',
        ...describe?.(result),
      });
      return result;
    } catch (err) {
      this.recorded({
        step: name,
        startedAt: new Date(started).toISOString(),
        durationMs: Date.now() - started,
        outcome: 'failed',
        httpStatus: httpStatusOf(err),
        detail: messageOf(err),
      });
      throw err;
    } finally {
      this.stepEnded(name);
    }
  }

  private stepStarted(name: string): void {
    this.running.set(name, (this.running.get(name) ?? 0) + 1);
    this.showRunning();
  }

  private stepEnded(name: string): void {
    const left = (this.running.get(name) ?? 1) - 1;
    if (left > 0) this.running.set(name, left);
    else this.running.delete(name);
    this.showRunning();
  }

  private showRunning(): void {
    this.details.set('step', this.running.size > 0 ? `running: ${[...this.running.keys()].join('; ')}` : undefined);
  }

  /** Adds a step to the report; the details name the last one (its name, outcome and HTTP status: never its detail, which may name a user). */
  private recorded(step: ReportStep): void {
    this.steps.push(step);
    const status = step.httpStatus !== undefined ? `, HTTP ${step.httpStatus}` : '';
    this.details.set('done', `done: ${this.steps.length} steps, last: ${step.step} (${step.outcome}${status})`);
  }

  skip(name: string, detail: string): void {
    this.recorded({
      step: name,
      startedAt: new Date(Date.now()).toISOString(),
      durationMs: 0,
      outcome: 'skipped',
      detail,
    });
  }

  /**
   * The run ended with a result. `outcome` is the ScimOutcome search attribute and, when it is a
   * RunOutcome (e.g. `partial`, or `failed` when no record could be provisioned), the report
   * status; finer outcomes of a successful run (`drift` for a verify run that found differences,
   * `unchanged`) leave the status `succeeded`.
   */
  succeed(result: Result, outcome: string = 'succeeded'): void {
    upsertSearchAttributes([{ key: SCIM_OUTCOME, value: outcome }]);
    this.report.status = (RUN_OUTCOMES as readonly string[]).includes(outcome) ? (outcome as RunOutcome) : 'succeeded';
    this.report.result = result;
    this.report.completedAt = new Date(Date.now()).toISOString();
    this.details.set('ended', `ended: ${outcome}`);
  }

  /**
   * Runs a workflow's body and ends the report with it: succeeded with its result (`outcome` of
   * it, as for {@link succeed}), or failed with its error, which is rethrown. A continue-as-new
   * ends neither. `ended` hears which it was first (e.g. to set a progress phase).
   */
  async complete<R extends Result>(
    body: () => Promise<R>,
    outcome?: (result: R) => string,
    ended?: (end: 'completed' | 'failed') => void,
  ): Promise<R> {
    try {
      const result = await body();
      ended?.('completed');
      this.succeed(result, outcome?.(result));
      return result;
    } catch (err) {
      if (err instanceof ContinueAsNew) throw err;
      ended?.('failed');
      this.fail(err);
      throw err;
    }
  }

  fail(err: unknown): void {
    upsertSearchAttributes([{ key: SCIM_OUTCOME, value: 'failed' }]);
    this.report.status = 'failed';
    this.report.error = messageOf(err);
    const type = failureTypeOf(err);
    if (type) this.report.errorType = type;
    this.report.completedAt = new Date(Date.now()).toISOString();
    this.details.set('ended', `ended: failed${type ? ` (${type})` : ''}`);
  }
}
