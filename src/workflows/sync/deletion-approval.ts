// The approval gate of a sync's removals, shared by syncUsers and syncGroups: above the deletion
// threshold a run waits for the update `approveDeletions({ planHash })` — refused by its validator
// (and so never written to history) unless it names the plan awaiting approval — or for
// `rejectDeletions`, or for its timeout. Meanwhile the ScimOutcome search attribute says
// `awaitingApproval`, so the waiting runs can be listed.
import type { Duration } from '@temporalio/common';
import { condition, defineUpdate, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { SCIM_OUTCOME } from '../../temporal/search-attributes';

export interface DeletionDecision {
  decision: 'approved' | 'rejected' | 'timed-out';
  planHash: string;
  by?: string;
  reason?: string;
  at: string;
}

export const approveDeletionsUpdate = defineUpdate<DeletionDecision, [{ planHash: string; approvedBy?: string }]>(
  'approveDeletions',
);
export const rejectDeletionsUpdate = defineUpdate<DeletionDecision, [{ rejectedBy?: string; reason?: string }]>(
  'rejectDeletions',
);

const now = () => new Date(Date.now()).toISOString();

export class DeletionApproval {
  private decision?: DeletionDecision;
  /** The plan awaiting approval, while one does. */
  private awaiting?: string;

  /** Registers both updates; call once, at the start of the workflow. */
  constructor() {
    setHandler(
      approveDeletionsUpdate,
      ({ planHash, approvedBy }) =>
        (this.decision = { decision: 'approved', planHash, ...(approvedBy ? { by: approvedBy } : {}), at: now() }),
      {
        validator: (args) => {
          const awaiting = this.pending();
          if (args?.planHash !== awaiting)
            throw new Error(
              `planHash ${String(args?.planHash)} is not the plan shown (${awaiting}): review the current plan`,
            );
        },
      },
    );
    setHandler(
      rejectDeletionsUpdate,
      (args) =>
        (this.decision = {
          decision: 'rejected',
          planHash: this.awaiting ?? '',
          ...(args?.rejectedBy ? { by: args.rejectedBy } : {}),
          ...(args?.reason ? { reason: args.reason } : {}),
          at: now(),
        }),
      { validator: (_args) => void this.pending() },
    );
  }

  /** Waits for a decision on plan `planHash`; `timed-out` when none came within `timeout` (its timer's summary: `summary`). */
  async decide(planHash: string, timeout: Duration, summary: string): Promise<DeletionDecision> {
    this.awaiting = planHash;
    upsertSearchAttributes([{ key: SCIM_OUTCOME, value: 'awaitingApproval' }]);
    try {
      const answered = await condition(() => this.decision !== undefined, timeout, { summary });
      return answered && this.decision ? this.decision : { decision: 'timed-out', planHash, at: now() };
    } finally {
      this.awaiting = undefined;
      upsertSearchAttributes([{ key: SCIM_OUTCOME, value: 'running' }]);
    }
  }

  private pending(): string {
    if (this.awaiting === undefined) throw new Error('nothing awaits approval');
    return this.awaiting;
  }
}
