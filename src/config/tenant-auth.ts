import * as t from 'io-ts';
import {
  AUTH_TYPES,
  DEFAULT_CXONE_ISSUER,
  type AuthSetting,
  type AuthType,
  type TenantAuth,
} from '../http/auth/config';

/**
 * A tenant's authentication settings, from CXONE_* variables (the default tenant) or a tenants-file
 * entry. The file names the env variables that hold secrets; it never holds a secret itself.
 * Every problem of one tenant is reported at once, each with the setting and what to do.
 */

const authTypeCodec = t.keyof(Object.fromEntries(AUTH_TYPES.map((type) => [type, null])) as Record<AuthType, null>);

/** The auth members of a tenants-file entry (all optional here: which are required depends on `auth`). */
export const TenantFileAuthFields = t.partial({
  auth: authTypeCodec,
  tokenUrl: t.string,
  clientId: t.string,
  clientSecretEnv: t.string,
  clientAuthMethod: t.keyof({ client_secret_basic: null, client_secret_post: null }),
  scopes: t.array(t.string),
  issuer: t.string,
  authUrl: t.string,
  accessKeyIdEnv: t.string,
  accessKeySecretEnv: t.string,
  tokenEnv: t.string,
});
export type TenantFileAuth = t.TypeOf<typeof TenantFileAuthFields> & { baseUrl?: string };

/** File members each strategy requires (`baseUrl` too, except where the API base is discovered). */
const REQUIRED_FILE_FIELDS: Record<AuthType, string[]> = {
  'client-credentials': ['baseUrl', 'tokenUrl', 'clientId', 'clientSecretEnv'],
  'cxone-access-key': ['clientId', 'clientSecretEnv', 'accessKeyIdEnv', 'accessKeySecretEnv'],
  'cxone-access-key-legacy': ['baseUrl', 'authUrl', 'accessKeyIdEnv', 'accessKeySecretEnv'],
  bearer: ['baseUrl', 'tokenEnv'],
};

/** Missing members of a raw file entry, as `{ member, why }`; checked even when other members are mistyped. */
export function missingFileFields(entry: Record<string, unknown>): { member: string; why: string }[] {
  const type = (AUTH_TYPES as readonly unknown[]).includes(entry.auth)
    ? (entry.auth as AuthType)
    : 'client-credentials';
  return REQUIRED_FILE_FIELDS[type]
    .filter((member) => entry[member] === undefined)
    .map((member) => ({ member, why: `required when auth is ${type}` }));
}

/** Collects every missing variable of one tenant, then throws once. */
class EnvReader {
  readonly #missing: string[] = [];

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly what: string,
  ) {}

  /** The value of a variable that must be set; `purpose` says what to put there. */
  require(name: string, purpose: string, namedBy?: string): string {
    const value = this.env[name];
    if (!value)
      this.#missing.push(
        `environment variable ${name} is not set${namedBy ? ` (named by ${namedBy})` : ''}: set it to ${purpose}`,
      );
    return value ?? '';
  }

  done(): void {
    if (this.#missing.length > 0) throw new Error(`${this.what}: ${this.#missing.join('; ')}`);
  }
}

const PURPOSE = {
  clientSecret: "the registered application's client secret",
  accessKeyId: "the API user's access key id",
  accessKeySecret: "the API user's access key secret",
  token: 'the static bearer token',
};

