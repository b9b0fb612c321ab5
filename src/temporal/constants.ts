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
  configureServiceProvider: 'configureServiceProvider',
  discoverServiceProvider: 'discoverServiceProvider',
  provisionUsers: 'provisionUsers',
  provisionUsersBatch: 'provisionUsersBatch',
  registerWebhooks: 'registerWebhooks',
  syncAssignments: 'syncAssignments',
  syncGroups: 'syncGroups',
  syncUsers: 'syncUsers',
  tenantRateLimiter: 'tenantRateLimiter',
  userLifecycle: 'userLifecycle',
} as const;

/**
 * configureServiceProvider runs under one workflow id per tenant, so that Temporal itself
 * refuses a second concurrent run (never two PUTs at once to one tenant's endpoint).
 */
export function configureWorkflowId(tenant: string): string {
  return `configure-service-provider-${tenant}`;
}
