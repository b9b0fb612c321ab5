import { settingName, type AuthConfig } from './strategy';
import { callAuthEndpoint, endpointError, type AuthHttp, type AuthTenant, type EndpointCall } from './endpoint';

/** What discovery needs of a configuration (cxone-access-key's has it): the issuer, and where it was set. */
export type DiscoveryAuth = AuthConfig & { issuer: string };

/**
 * CXone discovery: the issuer's OpenID configuration names the token endpoint, and
 * `cxone-configuration?tenantId=…` names the tenant's API base. Both answers are cached for the
 * life of the process (a failed lookup is not).
 */
export class CxoneDiscovery {
  readonly #tokenEndpoints = new Map<string, Promise<string>>();
  readonly #apiEndpoints = new Map<string, Promise<string>>();

  constructor(private readonly http: AuthHttp) {}

  tokenEndpoint(tenant: AuthTenant, auth: DiscoveryAuth): Promise<string> {
    const issuer = trimIssuer(auth.issuer);
    return once(this.#tokenEndpoints, issuer, async () => {
      const call = discoveryCall(tenant, auth, `${issuer}/.well-known/openid-configuration`);
      const answer = await callAuthEndpoint(this.http, call);
      const endpoint = absoluteUrl(answer.json.token_endpoint);
      if (!endpoint) {
        throw endpointError(call, {
          status: answer.status,
          reason: 'the OpenID configuration has no token_endpoint URL',
          fix: `check ${settingName(auth, 'issuer')}: it must be the CXone issuer, e.g. https://cxone.niceincontact.com`,
        });
      }
      return endpoint;
    });
  }

  apiEndpoint(tenant: AuthTenant, auth: DiscoveryAuth, cxoneTenantId: string): Promise<string> {
    const issuer = trimIssuer(auth.issuer);
    return once(this.#apiEndpoints, JSON.stringify([issuer, cxoneTenantId]), async () => {
      const url = `${issuer}/.well-known/cxone-configuration?tenantId=${encodeURIComponent(cxoneTenantId)}`;
      const call = discoveryCall(tenant, auth, url);
      const answer = await callAuthEndpoint(this.http, call);
      const endpoint = absoluteUrl(answer.json.api_endpoint);
      if (!endpoint) {
        throw endpointError(call, {
          status: answer.status,
          reason: `the CXone configuration of CXone tenant ${cxoneTenantId} has no api_endpoint URL`,
          fix: `set ${settingName(auth, 'baseUrl')} to the tenant's API base, e.g. https://api-na1.niceincontact.com`,
        });
      }
      return endpoint;
    });
  }
}

function discoveryCall(tenant: AuthTenant, auth: DiscoveryAuth, url: string): EndpointCall {
  return {
    tenant,
    url,
    method: 'GET',
    secrets: [],
    fix: (status) =>
      status === 404 || status === undefined
        ? `check ${settingName(auth, 'issuer')}: ${status === undefined ? 'unreachable' : 'no such discovery document'}; the CXone issuer is https://cxone.niceincontact.com`
        : undefined,
  };
}

/**
 * The CXone `tenantId` claim of an id_token. Decoded only, not verified: it routes discovery to
 * the tenant's API base and grants nothing — the token endpoint that issued it over TLS is the
 * trust anchor here, and every API call is authorized by the access token, not by this claim.
 */
export function tenantIdFromIdToken(idToken: unknown): string | undefined {
  if (typeof idToken !== 'string') return undefined;
  const payload = idToken.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    return typeof claims.tenantId === 'string' && claims.tenantId !== '' ? claims.tenantId : undefined;
  } catch {
    return undefined;
  }
}

function trimIssuer(issuer: string): string {
  return issuer.replace(/\/+$/, '');
}

function absoluteUrl(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** One shared lookup per key; a failure is forgotten so the next call tries again. */
function once<T>(cache: Map<string, Promise<T>>, key: string, lookup: () => Promise<T>): Promise<T> {
  let pending = cache.get(key);
  if (!pending) {
    pending = lookup();
    cache.set(key, pending);
    pending.catch(() => cache.delete(key));
  }
  return pending;
}
