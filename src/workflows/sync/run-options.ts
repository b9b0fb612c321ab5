// What a reconciliation run (syncUsers, syncGroups, syncAssignments) takes besides its source and matching rules:
// the removal gate, the quarantine, listing and reporting sizes, and how long outages are retried.
import type { DeletionThreshold, QuarantineRule } from '../../scim/reconcile';

export interface SyncRunOptions {
  /** Compute and report the plan; write nothing. */
  dryRun?: boolean;
  /** Removals above this wait for `approveDeletions`. Default 500 or 20 % of the managed resources (or memberships). */
  deletionThreshold?: Partial<DeletionThreshold>;
  /** How long to wait for an approval before ending without removals, e.g. `24 hours`. Default 24 hours. */
  approvalTimeout?: string;
  /** Stop writing when more than `maxFailureRate` of at least `minWrites` writes failed. Default 40 % of 100. */
  quarantine?: Partial<QuarantineRule>;
  /** Resources per page when listing the provider (capped by its filter.maxResults). Default 500. */
  pageSize?: number;
  /** How long transient provider failures (429, 5xx, outages) are retried before an apply activity fails. Default 6 hours. */
  runDeadline?: string;
  /** Failures and invalid records described in the report (all are counted). Default 100. */
  maxReported?: number;
}
