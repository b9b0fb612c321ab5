/** Public names from SPEC.md. Scripts and users depend on them: change none of them. */
export const DEFAULT_TASK_QUEUE = 'cxone-scim';
export const DEFAULT_NAMESPACE = 'default';

export const WORKFLOW_TYPES = {
  configureServiceProvider: 'configureServiceProvider',
  provisionUsers: 'provisionUsers',
  registerWebhooks: 'registerWebhooks',
  userLifecycle: 'userLifecycle',
} as const;