/** The default tenant's auth from CXONE_AUTH and friends. */
export function authFromEnv(env: NodeJS.ProcessEnv, what: string): { auth: TenantAuth; baseUrl?: string } {
  const type = (env.CXONE_AUTH || 'client-credentials') as AuthType;
  if (!AUTH_TYPES.includes(type)) {
    throw new Error(`${what}: CXONE_AUTH is "${env.CXONE_AUTH}": set it to one of ${AUTH_TYPES.join(', ')}`);
  }
  const read = new EnvReader(env, what);
  const baseUrl = env.CXONE_BASE_URL || undefined;
  if (!baseUrl && type !== 'cxone-access-key') read.require('CXONE_BASE_URL', "the tenant's API base URL");
  const scopes = splitScopes(env.CXONE_SCOPES);
  const sources = {
    baseUrl: 'CXONE_BASE_URL',
    tokenUrl: 'CXONE_TOKEN_URL',
    clientId: 'CXONE_CLIENT_ID',
    clientSecret: 'CXONE_CLIENT_SECRET',
    accessKeyId: 'CXONE_ACCESS_KEY_ID',
    accessKeySecret: 'CXONE_ACCESS_KEY_SECRET',
    issuer: 'CXONE_ISSUER',
    authUrl: 'CXONE_AUTH_URL',
    token: 'CXONE_BEARER_TOKEN',
  } satisfies Record<AuthSetting, string>;
  let auth: TenantAuth;
  switch (type) {
    case 'client-credentials': {
      const method = env.CXONE_CLIENT_AUTH_METHOD || 'client_secret_basic';
      if (method !== 'client_secret_basic' && method !== 'client_secret_post') {
        throw new Error(
          `${what}: CXONE_CLIENT_AUTH_METHOD is "${method}": set it to client_secret_basic or client_secret_post`,
        );
      }
      auth = {
        type,
        tokenUrl: env.CXONE_TOKEN_URL || (baseUrl ? new URL('/oauth/token', baseUrl).toString() : ''),
        clientId: read.require('CXONE_CLIENT_ID', "the OAuth client's id"),
        clientSecret: read.require('CXONE_CLIENT_SECRET', "the OAuth client's secret"),
        scopes,
        clientAuthMethod: method,
        sources,
      };
      break;
    }
    case 'cxone-access-key':
      auth = {
        type,
        issuer: env.CXONE_ISSUER || DEFAULT_CXONE_ISSUER,
        clientId: read.require('CXONE_CLIENT_ID', "the registered application's client id"),
        clientSecret: read.require('CXONE_CLIENT_SECRET', PURPOSE.clientSecret),
        accessKeyId: read.require('CXONE_ACCESS_KEY_ID', PURPOSE.accessKeyId),
        accessKeySecret: read.require('CXONE_ACCESS_KEY_SECRET', PURPOSE.accessKeySecret),
        scopes,
        sources,
      };
      break;
    case 'cxone-access-key-legacy':
      auth = {
        type,
        authUrl: read.require('CXONE_AUTH_URL', 'the regional auth base, e.g. https://na1.nice-incontact.com'),
        accessKeyId: read.require('CXONE_ACCESS_KEY_ID', PURPOSE.accessKeyId),
        accessKeySecret: read.require('CXONE_ACCESS_KEY_SECRET', PURPOSE.accessKeySecret),
        sources,
      };
      break;
    case 'bearer':
      auth = { type, token: read.require('CXONE_BEARER_TOKEN', PURPOSE.token), sources };
      break;
  }
  read.done();
  return { auth, baseUrl };
}

/** A tenants-file entry's auth, its secrets read from the variables it names. Required members are checked before. */
export function authFromFile(entry: TenantFileAuth, env: NodeJS.ProcessEnv, what: string): TenantAuth {
  const read = new EnvReader(env, what);
  type SecretMember = 'clientSecretEnv' | 'accessKeyIdEnv' | 'accessKeySecretEnv' | 'tokenEnv';
  const secret = (member: SecretMember, purpose: string) => read.require(entry[member] as string, purpose, member);
  /** e.g. `accessKeySecretEnv ACME_KEY`: the member and the variable it names. */
  const source = (member: SecretMember) => (entry[member] ? `${member} ${entry[member]}` : member);
  const sources: Partial<Record<AuthSetting, string>> = {
    baseUrl: 'baseUrl',
    tokenUrl: 'tokenUrl',
    clientId: 'clientId',
    clientSecret: source('clientSecretEnv'),
    accessKeyId: source('accessKeyIdEnv'),
    accessKeySecret: source('accessKeySecretEnv'),
    issuer: 'issuer',
    authUrl: 'authUrl',
    token: source('tokenEnv'),
  };
  let auth: TenantAuth;
  switch (entry.auth ?? 'client-credentials') {
    case 'client-credentials':
      auth = {
        type: 'client-credentials',
        tokenUrl: entry.tokenUrl as string,
        clientId: entry.clientId as string,
        clientSecret: secret('clientSecretEnv', "the OAuth client's secret"),
        scopes: entry.scopes ?? [],
        clientAuthMethod: entry.clientAuthMethod ?? 'client_secret_basic',
        sources,
      };
      break;
    case 'cxone-access-key':
      auth = {
        type: 'cxone-access-key',
        issuer: entry.issuer ?? DEFAULT_CXONE_ISSUER,
        clientId: entry.clientId as string,
        clientSecret: secret('clientSecretEnv', PURPOSE.clientSecret),
        accessKeyId: secret('accessKeyIdEnv', PURPOSE.accessKeyId),
        accessKeySecret: secret('accessKeySecretEnv', PURPOSE.accessKeySecret),
        scopes: entry.scopes ?? [],
        sources,
      };
      break;
    case 'cxone-access-key-legacy':
      auth = {
        type: 'cxone-access-key-legacy',
        authUrl: entry.authUrl as string,
        accessKeyId: secret('accessKeyIdEnv', PURPOSE.accessKeyId),
        accessKeySecret: secret('accessKeySecretEnv', PURPOSE.accessKeySecret),
        sources,
      };
      break;
    case 'bearer':
      auth = { type: 'bearer', token: secret('tokenEnv', PURPOSE.token), sources };
      break;
  }
  read.done();
  return auth;
}

export function splitScopes(value: string | undefined): string[] {
  return (value ?? '').split(/[\s,]+/).filter(Boolean);
}
