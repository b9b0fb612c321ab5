/** Public names from SPEC.md. Scripts and users depend on them: change none of them. */
export const DEFAULT_TASK_QUEUE = 'cxone-scim';
export const DEFAULT_NAMESPACE = 'default';

/**
 * Every workflow type the worker registers (each function exported by src/workflows/index.ts; a
 * test keeps the two lists equal). The names are recorded in workflow histories, schedules and
 * scripts, so none of them ever changes. `provisionUsersBatch` is provisionUsers' internal child;
 * the others are started by people, the CLI or the webhook receiver.
 */
export const WORKFLOW_TYPES = {
  adoptUsers: 'adoptUsers',
  configureServiceProvider: 'configureServiceProvider',
  datedUserActions: 'datedUserActions',
  discoverServiceProvider: 'discoverServiceProvider',
  provisionUsers: 'provisionUsers',
  provisionUsersBatch: 'provisionUsersBatch',
  registerWebhooks: 'registerWebhooks',
  syncAssignments: 'syncAssignments',
  syncGroups: 'syncGroups',
  syncUsers: 'syncUsers',
  tenantRateLimiter: 'tenantRateLimiter',
  undoRun: 'undoRun',
  userLifecycle: 'userLifecycle',
} as const;

/**
 * configureServiceProvider runs under one workflow id per tenant, so that Temporal itself
 * refuses a second concurrent run (never two PUTs at once to one tenant's endpoint).
 */
export function configureWorkflowId(tenant: string): string {
  return `configure-service-provider-${tenant}`;
}

// The workflow ids of runs the CLI starts (unless --workflow-id gives one): `<job>-<tenant>-<uuid>`,
// a new one per run. Scripts find runs by these prefixes: keep the formats. The UUID comes from
// the global Web Crypto `crypto` (no import, so workflow code may still import this module for
// configureWorkflowId); only the CLI calls these, never workflow code.

/** A provisionUsers run: `provision-users-<tenant>-<uuid>`. */
export function provisionUsersWorkflowId(tenant: string): string {
  return `provision-users-${tenant}-${crypto.randomUUID()}`;
}

/** A syncUsers run: `sync-<tenant>-<uuid>`. */
export function syncUsersWorkflowId(tenant: string): string {
  return `sync-${tenant}-${crypto.randomUUID()}`;
}

/** A syncGroups run: `sync-groups-<tenant>-<uuid>`. */
export function syncGroupsWorkflowId(tenant: string): string {
  return `sync-groups-${tenant}-${crypto.randomUUID()}`;
}

/** A syncAssignments run: `sync-assignments-<tenant>-<uuid>`. */
export function syncAssignmentsWorkflowId(tenant: string): string {
  return `sync-assignments-${tenant}-${crypto.randomUUID()}`;
}

/** An adoptUsers run: `adopt-<tenant>-<uuid>`. */
export function adoptUsersWorkflowId(tenant: string): string {
  return `adopt-${tenant}-${crypto.randomUUID()}`;
}

/** The schedule of a tenant's syncUsers runs (`schedule create` without --schedule-id): `sync-<tenant>`. */
export function syncScheduleId(tenant: string): string {
  return `sync-${tenant}`;
}
