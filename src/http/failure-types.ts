// Failure type names shared by activities (which throw them) and workflows (which branch on
// them). Kept apart from errors.ts so workflow code imports nothing but this constant.

/** `ApplicationFailure.type` values produced by {@link toActivityFailure}. */
export const ScimFailureType = {
  BadRequest: 'ScimBadRequest',
  Unauthorized: 'ScimUnauthorized',
  Forbidden: 'ScimForbidden',
  NotFound: 'ScimNotFound',
  ReadOnly: 'ScimReadOnly',
  Conflict: 'ScimConflict',
  PreconditionFailed: 'ScimPreconditionFailed',
  PayloadTooLarge: 'ScimPayloadTooLarge',
  UnexpectedStatus: 'ScimUnexpectedStatus',
  Throttled: 'ScimThrottled',
  Unavailable: 'ScimUnavailable',
  ServerError: 'ScimServerError',
  NetworkError: 'ScimNetworkError',
  ForeignUrl: 'ScimForeignUrl',
  OAuthFailed: 'OAuthFailed',
  OAuthUnavailable: 'OAuthUnavailable',
} as const;
export type ScimFailureType = (typeof ScimFailureType)[keyof typeof ScimFailureType];
