import type { TenantConnection } from '../tenant';
import { settingName, type CxoneAccessKeyLegacyAuth } from './config';
import { callAuthEndpoint, readAccessToken, type AuthHttp, type EndpointCall, type IssuedToken } from './endpoint';
import type { AuthStrategy } from './strategy';

export const LEGACY_TOKEN_PATH = '/authentication/v1/token/access-key';

/** CXone's older access-key flow: JSON `{accessKeyId, accessKeySecret}` → `access_token`. */
export class CxoneAccessKeyLegacyStrategy implements AuthStrategy<CxoneAccessKeyLegacyAuth> {
  constructor(private readonly http: AuthHttp) {}

  cacheKey(auth: CxoneAccessKeyLegacyAuth): unknown[] {
    return [auth.authUrl, auth.accessKeyId];
  }

  async requestToken(tenant: TenantConnection, auth: CxoneAccessKeyLegacyAuth): Promise<IssuedToken> {
    const call: EndpointCall = {
      tenant,
      url: legacyTokenUrl(auth.authUrl),
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ accessKeyId: auth.accessKeyId, accessKeySecret: auth.accessKeySecret }),
      secrets: [auth.accessKeySecret],
      fix: (status) =>
        status === undefined || status === 404
          ? `check ${settingName(auth, 'authUrl')}, e.g. https://na1.nice-incontact.com`
          : `check ${settingName(auth, 'accessKeyId')} and ${settingName(auth, 'accessKeySecret')}: the access key is wrong, expired or revoked`,
    };
    return readAccessToken(call, await callAuthEndpoint(this.http, call));
  }
}

/** `{authUrl}/authentication/v1/token/access-key`; an authUrl that already ends with the path is used as is. */
export function legacyTokenUrl(authUrl: string): string {
  const base = authUrl.replace(/\/+$/, '');
  return base.endsWith(LEGACY_TOKEN_PATH) ? base : `${base}${LEGACY_TOKEN_PATH}`;
}
