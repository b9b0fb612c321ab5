// Every workflow the worker registers. Workflow code is deterministic: no I/O here, only
// orchestration of activities, timers, signals and queries.
export { discoverServiceProvider } from './discover-service-provider';
export {
  configureServiceProvider,
  type ConfigureServiceProviderInput,
  type ConfigureServiceProviderResult,
} from './configure-service-provider';
export { registerWebhooks, registerWebhooksWorkflowId, type RegisterWebhooksInput, type RegisterWebhooksResult } from './register-webhooks';
export {
  userLifecycle,
  userLifecycleWorkflowId,
  lifecycleEventSignal,
  stateQuery,
  type IdpTarget,
  type UserLifecycleInput,
  type UserLifecycleState,
} from './user-lifecycle';
