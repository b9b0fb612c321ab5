import { CxoneDiscovery, tenantIdFromIdToken } from './cxone-discovery';
import {
  basicAuth,
  callAuthEndpoint,
  endpointError,
  FORM,
  readAccessToken,
  type AuthHttp,
  type AuthTenant,
  type EndpointCall,
  type IssuedToken,
} from './endpoint';
import { defineAuthStrategy, setting, settingName, type AuthConfigOf, type AuthStrategy } from './strategy';

export const DEFAULT_CXONE_ISSUER = 'https://cxone.niceincontact.com';

const settings = {
  issuer: setting.text('CXONE_ISSUER', { required: false, default: DEFAULT_CXONE_ISSUER }),
  clientId: setting.text('CXONE_CLIENT_ID', { required: true, purpose: "the registered application's client id" }),
  clientSecret: setting.variable('CXONE_CLIENT_SECRET', {
    secret: true,
    purpose: "the registered application's client secret",
  }),
  accessKeyId: setting.variable('CXONE_ACCESS_KEY_ID', { secret: false, purpose: "the API user's access key id" }),
  accessKeySecret: setting.variable('CXONE_ACCESS_KEY_SECRET', {
    secret: true,
    purpose: "the API user's access key secret",
  }),
  scopes: setting.scopes('CXONE_SCOPES'),
};

/**
 * NICE CXone back-end applications: OAuth 2.0 password grant with the API user's access key as
 * username/password and the registered application as the (HTTP Basic) client; the token endpoint
 * and the tenant's API base are discovered from the issuer.
 */
export type CxoneAccessKeyAuth = AuthConfigOf<'cxone-access-key', typeof settings>;

/**
 * NICE CXone back-end application: OAuth 2.0 password grant, the API user's access key as
 * username/password, the registered application as the HTTP Basic client. The token endpoint
 * comes from the issuer's discovery; the API base, unless configured, from the id_token's
 * `tenantId` and the issuer's cxone-configuration.
 */
class CxoneAccessKeyStrategy implements AuthStrategy<CxoneAccessKeyAuth> {
  readonly #discovery: CxoneDiscovery;

  constructor(private readonly http: AuthHttp) {
    this.#discovery = new CxoneDiscovery(http);
  }

  cacheKey(auth: CxoneAccessKeyAuth): unknown[] {
    return [auth.issuer, auth.clientId, auth.accessKeyId, auth.scopes];
  }

  async requestToken(tenant: AuthTenant, auth: CxoneAccessKeyAuth): Promise<IssuedToken> {
    const form = new URLSearchParams({
      grant_type: 'password',
      username: auth.accessKeyId,
      password: auth.accessKeySecret,
    });
    if (auth.scopes.length > 0) form.set('scope', auth.scopes.join(' '));
    const call: EndpointCall = {
      tenant,
      url: await this.#discovery.tokenEndpoint(tenant, auth),
      method: 'POST',
      headers: { 'content-type': FORM, authorization: basicAuth(auth.clientId, auth.clientSecret) },
      body: form.toString(),
      secrets: [auth.clientSecret, auth.accessKeySecret],
      fix: (status, error) => {
        if (status === undefined) return `check ${settingName(auth, 'issuer')}: its token endpoint is unreachable`;
        if (error === 'invalid_client') {
          return `check ${settingName(auth, 'clientId')} and ${settingName(auth, 'clientSecret')}: the registered application's credentials`;
        }
        return `check ${settingName(auth, 'accessKeyId')} and ${settingName(auth, 'accessKeySecret')}: the API user's access key is wrong, expired or revoked`;
      },
    };
    const answer = await callAuthEndpoint(this.http, call);
    const issued = readAccessToken(call, answer);
    if (tenant.baseUrl) return issued;
    const cxoneTenantId = tenantIdFromIdToken(answer.json.id_token);
    if (!cxoneTenantId) {
      throw endpointError(call, {
        status: answer.status,
        reason: 'the token response has no id_token with a tenantId claim, so the API base cannot be discovered',
        fix: `set ${settingName(auth, 'baseUrl')} to the tenant's API base, e.g. https://api-na1.niceincontact.com`,
      });
    }
    return { ...issued, apiBase: await this.#discovery.apiEndpoint(tenant, auth, cxoneTenantId) };
  }
}

export const cxoneAccessKey = defineAuthStrategy({
  type: 'cxone-access-key',
  // Discovered from the id_token's tenantId unless configured.
  needsBaseUrl: false,
  settings,
  describe: (auth) => `cxone-access-key (issuer ${auth.issuer}, client ${auth.clientId})`,
  create: (http) => new CxoneAccessKeyStrategy(http),
});
