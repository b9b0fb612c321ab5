import { msToNumber } from '@temporalio/common/lib/time';
import { ApplicationFailure, defineQuery } from '@temporalio/workflow';
import type {
  AssignmentFailure,
  AssignmentKind,
  AssignmentPhase,
  AssignmentPlanSummary,
  AssignmentSourceSpec,
} from '../../activities/assignments';
import type { PlanOut } from '../../activities/sync-review';
import type { ClaimRef } from '../../core/claim-ref';
import { FailureType } from '../../core/failures';
import type { AssignmentAction } from '../../scim/assignments';
import { exceedsThreshold, shouldQuarantine } from '../../scim/reconcile';
import { reportTotals } from '../report';
import type { DeletionDecision } from '../sync/deletion-approval';
import type { SyncRunOptions } from '../sync/run-options';
import { runSyncJob, syncInputChecks, type SyncJobProgress, type SyncRun, type SyncRunOutcome } from '../sync/sync-run';
import { fileNameOf, withSummary } from '../ui-metadata';

export interface SyncAssignmentsInput extends SyncRunOptions {
  tenant: string;
  /** The employees' assignments: a CSV / JSON / NDJSON file the worker reads, and its columns. */
  source: AssignmentSourceSpec;
  /** What this run manages. Default both. */
  manage?: AssignmentKind[];
  /** The skills this run manages (added, changed, removed). Default: every skill named in the source. */
  skills?: string[];
  /** Changes per apply activity. Default 500. */
  changesPerActivity?: number;
  /** Agents per skill upsert request. Default 100. */
  agentsPerRequest?: number;
  /** Also write the whole plan (CSV or JSON) to this path on the worker's file system, for review. */
  planOut?: PlanOut;
}

export type SyncAssignmentsOutcome = SyncRunOutcome | 'unsupported';

export type AssignmentPlanShown = Omit<Extract<AssignmentPlanSummary, { planHash: string }>, 'slices'>;

export interface SyncAssignmentsResult {
  tenant: string;
  outcome: SyncAssignmentsOutcome;
  plan?: AssignmentPlanShown;
  /** Changes made, per action. */
  applied: Record<AssignmentAction, number>;
  /** Removals found already made (the agent no longer held the skill). */
  alreadyApplied: number;
  failed: number;
  failures: AssignmentFailure[];
  requests: number;
  /** The journals of the applied slices (what `cxone-scim undo` reads): one per slice that changed something. */
  journals?: ClaimRef[];
  threshold?: { exceeded: boolean; reason?: string; removals: number; managed: number };
  deletionDecision?: DeletionDecision;
  note?: string;
}

export interface SyncAssignmentsProgress extends SyncJobProgress {
  planned?: AssignmentPlanShown['counts'];
  applied: Record<AssignmentAction, number>;
  awaitingApproval?: { removals: number; reason?: string; planHash: string };
}

export const syncAssignmentsProgressQuery = defineQuery<SyncAssignmentsProgress>('progress');

const noChanges = (): Record<AssignmentAction, number> => ({
  'set-team': 0,
  'add-skill': 0,
  'set-proficiency': 0,
  'remove-skill': 0,
});

const { invalid } = syncInputChecks;

function checkInput(input: SyncAssignmentsInput): void {
  if (!input.source?.path) throw invalid('source.path is required (the assignments file the worker reads)');
  for (const column of ['keyColumn', 'skillsColumn', 'teamColumn'] as const) {
    const value = input.source[column];
    if (value !== undefined && (typeof value !== 'string' || value.trim() === ''))
      throw invalid(`source.${column} must be a column name, got ${JSON.stringify(value)}`);
  }
  if (input.source.format !== undefined && !['csv', 'json', 'ndjson'].includes(input.source.format))
    throw invalid(`source.format must be csv, json or ndjson, got ${String(input.source.format)}`);
  const manage = input.manage ?? ['skills', 'team'];
  if (!Array.isArray(manage) || manage.length === 0 || manage.some((m) => m !== 'skills' && m !== 'team'))
    throw invalid(`manage must list skills and/or team, got ${JSON.stringify(input.manage)}`);
  if (input.skills !== undefined && (!Array.isArray(input.skills) || input.skills.some((s) => typeof s !== 'string')))
    throw invalid('skills must be a list of skill names');
  if (input.planOut !== undefined && !input.planOut.path) throw invalid('planOut.path is required');
}

