/** How to reach one tenant's SCIM service provider. Holds a secret: keep it out of workflow inputs and results. */
export interface TenantConnection {
  tenantId: string;
  /** Origin (and optional prefix) of the tenant's API, e.g. `https://api.example.com`. */
  baseUrl: string;
  /** SCIM root below `baseUrl`, e.g. `/scim/v2`. */
  scimPath: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scopes: string[];
  requestTimeoutMs?: number;
}

/** `baseUrl` + `scimPath` with exactly one slash between them and none at the end. */
export function scimBaseUrl(tenant: Pick<TenantConnection, 'baseUrl' | 'scimPath'>): string {
  const base = tenant.baseUrl.replace(/\/+$/, '');
  const path = tenant.scimPath.replace(/^\/+|\/+$/g, '');
  return path ? `${base}/${path}` : base;
}
