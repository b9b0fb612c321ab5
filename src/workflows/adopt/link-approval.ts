// The approval gate of an adoption's links, the way deletion-approval.ts gates a sync's removals:
// the run waits for the update `approveLinks({ planHash })` — refused by its validator (and so
// never written to history) unless it names the plan awaiting approval — or for `rejectLinks`, or
// for its timeout. Meanwhile the ScimOutcome search attribute says `awaitingApproval`.
import type { Duration } from '@temporalio/common';
import { condition, defineUpdate, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { SCIM_OUTCOME } from '../../temporal/search-attributes';

export interface LinkDecision {
  decision: 'approved' | 'rejected' | 'timed-out';
  planHash: string;
  by?: string;
  reason?: string;
  at: string;
}

export const approveLinksUpdate = defineUpdate<LinkDecision, [{ planHash: string; approvedBy?: string }]>(
  'approveLinks',
);
export const rejectLinksUpdate = defineUpdate<LinkDecision, [{ rejectedBy?: string; reason?: string }]>('rejectLinks');

const now = () => new Date(Date.now()).toISOString();

export class LinkApproval {
  private decision?: LinkDecision;
  /** The plan awaiting approval, while one does. */
  private awaiting?: string;

  /** Registers both updates; call once, at the start of the workflow. */
  constructor() {
    setHandler(
      approveLinksUpdate,
      ({ planHash, approvedBy }) =>
        (this.decision = { decision: 'approved', planHash, ...(approvedBy ? { by: approvedBy } : {}), at: now() }),
      {
        validator: (args) => {
          const awaiting = this.pending();
          if (args?.planHash !== awaiting)
            throw new Error(
              `planHash ${String(args?.planHash)} is not the adoption plan shown (${awaiting}): review the current report`,
            );
        },
      },
    );
    setHandler(
      rejectLinksUpdate,
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
  async decide(planHash: string, timeout: Duration, summary: string): Promise<LinkDecision> {
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
    if (this.awaiting === undefined) throw new Error('no adoption plan awaits approval');
    return this.awaiting;
  }
}
