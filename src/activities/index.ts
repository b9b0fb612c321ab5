import type { ActivityDeps } from './deps';
import { createDiscoveryActivities } from './discovery';
import { createBulkChunkActivities } from './bulk-chunks';
import { createProvisioningActivities } from './provisioning';
import { createResourceSliceActivities } from './resource-slices';
import { createIdpActivities } from './idp';
import { createWebhookActivities } from './webhooks';
import { createServiceProviderConfigActivities } from './service-provider-config';
import { createSyncActivities } from './sync';
import { createGroupActivities } from './groups';
import { createAssignmentActivities } from './assignments';
import { createAdoptionActivities } from './adoption';
import { createDatedActivities } from './dated';
import { createUndoActivities } from './undo';
import { createManagerLinkActivities } from './manager-links';

export { createActivityDeps, type ActivityDeps } from './deps';

/** Every activity the worker registers, bound to the worker's tenants and token cache. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createDiscoveryActivities(deps),
    ...createProvisioningActivities(deps),
    ...createBulkChunkActivities(deps),
    ...createResourceSliceActivities(deps),
    ...createServiceProviderConfigActivities(deps),
    ...createWebhookActivities(deps),
    ...createIdpActivities(deps),
    ...createSyncActivities(deps),
    ...createGroupActivities(deps),
    ...createAssignmentActivities(deps),
    ...createAdoptionActivities(deps),
    ...createDatedActivities(deps),
    ...createUndoActivities(deps),
    ...createManagerLinkActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
