// Task Queue Priority and Fairness (Temporal Server 1.29+, `matching.useNewMatcher` and
// `matching.enableFairness`; see docs/fleet.md "Fair scheduling"): which work goes first when the
// task queue has a backlog, and one fairness key per tenant so that one tenant's backlog cannot
// starve another's work of the same priority. Activities and child workflows inherit their
// workflow's priority, so setting it where a workflow starts is enough.
import type { Priority } from '@temporalio/common';

/** What a workflow run is for; lower keys are dispatched first (Temporal's default is 3). */
export const PRIORITY_KEYS = {
  /** The tenant's request limiter: every HTTP request of the tenant waits on its grants. */
  rateLimiter: 1,
  /** CXone webhook lifecycle events and one-user, on-demand work: someone is waiting. */
  lifecycle: 2,
  onDemand: 2,
  /** Started by hand (configure, register webhooks, adopt, undo): Temporal's default. */
  interactive: 3,
  /** Scheduled syncs and bulk provisioning: large, nobody waits on a single record. */
  scheduled: 4,
  bulk: 4,
} as const;

export type WorkKind = keyof typeof PRIORITY_KEYS;

/** The priority of `kind` work for `tenant`: its priority key, and the tenant as fairness key. */
export function workPriority(kind: WorkKind, tenant: string): Priority {
  return { priorityKey: PRIORITY_KEYS[kind], fairnessKey: fairnessKeyOf(tenant) };
}

/** Temporal limits fairness keys to 64 bytes; tenant ids are short, a longer one is cut (whole characters). */
export function fairnessKeyOf(tenant: string): string {
  let key = '';
  for (const char of tenant) {
    if (new TextEncoder().encode(key + char).length > 64) break;
    key += char;
  }
  return key;
}
