// The skeleton every sync job (syncUsers, syncGroups, …) shares, so that each job's file holds only
// its own sequence: the report and the `progress` query, the check of the shared run options
// (SyncRunOptions), apply activities retried until the run's deadline, the removal approval gate,
// the quarantine stop, and how the run ends.
//
//   runSyncJob(input, job)
//     ─▶ report (search attributes), `progress` query, approveDeletions / rejectDeletions updates
//     ─▶ checkSyncRunOptions + job.check ─▶ InvalidSyncInput naming the field, before any call
//     ─▶ job.run(run)   the job's own steps, using run.applyActivities, run.dryRun,
//                       run.approveRemovals, run.quarantined, run.finish
//     ─▶ report and progress `completed` with the result's outcome, or `failed` with the error
//
// A new sync job: `export async function syncX(input: SyncXInput) { return runSyncJob(input, {...}) }`
// with `SyncXInput extends SyncRunOptions`, its progress extending SyncJobProgress and its result
// extending SyncJobResult.
import type { Duration } from '@temporalio/common';
import {
  proxyActivities,
  setHandler,
  workflowInfo,
  type ActivityInterfaceFor,
  type ActivityOptions,
  type QueryDefinition,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { FailureType } from '../../core/failures';
import {
  DEFAULT_DELETION_THRESHOLD,
  DEFAULT_QUARANTINE,
  type DeletionThreshold,
  type QuarantineRule,
} from '../../scim/reconcile';
import { providerCallFor } from '../activity-options';
import { approvalWaiting, countSyncRecords } from '../business-metrics';
import { InputChecks } from '../input-checks';
import { ReportRecorder, type ReportTotals } from '../report';
import { approvalWaitText } from '../ui-metadata';
import { DeletionApproval, type DeletionDecision } from './deletion-approval';
import type { SyncRunOptions } from './run-options';

/** Refusals of a sync job's input: ApplicationFailure type InvalidSyncInput, naming the field and value. */
export const syncInputChecks = new InputChecks(FailureType.InvalidSyncInput);

/** SyncRunOptions checked, with their defaults filled in. */
export interface SyncRunSettings {
  dryRun: boolean;
  deletionThreshold: DeletionThreshold;
  approvalTimeout: Duration;
  quarantine: QuarantineRule;
  pageSize: number;
  runDeadline: Duration;
  maxReported: number;
}

/** Checks the options every sync job shares; throws InvalidSyncInput naming the first bad field. */
export function checkSyncRunOptions(options: SyncRunOptions): SyncRunSettings {
  const check = syncInputChecks;
  const threshold = options.deletionThreshold ?? {};
  const quarantine = options.quarantine ?? {};
  return {
    dryRun: options.dryRun === true,
    deletionThreshold: {
      maxCount: check.count(threshold.maxCount, 'deletionThreshold.maxCount', DEFAULT_DELETION_THRESHOLD.maxCount),
      maxShare: check.share(threshold.maxShare, 'deletionThreshold.maxShare', DEFAULT_DELETION_THRESHOLD.maxShare),
    },
    approvalTimeout: check.duration(options.approvalTimeout, 'approvalTimeout', '24 hours'),
    quarantine: {
      maxFailureRate: check.share(
        quarantine.maxFailureRate,
        'quarantine.maxFailureRate',
        DEFAULT_QUARANTINE.maxFailureRate,
      ),
      minWrites: check.positiveInteger(quarantine.minWrites, 'quarantine.minWrites', DEFAULT_QUARANTINE.minWrites),
    },
    pageSize: check.positiveInteger(options.pageSize, 'pageSize', 500),
    runDeadline: check.duration(options.runDeadline, 'runDeadline', '6 hours'),
    maxReported: check.positiveInteger(options.maxReported, 'maxReported', 100),
  };
}

/** What every sync job's `progress` query answers. */
export interface SyncJobProgress {
  phase: 'planning' | 'writing' | 'awaitingApproval' | 'removing' | 'completed' | 'failed';
  planHash?: string;
  failed: number;
  awaitingApproval?: { reason?: string; planHash: string };
}

/** The outcomes every sync job can end with (a job may add its own, e.g. `unsupported`). */
export type SyncRunOutcome = 'succeeded' | 'partial' | 'dry-run' | 'quarantined' | 'rejected' | 'approval-timeout';

/** What every sync job's result holds. */
export interface SyncJobResult {
  tenant: string;
  outcome: string;
  failed: number;
  failures: Array<{ status?: number; detail: string }>;
  deletionDecision?: DeletionDecision;
  /** Why removals were held back or the run stopped, when they were. */
  note?: string;
}

export interface SyncJob<Input, Result extends SyncJobResult, Progress extends SyncJobProgress> {
  /** The input as the report shows it (inline records replaced by their count). */
  request: Record<string, unknown>;
  progressQuery: QueryDefinition<Progress>;
  progress: Progress;
  /** The report's totals, when they are not the step totals. */
  totals?: () => ReportTotals;
  /** The job's own input checks (the shared run options are checked already); throw syncInputChecks.invalid(…). */
  check(input: Input): void;
  /** The job's steps, from discovery to its result. */
  run(run: SyncRun<Result, Progress>): Promise<Result>;
}

/** Runs a sync job in the shared skeleton (see the top of this file). */
export async function runSyncJob<
  Input extends SyncRunOptions & { tenant: string },
  Result extends SyncJobResult,
  Progress extends SyncJobProgress,
>(input: Input, job: SyncJob<Input, Result, Progress>): Promise<Result> {
  const report = new ReportRecorder<Record<string, unknown>, Result>(input.tenant, job.request);
  const { progress } = job;
  setHandler(job.progressQuery, () => progress);
  const approval = new DeletionApproval();
  if (job.totals) report.useTotals(job.totals);
  return report.complete(
    async () => {
      if (!input.tenant) throw syncInputChecks.invalid('tenant is required');
      const settings = checkSyncRunOptions(input);
      job.check(input);
      const result = await job.run(new SyncRun(input.tenant, settings, report, progress, approval));
      countSyncRecords(input.tenant, (result as { applied?: Record<string, number> }).applied, result.failed);
      return result;
    },
    (result) => result.outcome,
    (end) => (progress.phase = end),
  );
}

/** What a sync job's steps use of the skeleton. */
export class SyncRun<Result extends SyncJobResult, Progress extends SyncJobProgress> {
  constructor(
    readonly tenant: string,
    readonly settings: SyncRunSettings,
    readonly report: ReportRecorder<Record<string, unknown>, Result>,
    readonly progress: Progress,
    private readonly approval: DeletionApproval,
  ) {}

  /** Apply activities: transient failures (429, 5xx, outages) retried until the run's deadline, never by a count. */
  applyActivities(options: ActivityOptions): ActivityInterfaceFor<Activities> {
    return proxyActivities<Activities>(providerCallFor(this.settings.runDeadline, options));
  }

  /** The result of a dry run: the plan shown, nothing written. */
  dryRun(result: Result, planHash: string): Result {
    this.report.skip('apply plan', `dry run: plan ${planHash}`);
    return { ...result, outcome: 'dry-run' };
  }

  /**
   * The removal gate. When `check` exceeded the deletion threshold, waits for approveDeletions
   * naming `planHash`, rejectDeletions, or the approval timeout (progress `awaitingApproval`,
   * with `awaiting` added; the UI's current details say what waits and how to approve it).
   * `what.removals` names them, e.g. `120 removals`; `what.command` the CLI command that approves. Returns undefined when the removals may go
   * ahead, else the run's result without them (`rejected` or `approval-timeout`).
   */
  async approveRemovals(
    result: Result,
    check: { exceeded: boolean; reason?: string },
    planHash: string,
    what: {
      removals: string;
      awaiting?: Partial<NonNullable<Progress['awaitingApproval']>>;
      /** The CLI command whose `approve` / `reject` answer this run (default `cxone-scim sync`). */
      command?: string;
    },
  ): Promise<Result | undefined> {
    if (!check.exceeded) return undefined;
    const { progress, report } = this;
    progress.phase = 'awaitingApproval';
    progress.awaitingApproval = { ...what.awaiting, ...(check.reason ? { reason: check.reason } : {}), planHash };
    const timeout = this.settings.approvalTimeout;
    const waiting = approvalWaitText(
      what.command ?? 'cxone-scim sync',
      workflowInfo().workflowId,
      what.removals,
      planHash,
      String(timeout),
    );
    report.details.set('approval', `${waiting}; held back because ${check.reason}`);
    const decided = approvalWaiting(this.tenant);
    const decision = await report
      .step(
        `await approval of ${what.removals} (${check.reason})`,
        () => this.approval.decide(planHash, timeout, `waiting for approval of ${what.removals}, plan ${planHash}`),
        (d) => ({ detail: d.decision === 'timed-out' ? `no decision within ${timeout}` : d.decision }),
      )
      .finally(decided);
    result.deletionDecision = decision;
    progress.awaitingApproval = undefined;
    report.details.set(
      'approval',
      `removals ${decision.decision === 'timed-out' ? `not decided within ${timeout}` : decision.decision} (plan ${planHash})`,
    );
    if (decision.decision === 'approved') return undefined;
    report.skip('apply removals', `not approved: ${decision.decision}`);
    return { ...result, outcome: decision.decision === 'rejected' ? 'rejected' : 'approval-timeout' };
  }

  /** The result of a run that stopped writing because too many writes failed, with the top causes. */
  quarantined(result: Result): Result {
    const causes = topCauses(result.failures);
    // The details name causes by HTTP status only: a failure's text may name a user.
    this.report.details.set(
      'quarantine',
      `quarantined: stopped writing after ${result.failed} failures (more than ${Math.round(this.settings.quarantine.maxFailureRate * 100)} % of writes); top causes: ${topCauses(result.failures, false)}`,
    );
    this.report.skip(
      'remaining changes',
      `quarantined: more than ${Math.round(this.settings.quarantine.maxFailureRate * 100)} % of writes failed (${causes})`,
    );
    return {
      ...result,
      outcome: 'quarantined',
      note: `stopped writing: ${result.failed} failures; top causes: ${causes}`,
    };
  }

  /** The result of a run that went to its end: `partial` when writes failed or `problems` records could not be used. */
  finish(result: Result, problems = 0): Result {
    return { ...result, outcome: result.failed > 0 || problems > 0 ? 'partial' : 'succeeded' };
  }
}

function topCauses(failures: SyncJobResult['failures'], withText = true): string {
  const counts = new Map<string, number>();
  for (const f of failures) {
    const cause = f.status ? `HTTP ${f.status}` : withText ? f.detail.slice(0, 80) : 'no HTTP status';
    counts.set(cause, (counts.get(cause) ?? 0) + 1);
  }
  return (
    [...counts.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([cause, n]) => `${cause} ×${n}`)
      .join(', ') || 'none recorded'
  );
}
