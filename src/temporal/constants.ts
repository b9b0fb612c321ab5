/** Public names from SPEC.md. Scripts and users depend on them: change none of them. */
export const DEFAULT_TASK_QUEUE = 'cxone-scim';
export const DEFAULT_NAMESPACE = 'default';

export const WORKFLOW_TYPES = {
  configureServiceProvider: 'configureServiceProvider',
  provisionUsers: 'provisionUsers',
  registerWebhooks: 'registerWebhooks',
  userLifecycle: 'userLifecycle',
} as const;

/**
 * configureServiceProvider runs under one workflow id per tenant, so that Temporal itself
 * refuses a second concurrent run (never two PUTs at once to one tenant's endpoint).
 */
export function configureWorkflowId(tenant: string): string {
  return `configure-service-provider-${tenant}`;
}