/**
 * Skills and team assignments of CXone employees, reconciled like syncUsers:
 *
 *   planAssignmentSync (activity: read the source's key, skills and team columns; list the
 *     tenant's skills and the agents of the managed ones; look each employee up through SCIM for
 *     its agentId and team; search the teams named; plan only the differences; the plan is stored
 *     in the claim store, history holds its SHA-256 and the slices' references)
 *     ├─ no skills or teams API (404/405/501) ─▶ `unsupported`, with a note
 *     ├─ dryRun ─▶ report the plan, write nothing
 *     ─▶ team changes, skill adds and proficiency changes in slices (applyAssignmentChanges)
 *          └─ failure rate over the quarantine rule ─▶ stop writing: `quarantined`
 *     ─▶ skill removals above the deletion threshold ─▶ `awaitingApproval` until the update
 *          approveDeletions({planHash}) (hash must match), rejectDeletions, or the approval timeout
 *     ─▶ skill removals in slices ─▶ report
 */
export async function syncAssignments(input: SyncAssignmentsInput): Promise<SyncAssignmentsResult> {
  const progress: SyncAssignmentsProgress = { phase: 'planning', applied: noChanges(), failed: 0 };
  return runSyncJob(input, {
    request: { ...input },
    progressQuery: syncAssignmentsProgressQuery,
    progress,
    totals: () => {
      const succeeded = Object.values(progress.applied).reduce((n, c) => n + c, 0);
      return reportTotals(succeeded, progress.failed, []);
    },
    check: checkInput,
    run: (run) => syncAssignmentsRun(input, run),
  });
}

