import type { TenantConnection } from '../tenant';
import { settingName, type ClientCredentialsAuth } from './config';
import {
  basicAuth,
  callAuthEndpoint,
  FORM,
  readAccessToken,
  type AuthHttp,
  type EndpointCall,
  type IssuedToken,
} from './endpoint';
import type { AuthStrategy } from './strategy';

/** OAuth 2.0 client credentials (RFC 6749 §4.4), client authenticated by HTTP Basic or in the form. */
export class ClientCredentialsStrategy implements AuthStrategy<ClientCredentialsAuth> {
  constructor(private readonly http: AuthHttp) {}

  cacheKey(auth: ClientCredentialsAuth): unknown[] {
    return [auth.tokenUrl, auth.clientId, auth.scopes, auth.clientAuthMethod];
  }

  async requestToken(tenant: TenantConnection, auth: ClientCredentialsAuth): Promise<IssuedToken> {
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
