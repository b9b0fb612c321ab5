export { scimBaseUrl, type TenantConnection } from './tenant';
export {
  AUTH_TYPES,
  DEFAULT_CXONE_ISSUER,
  TenantTokenProvider,
  authSecrets,
  type AuthType,
  type TenantAccess,
  type TenantAuth,
  type TokenProvider,
  type TokenProviderOptions,
} from './auth';
export {
  OAuthError,
  describeFetchFailure,
  parseRetryAfter,
  SCIM_ERROR_SCHEMA,
  ScimForeignUrlError,
  ScimHttpError,
  ScimNetworkError,
  type ScimErrorBody,
  type ScimErrorSummary,
} from './errors';
export {
  ScimClient,
  type ScimBodylessOptions,
  type ScimClientOptions,
  type ScimMethod,
  type ScimRequestOptions,
  type ScimResponse,
} from './scim-client';
export {
  RequestGate,
  RequestGates,
  type FleetBudget,
  type FleetGrant,
  type GateLimits,
} from './request-gate';
export {
  DEFAULT_IDENTICAL_FAILURES,
  OPTIONAL_PARAMETERS,
  TenantDialect,
  TenantDialects,
  type IdenticalFailureRule,
} from './dialect';