async function syncAssignmentsRun(
  input: SyncAssignmentsInput,
  run: SyncRun<SyncAssignmentsResult, SyncAssignmentsProgress>,
): Promise<SyncAssignmentsResult> {
  const { report, progress, settings } = run;
  const { maxReported } = settings;
  const perActivity = syncInputChecks.positiveInteger(input.changesPerActivity, 'changesPerActivity', 500);
  const agentsPerRequest = syncInputChecks.positiveInteger(input.agentsPerRequest, 'agentsPerRequest', 100);
  // Transient failures (429, 5xx, outages) are retried until the run's deadline, never by a count:
  // each request within an activity attempt (retryUntil), and each activity by Temporal.
  const retryUntil = Date.now() + msToNumber(settings.runDeadline);
  const { planAssignmentSync, applyAssignmentChanges } = run.applyActivities({
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '2 minutes',
  });
  const result: SyncAssignmentsResult = {
    tenant: input.tenant,
    outcome: 'succeeded',
    applied: progress.applied,
    alreadyApplied: 0,
    failed: 0,
    failures: [],
    requests: 0,
  };
  const summary = await report.step(
    'plan: read the source, the managed skills and their agents, the employees and the teams',
    () =>
      planAssignmentSync.executeWithOptions(
        withSummary(
          `plan: read ${fileNameOf(input.source.path)}, list the managed skills' agents, the employees and teams`,
        ),
        [
          {
            tenant: input.tenant,
            source: input.source,
            manage: input.manage ?? ['skills', 'team'],
            ...(input.skills ? { skills: input.skills } : {}),
            maxReported,
            changesPerActivity: perActivity,
            ...(input.planOut ? { planOut: input.planOut } : {}),
            retryUntil,
          },
        ],
      ),
    (p) =>
      p.unsupported !== undefined
        ? { detail: p.unsupported }
        : {
            payloadSha256: p.planHash,
            detail: `${p.records} records (${p.problemCount} errors), ${p.managedSkills.length} managed skills with ${p.managedMemberships} agents: ${p.counts.teamChanges} team changes, ${p.counts.skillAdds} skill adds, ${p.counts.proficiencyChanges} proficiency changes, ${p.counts.skillRemovals} skill removals, ${p.counts.unchanged} unchanged`,
          },
  );
  result.requests += summary.requests;
  if (summary.unsupported !== undefined) {
    report.skip('apply plan', summary.unsupported);
    return { ...result, outcome: 'unsupported', note: summary.unsupported };
  }
  const { slices, ...shown } = summary;
  result.plan = shown;
  progress.planHash = summary.planHash;
  progress.planned = summary.counts;
  report.details.set(
    'plan',
    `plan ${summary.planHash}: ${summary.counts.teamChanges} team changes, ${summary.counts.skillAdds} skill adds, ${summary.counts.proficiencyChanges} proficiency changes, ${summary.counts.skillRemovals} skill removals; ${summary.records} records (${summary.problemCount} errors) from ${fileNameOf(input.source.path)} sha256 ${summary.sourceSha256.slice(0, 12)}`,
  );
  if (summary.removalsHeld) result.note = summary.removalsHeld;
  if (summary.records - summary.problemCount === 0 && summary.removals > 0)
    throw ApplicationFailure.nonRetryable(
      `the source has no valid record (${summary.records} records, ${summary.problemCount} errors): refusing to remove ${summary.removals} skill assignments`,
      FailureType.EmptySource,
    );
  if (settings.dryRun) return run.dryRun(result, summary.planHash);

  const written = () => Object.values(result.applied).reduce((n, c) => n + c, 0);
  const quarantined = () => shouldQuarantine(written() + result.failed, result.failed, settings.quarantine);
  const apply = async (phase: AssignmentPhase) => {
    for (let index = 0; index < slices[phase].length && !quarantined(); index++) {
      const tally = await applyAssignmentChanges.executeWithOptions(
        withSummary(
          `apply ${phase} slice ${index + 1} of ${slices[phase].length} (≤ ${perActivity} changes), plan ${summary.planHash.slice(0, 12)}`,
        ),
        [
          {
            tenant: input.tenant,
            planHash: summary.planHash,
            phase,
            slice: slices[phase][index],
            from: index * perActivity,
            maxReported,
            agentsPerRequest,
            retryUntil,
          },
        ],
      );
      for (const action of Object.keys(tally.done) as AssignmentAction[]) result.applied[action] += tally.done[action];
      result.alreadyApplied += tally.alreadyApplied;
      if (tally.journal) result.journals = [...(result.journals ?? []), tally.journal];
      result.failed += tally.failed;
      result.requests += tally.requests;
      result.failures.push(...tally.failures.slice(0, Math.max(0, maxReported - result.failures.length)));
      progress.failed = result.failed;
      report.details.set(
        'progress',
        `${phase}: ${written()} changes applied, ${result.failed} failed (${index + 1} of ${slices[phase].length} slices)`,
      );
    }
  };
  const problems = summary.problemCount;
  progress.phase = 'writing';
  if (summary.writes > 0)
    await report.step(
      `apply ${summary.writes} team changes, skill adds and proficiency changes`,
      () => apply('writes'),
      () => ({ detail: describe(result.applied) }),
    );
  if (quarantined()) return run.quarantined(result);

  const removals = summary.removals;
  if (removals === 0) return run.finish(result, problems);
  const check = exceedsThreshold(removals, summary.managedMemberships, settings.deletionThreshold);
  result.threshold = { ...check, removals, managed: summary.managedMemberships };
  const refused = await run.approveRemovals(result, check, summary.planHash, {
    removals: `${removals} skill removals`,
    awaiting: { removals },
  });
  if (refused) return refused;
  progress.phase = 'removing';
  await report.step(
    `apply ${removals} skill removals`,
    () => apply('removals'),
    () => ({ detail: describe(result.applied) }),
  );
  return quarantined() ? run.quarantined(result) : run.finish(result, problems);
}

function describe(applied: Record<AssignmentAction, number>): string {
  return (
    (Object.entries(applied) as Array<[AssignmentAction, number]>)
      .filter(([, n]) => n > 0)
      .map(([action, n]) => `${n} ${action}`)
      .join(', ') || 'nothing'
  );
}
