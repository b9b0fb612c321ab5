// The approval gate of an adoption's links, the same gate as a sync's removals (ApprovalGate in
// sync/deletion-approval.ts): the run waits for the update `approveLinks({ planHash })` — refused
// by its validator (and so never written to history) unless it names the plan awaiting approval —
// or for `rejectLinks`, or for its timeout. Meanwhile the ScimOutcome search attribute says
// `awaitingApproval`.
import { defineUpdate } from '@temporalio/workflow';
import { ApprovalGate, type ApprovalDecision, type ApproveUpdate, type RejectUpdate } from '../sync/deletion-approval';

export type LinkDecision = ApprovalDecision;

export const approveLinksUpdate: ApproveUpdate = defineUpdate('approveLinks');
export const rejectLinksUpdate: RejectUpdate = defineUpdate('rejectLinks');

export class LinkApproval extends ApprovalGate {
  constructor() {
    super(approveLinksUpdate, rejectLinksUpdate, {
      plan: 'adoption plan',
      review: 'report',
      nothingPending: 'no adoption plan awaits approval',
    });
  }
}
