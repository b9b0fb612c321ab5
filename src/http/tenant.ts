import type { CapabilitySettings, EndpointSettings } from '../scim/capabilities';
import type { TenantAuth } from './auth/config';
import type { IdenticalFailureRule } from './dialect';

/** How to reach one tenant's SCIM service provider. Holds secrets: keep it out of workflow inputs and results. */
export interface TenantConnection {
  tenantId: string;
  /**
   * Origin (and optional prefix) of the tenant's API, e.g. `https://api-na1.niceincontact.com`.
   * Optional only under `cxone-access-key`, which discovers it from the issuer.
   */
  baseUrl?: string;
  /** SCIM root below the API base, e.g. `/scim/v2`. */
  scimPath: string;
  auth: TenantAuth;
  requestTimeoutMs?: number;
  /** Requests per second to this tenant, per worker process (default: unlimited; a 429's Retry-After always pauses). */
  maxRequestsPerSecond?: number;
  /** Requests in flight to this tenant at once, per worker process (default: unlimited). */
  maxConcurrentRequests?: number;
  /**
   * false: look users up by one key per request, never `userName eq … or externalId eq …`, for a
   * provider that answers `or` wrongly without refusing it (default true; a refused `or` is learnt anyway).
   */
  filterOr?: boolean;
  /**
   * What the provider can do, when it publishes no ServiceProviderConfig or publishes it wrongly;
   * each member given here beats the discovered one (see src/scim/capabilities.ts).
   */
  capabilities?: CapabilitySettings;
  /** Where Users and Groups live below the SCIM base (default `/Users`, `/Groups`; groups null: none). */
  endpoints?: EndpointSettings;
  /** When one request failing identically is persistent rather than an outage (default 5 times over 30 s). */
  identicalFailures?: Partial<IdenticalFailureRule>;
}

/** `baseUrl` + `scimPath` with exactly one slash between them and none at the end. */
export function scimBaseUrl(tenant: { baseUrl: string; scimPath: string }): string {
  const base = tenant.baseUrl.replace(/\/+$/, '');
  const path = tenant.scimPath.replace(/^\/+|\/+$/g, '');
  return path ? `${base}/${path}` : base;
}
