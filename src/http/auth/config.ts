// The registry: every auth strategy a tenant may choose, one list. Adding a strategy is its own
// file (see strategy.ts) plus one entry here; the configuration type, CXONE_AUTH's choices, the
// tenants-file members, the token provider and secret scrubbing all follow from this list.
import { bearer } from './bearer';
import { clientCredentials } from './client-credentials';
import { cxoneAccessKey } from './cxone-access-key';
import { cxoneAccessKeyLegacy } from './cxone-access-key-legacy';
import { secretsOf, type AuthStrategyDefinition } from './strategy';

/** In the order `CXONE_AUTH is "…": set it to one of …` lists them. */
export const AUTH_STRATEGIES = [cxoneAccessKey, cxoneAccessKeyLegacy, clientCredentials, bearer] as const;

/** When CXONE_AUTH or a tenants-file entry's `auth` is not set. */
export const DEFAULT_AUTH_TYPE = clientCredentials.type;

type Definitions = (typeof AUTH_STRATEGIES)[number];
/**
 * How a tenant authenticates: one variant per strategy. Secrets are held in memory only (read
 * from env variables the tenants file names); none of this ever goes into a workflow input or result.
 */
export type TenantAuth = Definitions extends infer D ? (D extends AuthStrategyDefinition<infer A> ? A : never) : never;
export type AuthType = TenantAuth['type'];

export const AUTH_TYPES: readonly AuthType[] = AUTH_STRATEGIES.map((d) => d.type);

export type { BearerAuth } from './bearer';
export type { ClientCredentialsAuth } from './client-credentials';
export type { CxoneAccessKeyAuth } from './cxone-access-key';
export type { CxoneAccessKeyLegacyAuth } from './cxone-access-key-legacy';
export { DEFAULT_CXONE_ISSUER } from './cxone-access-key';
export { settingName } from './strategy';

export function isAuthType(value: unknown): value is AuthType {
  return (AUTH_TYPES as readonly unknown[]).includes(value);
}

/** The definition of a strategy by its type. */
export function authStrategy(type: AuthType): AuthStrategyDefinition {
  const definition = AUTH_STRATEGIES.find((d) => d.type === type);
  if (!definition) throw new Error(`unknown auth strategy "${type}"; expected one of ${AUTH_TYPES.join(', ')}`);
  return definition as unknown as AuthStrategyDefinition;
}

/** Every secret of the configuration, for scrubbing server answers that echo one. */
export function authSecrets(auth: TenantAuth): string[] {
  return secretsOf(authStrategy(auth.type), auth);
}

/** The strategy and its non-secret settings, e.g. `client-credentials (https://…/token, client app, client_secret_basic)`. */
export function describeAuth(auth: TenantAuth): string {
  return authStrategy(auth.type).describe(auth);
}
