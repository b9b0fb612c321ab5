// Every workflow the worker registers: each exported function here becomes a workflow type, so
// only workflows, signal/query definitions and types are exported (helpers such as workflow-id
// builders are imported from their own module). Workflow code is deterministic: no I/O.
export { discoverServiceProvider } from './discover-service-provider';
export {
  configureServiceProvider,
  type ConfigureServiceProviderInput,
  type ConfigureServiceProviderResult,
} from './configure-service-provider';
export { registerWebhooks, type RegisterWebhooksInput, type RegisterWebhooksResult } from './register-webhooks';
export {
  userLifecycle,
  lifecycleEventSignal,
  stateQuery,
  type IdpTarget,
  type UserLifecycleInput,
  type UserLifecycleState,
} from './user-lifecycle/workflow';
export {
  provisionUsers,
  progressQuery,
  type ProvisionUsersInput,
  type ProvisionUsersResult,
  type WriteMode,
} from './provision-users/workflow';
export { provisionUsersBatch } from './provision-users/batch-workflow';
export {
  syncUsers,
  syncProgressQuery,
  type SyncUsersInput,
  type SyncProgress,
  type SyncUsersResult,
} from './sync/sync-users';
export { syncGroups, syncGroupsProgressQuery, type SyncGroupsInput, type SyncGroupsResult } from './sync/sync-groups';
export { approveDeletionsUpdate, rejectDeletionsUpdate, type DeletionDecision } from './sync/deletion-approval';
export {
  syncAssignments,
  syncAssignmentsProgressQuery,
  type SyncAssignmentsInput,
  type SyncAssignmentsProgress,
  type SyncAssignmentsResult,
} from './assignments/sync-assignments';
export {
  adoptUsers,
  adoptProgressQuery,
  type AdoptUsersInput,
  type AdoptUsersResult,
  type AdoptProgress,
} from './adopt/adopt-users';
export { approveLinksUpdate, rejectLinksUpdate, type LinkDecision } from './adopt/link-approval';
export {
  datedUserActions,
  datedPlanSignal,
  cancelDatedActionUpdate,
  datedStateQuery,
  type DatedUserActionsInput,
  type DatedUserActionsResult,
} from './dated/workflow';
export {
  tenantRateLimiter,
  requestBudgetUpdate,
  pauseRequestsSignal,
  type TenantRateLimiterInput,
} from './rate-limiter/workflow';
export { undoRun, undoProgressQuery, type UndoRunInput, type UndoRunResult } from './undo/undo-run';
