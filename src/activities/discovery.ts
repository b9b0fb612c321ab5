import type { ActivityDeps } from './deps';
import { asActivity, scimClientFor } from './deps';
import { payloadSha256 } from './hash';

/** What a workflow learns about one HTTP exchange: enough for a report step, nothing secret. */
export interface HttpOutcome {
  httpStatus: number;
  etag?: string;
  payloadSha256?: string;
  durationMs: number;
}

export interface Discovered<T> extends HttpOutcome {
  body: T;
}

export function createDiscoveryActivities(deps: ActivityDeps) {
  async function discover<T>(tenantId: string, path: string): Promise<Discovered<T>> {
    return asActivity(async () => {
      const response = await scimClientFor(deps, tenantId).get<T>(path);
      return {
        httpStatus: response.status,
        etag: response.etag,
        payloadSha256: payloadSha256(response.body),
        durationMs: response.durationMs,
        body: response.body,
      };
    });
  }
  return {
    /** Discovery GET {scim}/ServiceProviderConfig: the current value and its ETag. */
    discoverServiceProviderConfig: (tenantId: string) =>
      discover<Record<string, unknown>>(tenantId, '/ServiceProviderConfig'),
    /** Discovery GET {scim}/ResourceTypes. */
    discoverResourceTypes: (tenantId: string) => discover<Record<string, unknown>>(tenantId, '/ResourceTypes'),
    /** Discovery GET {scim}/Schemas. */
    discoverSchemas: (tenantId: string) => discover<Record<string, unknown>>(tenantId, '/Schemas'),
  };
}
