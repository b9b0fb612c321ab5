import { defineQuery, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { UndoPlanSummary, UndoTally } from '../../activities/undo';
import { exceedsThreshold, shouldQuarantine } from '../../scim/reconcile';
import {
  undoWrites,
  UNDO_ACTIONS,
  type UndoAction,
  type UndoCounts,
  type UndoSkip,
  type UndoSubject,
} from '../../scim/undo';
import { PROVIDER_CALL } from '../activity-options';
import { withSummary } from '../ui-metadata';
import type { DeletionDecision } from '../sync/deletion-approval';
import type { SyncRunOptions } from '../sync/run-options';
import { runSyncJob, syncInputChecks, type SyncJobProgress, type SyncRun, type SyncRunOutcome } from '../sync/sync-run';

const { discoverServiceProviderConfig } = proxyActivities<Activities>(PROVIDER_CALL);
const { planUndoRun } = proxyActivities<Activities>({
  ...PROVIDER_CALL,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
});

export interface UndoRunInput {
  tenant: string;
  /** The run to undo: its workflow id (its latest run, or `runId`). */
  workflowId: string;
  runId?: string;
  /** Write the compensation; without it, a dry run shows the plan. */
  apply?: boolean;
  /** Also deactivate the users the run created (syncGroups: delete the groups it created, when nobody else is in them). */
  includeCreated?: boolean;
  /** Compensating writes above `maxCount` wait for approveDeletions naming the plan's hash. Default 500. */
  deletionThreshold?: SyncRunOptions['deletionThreshold'];
  approvalTimeout?: string;
  runDeadline?: string;
  maxReported?: number;
  /** Changes per apply activity. Default 200. */
  sliceSize?: number;
}

export interface UndoRunResult {
  tenant: string;
  outcome: SyncRunOutcome;
  target: UndoPlanSummary['target'];
  /** What the run wrote: users, groups, or skills and teams. */
  subject?: UndoSubject;
  planHash: string;
  /** The run's writes, as its journal records them. */
  journalEntries: number;
  /** Planned: per compensating action, and the writes that cannot be undone. */
  counts: UndoCounts;
  /** The writes left alone, and why (all are counted). */
  skipped: UndoSkip[];
  /** Per compensating action (users: reactivate, restore, deactivate-created; groups: members removed / added, renames, groups deleted; assignments: teams, skills). */
  applied: Partial<Record<UndoAction, number>>;
  failed: number;
  failures: UndoTally['failures'];
  alreadyApplied: number;
  requests: number;
  threshold?: { exceeded: boolean; reason?: string; changes: number };
  deletionDecision?: DeletionDecision;
  note?: string;
}

export type UndoProgress = SyncJobProgress & { planned?: UndoCounts };

export const undoProgressQuery = defineQuery<UndoProgress>('progress');

/**
 * Undoes a finished run from its journal (the previous values its writes recorded in the claim store).
 *
 *   planUndoRun (activity: the run's result → its journals; each user read now; a user whose
 *     value changed again since, or who is gone, is skipped and named; the plan stored in slices)
 *     ├─ without `apply` ─▶ dry run: counts, hash, skipped users
 *     ─▶ more changes than deletionThreshold.maxCount ─▶ approveDeletions({planHash}) / rejectDeletions
 *     ─▶ applyUndoSlice per slice (each user checked again before writing) ─▶ report
 */
export async function undoRun(input: UndoRunInput): Promise<UndoRunResult> {
  const progress: UndoProgress = { phase: 'planning', failed: 0 };
  return runSyncJob(
    { ...input, dryRun: input.apply !== true },
    {
      request: { ...input },
      progressQuery: undoProgressQuery,
      progress,
      check: (i) => {
        if (!i.workflowId) throw syncInputChecks.invalid('workflowId is required: the run to undo');
        if (i.includeCreated !== undefined && typeof i.includeCreated !== 'boolean')
          throw syncInputChecks.invalid(`includeCreated must be true or false, got ${String(i.includeCreated)}`);
      },
      run: (run) => undoRunSteps(input, run),
    },
  );
}

async function undoRunSteps(input: UndoRunInput, run: SyncRun<UndoRunResult, UndoProgress>): Promise<UndoRunResult> {
  const { report, progress, settings } = run;
  const sliceSize = syncInputChecks.positiveInteger(input.sliceSize, 'sliceSize', 200);
  const plan = await report.step(
    `plan the undo of ${input.workflowId}`,
    () =>
      planUndoRun.executeWithOptions(withSummary(`plan: read the journal of ${input.workflowId}, read its users now`), [
        {
          tenant: input.tenant,
          workflowId: input.workflowId,
          ...(input.runId ? { runId: input.runId } : {}),
          includeCreated: input.includeCreated === true,
          sliceSize,
          maxReported: settings.maxReported,
        },
      ]),
    (p) => ({ payloadSha256: p.planHash, detail: describe(p.counts) }),
  );
  progress.planHash = plan.planHash;
  progress.planned = plan.counts;
  report.details.set('plan', `undo of ${plan.target.type} ${plan.target.workflowId}: ${describe(plan.counts)}`);
  // Plans of runs started before groups and assignments could be undone name no subject: users.
  const subject = plan.subject ?? 'users';
  const result: UndoRunResult = {
    tenant: input.tenant,
    outcome: 'succeeded',
    target: plan.target,
    subject,
    planHash: plan.planHash,
    journalEntries: plan.journalEntries,
    counts: plan.counts,
    skipped: [...plan.skipped],
    applied: Object.fromEntries(UNDO_ACTIONS[subject].map((a) => [a, 0])),
    failed: 0,
    failures: [],
    alreadyApplied: 0,
    requests: 0,
    ...(plan.note ? { note: plan.note } : {}),
  };
  if (settings.dryRun) return run.dryRun(result, plan.planHash);
  const total = undoWrites(plan.counts);
  if (total === 0) return run.finish(result);
  // An undo is a mass write like a sync's removals: above the count it waits for an approval of its hash.
  const check = exceedsThreshold(total, 0, settings.deletionThreshold);
  result.threshold = { ...check, changes: total };
  const refused = await run.approveRemovals(result, check, plan.planHash, {
    removals: `${total} compensating writes`,
    command: 'cxone-scim undo',
  });
  if (refused) return refused;
  progress.phase = 'writing';
  const spc = await discoverServiceProviderConfig.executeWithOptions(withSummary('GET /ServiceProviderConfig'), [
    input.tenant,
  ]);
  const patchSupported = (spc.body as { patch?: { supported?: unknown } }).patch?.supported === true;
  const { applyUndoSlice } = run.applyActivities({ startToCloseTimeout: '10 minutes', heartbeatTimeout: '30 seconds' });
  let stopped = false;
  await report.step(
    `apply ${total} compensating writes`,
    async () => {
      for (let index = 0; index < plan.slices.length && !stopped; index++) {
        const tally = await applyUndoSlice.executeWithOptions(
          withSummary(`apply undo slice ${index + 1} of ${plan.slices.length}, plan ${plan.planHash.slice(0, 12)}`),
          [
            {
              tenant: input.tenant,
              planHash: plan.planHash,
              from: index * sliceSize,
              slice: plan.slices[index],
              endpoint: plan.endpoint,
              patchSupported,
              maxReported: settings.maxReported,
            },
          ],
        );
        for (const action of Object.keys(tally.done) as UndoAction[])
          result.applied[action] = (result.applied[action] ?? 0) + (tally.done[action] ?? 0);
        result.counts = { ...result.counts, skipped: result.counts.skipped + tally.skippedCount };
        result.skipped.push(...tally.skipped.slice(0, Math.max(0, settings.maxReported - result.skipped.length)));
        result.failed += tally.failed;
        progress.failed = result.failed;
        result.alreadyApplied += tally.alreadyApplied;
        result.requests += tally.requests;
        result.failures.push(...tally.failures.slice(0, Math.max(0, settings.maxReported - result.failures.length)));
        const writes = Object.values(result.applied).reduce((n: number, c) => n + (c ?? 0), 0) + result.failed;
        if (shouldQuarantine(writes, result.failed, settings.quarantine)) stopped = true;
      }
    },
    () => ({ detail: describe({ ...result.applied, skipped: result.counts.skipped }) }),
  );
  return stopped ? run.quarantined(result) : run.finish(result);
}

function describe(counts: Partial<UndoCounts>): string {
  return (
    Object.entries(counts)
      .filter(([, n]) => (n ?? 0) > 0)
      .map(([action, n]) => `${n} ${action}`)
      .join(', ') || 'nothing'
  );
}
