// The approval gate of a sync's removals, shared by syncUsers and syncGroups: above the deletion
// threshold a run waits for the update `approveDeletions({ planHash })` — refused by its validator
// (and so never written to history) unless it names the plan awaiting approval — or for
// `rejectDeletions`, or for its timeout. Meanwhile the ScimOutcome search attribute says
// `awaitingApproval`, so the waiting runs can be listed. `ApprovalGate` is that mechanism with the
// updates and wording as parameters; adoption's link approval (adopt/link-approval.ts) uses it too.
import type { Duration, UpdateDefinition } from '@temporalio/common';
import { condition, defineUpdate, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { SCIM_OUTCOME } from '../../temporal/search-attributes';

export interface ApprovalDecision {
  decision: 'approved' | 'rejected' | 'timed-out';
  planHash: string;
  by?: string;
  reason?: string;
  at: string;
}
export type DeletionDecision = ApprovalDecision;

export type ApproveUpdate = UpdateDefinition<ApprovalDecision, [{ planHash: string; approvedBy?: string }]>;
export type RejectUpdate = UpdateDefinition<ApprovalDecision, [{ rejectedBy?: string; reason?: string }]>;

/** How a gate's refusals name what it gates. */
export interface ApprovalWording {
  /** What a planHash identifies, e.g. `plan` or `adoption plan`. */
  plan: string;
  /** What the operator should look at again when the planHash is stale. */
  review: string;
  /** The refusal when nothing is waiting. */
  nothingPending: string;
}

export const approveDeletionsUpdate: ApproveUpdate = defineUpdate('approveDeletions');
export const rejectDeletionsUpdate: RejectUpdate = defineUpdate('rejectDeletions');

const now = () => new Date(Date.now()).toISOString();

export class ApprovalGate {
  private decision?: ApprovalDecision;
  /** The plan awaiting approval, while one does. */
  private awaiting?: string;

  /** Registers both updates; construct once, at the start of the workflow. */
  constructor(approve: ApproveUpdate, reject: RejectUpdate, wording: ApprovalWording) {
    const pending = (): string => {
      if (this.awaiting === undefined) throw new Error(wording.nothingPending);
      return this.awaiting;
    };
    setHandler(
      approve,
      ({ planHash, approvedBy }) =>
        (this.decision = { decision: 'approved', planHash, ...(approvedBy ? { by: approvedBy } : {}), at: now() }),
      {
        validator: (args) => {
          const awaiting = pending();
          if (args?.planHash !== awaiting)
            throw new Error(
              `planHash ${String(args?.planHash)} is not the ${wording.plan} shown (${awaiting}): review the current ${wording.review}`,
            );
        },
      },
    );
    setHandler(
      reject,
      (args) =>
        (this.decision = {
          decision: 'rejected',
          planHash: this.awaiting ?? '',
          ...(args?.rejectedBy ? { by: args.rejectedBy } : {}),
          ...(args?.reason ? { reason: args.reason } : {}),
          at: now(),
        }),
      { validator: (_args) => void pending() },
    );
  }

  /** Waits for a decision on plan `planHash`; `timed-out` when none came within `timeout` (its timer's summary: `summary`). */
  async decide(planHash: string, timeout: Duration, summary: string): Promise<ApprovalDecision> {
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
}

/** The gate of a sync's removals: `approveDeletions` / `rejectDeletions`. */
export class DeletionApproval extends ApprovalGate {
  constructor() {
    super(approveDeletionsUpdate, rejectDeletionsUpdate, {
      plan: 'plan',
      review: 'plan',
      nothingPending: 'nothing awaits approval',
    });
  }
}
