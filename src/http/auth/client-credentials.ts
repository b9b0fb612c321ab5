import {
  basicAuth,
  callAuthEndpoint,
  FORM,
  readAccessToken,
  type AuthHttp,
  type AuthTenant,
  type EndpointCall,
  type IssuedToken,
} from './endpoint';
import { defineAuthStrategy, setting, settingName, type AuthConfigOf, type AuthStrategy } from './strategy';

const settings = {
  tokenUrl: setting.text('CXONE_TOKEN_URL', {
    required: true,
    purpose: "the OAuth token endpoint's URL",
    // The default tenant may leave it out: {CXONE_BASE_URL}/oauth/token.
    envDefault: ({ baseUrl }) => (baseUrl ? new URL('/oauth/token', baseUrl).toString() : ''),
  }),
  clientId: setting.text('CXONE_CLIENT_ID', { required: true, purpose: "the OAuth client's id" }),
  clientSecret: setting.variable('CXONE_CLIENT_SECRET', { secret: true, purpose: "the OAuth client's secret" }),
  scopes: setting.scopes('CXONE_SCOPES'),
  /** RFC 6749 §2.3.1: HTTP Basic (default) or the credentials in the form body. */
  clientAuthMethod: setting.choice(
    'CXONE_CLIENT_AUTH_METHOD',
    ['client_secret_basic', 'client_secret_post'],
    'client_secret_basic',
  ),
};

/** OAuth 2.0 client credentials (RFC 6749 §4.4). */
export type ClientCredentialsAuth = AuthConfigOf<'client-credentials', typeof settings>;

/** OAuth 2.0 client credentials (RFC 6749 §4.4), client authenticated by HTTP Basic or in the form. */
class ClientCredentialsStrategy implements AuthStrategy<ClientCredentialsAuth> {
  constructor(private readonly http: AuthHttp) {}

  cacheKey(auth: ClientCredentialsAuth): unknown[] {
    return [auth.tokenUrl, auth.clientId, auth.scopes, auth.clientAuthMethod];
  }

  async requestToken(tenant: AuthTenant, auth: ClientCredentialsAuth): Promise<IssuedToken> {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (auth.scopes.length > 0) form.set('scope', auth.scopes.join(' '));
    const headers: Record<string, string> = { 'content-type': FORM };
    if (auth.clientAuthMethod === 'client_secret_post') {
      form.set('client_id', auth.clientId);
      form.set('client_secret', auth.clientSecret);
    } else {
      headers.authorization = basicAuth(auth.clientId, auth.clientSecret);
    }
    const call: EndpointCall = {
      tenant,
      url: auth.tokenUrl,
      method: 'POST',
      headers,
      body: form.toString(),
      secrets: [auth.clientSecret],
      fix: (status, error) => {
        if (status === undefined) return `check ${settingName(auth, 'tokenUrl')}: the token endpoint is unreachable`;
        if (error === 'invalid_scope') return 'check the scopes the tenant asks for';
        if (status === 404) return `check ${settingName(auth, 'tokenUrl')}`;
        return `check ${settingName(auth, 'clientId')} and ${settingName(auth, 'clientSecret')}`;
      },
    };
    return readAccessToken(call, await callAuthEndpoint(this.http, call));
  }
}

export const clientCredentials = defineAuthStrategy({
  type: 'client-credentials',
  needsBaseUrl: true,
  settings,
  describe: (auth) => `client-credentials (${auth.tokenUrl}, client ${auth.clientId}, ${auth.clientAuthMethod})`,
  create: (http) => new ClientCredentialsStrategy(http),
});
