import {
  callAuthEndpoint,
  readAccessToken,
  type AuthHttp,
  type AuthTenant,
  type EndpointCall,
  type IssuedToken,
} from './endpoint';
import { defineAuthStrategy, setting, settingName, type AuthConfigOf, type AuthStrategy } from './strategy';

export const LEGACY_TOKEN_PATH = '/authentication/v1/token/access-key';

const settings = {
  authUrl: setting.text('CXONE_AUTH_URL', {
    required: true,
    purpose: 'the regional auth base, e.g. https://na1.nice-incontact.com',
  }),
  accessKeyId: setting.variable('CXONE_ACCESS_KEY_ID', { secret: false, purpose: "the API user's access key id" }),
  accessKeySecret: setting.variable('CXONE_ACCESS_KEY_SECRET', {
    secret: true,
    purpose: "the API user's access key secret",
  }),
};

/** CXone's older flow: `POST {authUrl}/authentication/v1/token/access-key`. */
export type CxoneAccessKeyLegacyAuth = AuthConfigOf<'cxone-access-key-legacy', typeof settings>;

/** CXone's older access-key flow: JSON `{accessKeyId, accessKeySecret}` → `access_token`. */
class CxoneAccessKeyLegacyStrategy implements AuthStrategy<CxoneAccessKeyLegacyAuth> {
  constructor(private readonly http: AuthHttp) {}

  cacheKey(auth: CxoneAccessKeyLegacyAuth): unknown[] {
    return [auth.authUrl, auth.accessKeyId];
  }

  async requestToken(tenant: AuthTenant, auth: CxoneAccessKeyLegacyAuth): Promise<IssuedToken> {
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

export const cxoneAccessKeyLegacy = defineAuthStrategy({
  type: 'cxone-access-key-legacy',
  needsBaseUrl: true,
  settings,
  describe: (auth) => `cxone-access-key-legacy (${auth.authUrl})`,
  create: (http) => new CxoneAccessKeyLegacyStrategy(http),
});

/** `{authUrl}/authentication/v1/token/access-key`; an authUrl that already ends with the path is used as is. */
export function legacyTokenUrl(authUrl: string): string {
  const base = authUrl.replace(/\/+$/, '');
  return base.endsWith(LEGACY_TOKEN_PATH) ? base : `${base}${LEGACY_TOKEN_PATH}`;
}
