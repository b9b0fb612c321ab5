/** Schema and message URNs defined by RFC 7643 (resources) and RFC 7644 (protocol messages). */
export const URN = {
  User: 'urn:ietf:params:scim:schemas:core:2.0:User',
  Group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  EnterpriseUser: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
  ServiceProviderConfig: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
  ResourceType: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
  Schema: 'urn:ietf:params:scim:schemas:core:2.0:Schema',
  ListResponse: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  PatchOp: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  BulkRequest: 'urn:ietf:params:scim:api:messages:2.0:BulkRequest',
  BulkResponse: 'urn:ietf:params:scim:api:messages:2.0:BulkResponse',
  Error: 'urn:ietf:params:scim:api:messages:2.0:Error',
} as const;

export type URN = (typeof URN)[keyof typeof URN];

/** NICE CXone's User extension: team, login authenticator, and the read-only agentId and status. */
export const NICE_USER_EXTENSION = 'urn:ietf:params:scim:schemas:extension:nice:2.0:User';

// RFC 8141 syntax: "urn:" NID ":" NSS. The NID is 2 to 32 letters, digits or hyphens, starting and
// ending with a letter or digit. The NSS is one or more pchars (RFC 3986: unreserved, sub-delims,
// ":", "@" or a percent-encoded octet), then "/" is allowed too. The optional r-, q- and
// f-components ("?+", "?=", "#") are deliberately not accepted: a schema identifier has none.
const PCHAR = String.raw`(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})`;
const SCIM_URN = new RegExp(String.raw`^urn:[A-Za-z0-9][A-Za-z0-9-]{0,30}[A-Za-z0-9]:${PCHAR}(?:${PCHAR}|/)*$`, 'i');

/**
 * Whether `value` is a well-formed schema URN, standard (`urn:ietf:params:scim:…`) or custom
 * (`urn:example:params:scim:schemas:extension:…`). Checks syntax only, not registration.
 */
export function isScimUrn(value: unknown): value is string {
  return typeof value === 'string' && SCIM_URN.test(value);
}
