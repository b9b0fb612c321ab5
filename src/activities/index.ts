import type { ActivityDeps } from './deps';
import { createDiscoveryActivities } from './discovery';
import { createServiceProviderConfigActivities } from './service-provider-config';

export { createActivityDeps, type ActivityDeps } from './deps';

/** Every activity the worker registers, bound to the worker's tenants and token cache. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createDiscoveryActivities(deps),
    ...createServiceProviderConfigActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
