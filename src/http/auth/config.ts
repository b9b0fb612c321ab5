/**
 * How a tenant authenticates. Each variant holds its secrets in memory only (read from env
 * variables the tenants file names); none of this ever goes into a workflow input or result.
 */

/** Settings an error message may have to name; `sources` says where each one was configured. */
export type AuthSetting =
  | 'baseUrl'
  | 'tokenUrl'
  | 'clientId'
  | 'clientSecret'
  | 'accessKeyId'
  | 'accessKeySecret'
  | 'issuer'
  | 'authUrl'
  | 'token';

interface AuthCommon {
  /** e.g. `{ clientSecret: 'CXONE_CLIENT_SECRET' }`, so that a failure names the variable to fix. */
  sources?: Partial<Record<AuthSetting, string>>;
}

/** OAuth 2.0 client credentials (RFC 6749 §4.4). */
export interface ClientCredentialsAuth extends AuthCommon {
  type: 'client-credentials';
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scopes: string[];
  /** RFC 6749 §2.3.1: HTTP Basic (default) or the credentials in the form body. */
  clientAuthMethod: 'client_secret_basic' | 'client_secret_post';
}

/**
 * NICE CXone back-end applications: OAuth 2.0 password grant with the API user's access key as
 * username/password and the registered application as the (HTTP Basic) client; the token endpoint
 * and the tenant's API base are discovered from the issuer.
 */
export interface CxoneAccessKeyAuth extends AuthCommon {
  type: 'cxone-access-key';
  issuer: string;
  clientId: string;
  clientSecret: string;
  accessKeyId: string;
  accessKeySecret: string;
  scopes: string[];
}

/** CXone's older flow: `POST {authUrl}/authentication/v1/token/access-key`. */
export interface CxoneAccessKeyLegacyAuth extends AuthCommon {
  type: 'cxone-access-key-legacy';
  authUrl: string;
  accessKeyId: string;
  accessKeySecret: string;
}

/** A static bearer token, never refreshed. */
export interface BearerAuth extends AuthCommon {
  type: 'bearer';
  token: string;
}

export type TenantAuth = ClientCredentialsAuth | CxoneAccessKeyAuth | CxoneAccessKeyLegacyAuth | BearerAuth;
export type AuthType = TenantAuth['type'];

export const AUTH_TYPES: readonly AuthType[] = [
  'cxone-access-key',
  'cxone-access-key-legacy',
  'client-credentials',
  'bearer',
];

export const DEFAULT_CXONE_ISSUER = 'https://cxone.niceincontact.com';

/** Every secret of the configuration, for scrubbing server answers that echo one. */
export function authSecrets(auth: TenantAuth): string[] {
  switch (auth.type) {
    case 'client-credentials':
      return [auth.clientSecret];
    case 'cxone-access-key':
      return [auth.clientSecret, auth.accessKeySecret];
    case 'cxone-access-key-legacy':
      return [auth.accessKeySecret];
    case 'bearer':
      return [auth.token];
  }
}

/** The setting's name and where it came from, e.g. `clientSecret (CXONE_CLIENT_SECRET)`. */
export function settingName(auth: TenantAuth, setting: AuthSetting): string {
  const source = auth.sources?.[setting];
  return source ? `${setting} (${source})` : setting;
}
