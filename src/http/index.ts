export { scimBaseUrl, type TenantConnection } from './tenant';
export { OAuthTokenProvider, type OAuthTokenProviderOptions } from './oauth';
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
