// Profiles: `full` offers every optional feature of RFC 7643/7644; `cxone` is the surface NICE
// publishes for CXone — access keys with discovery; under /scim/v2 only Users (no DELETE) and
// Schemas, with the NICE user extension and Pending employees; roles, login authenticators, teams
// and skills through CXone's own APIs (tenant.ts, tenant-routes.ts).
import {
  CXONE_OPTIONAL_USER_ATTRIBUTES,
  type CxoneOptionalUserAttribute,
  cxoneUserSchema,
  enterpriseUserSchema,
  groupSchema,
  niceUserExtension,
  type ResourceKind,
  resourceTypes,
  type ResourceTypeDefinition,
  type SchemaDefinition,
  userSchema,
} from './schemas';

export type ProfileName = 'full' | 'cxone';
export const PROFILES: readonly ProfileName[] = ['full', 'cxone'];

export interface Profile {
  name: ProfileName;
  types: Record<ResourceKind, ResourceTypeDefinition>;
  /** The resource types with endpoints; the others answer 404. */
  kinds: ResourceKind[];
  /** What /Schemas lists. */
  schemas: SchemaDefinition[];
  /** /ServiceProviderConfig and /ResourceTypes. */
  discovery: boolean;
  /** POST /{endpoint}/.search (RFC 7644 §3.4.3). */
  search: boolean;
  bulk: boolean;
  etags: boolean;
  /** OAuth client credentials grant (the password grant and the legacy access-key flow are always there). */
  clientCredentials: boolean;
  /** DELETE /Users/{id}; without it users are deactivated with `active: false` (DELETE → 405). */
  userDelete: boolean;
  /** A NICE CXone tenant: Pending employees with agent ids and roles; the roles, teams and skills APIs. */
  nice: boolean;
}

const FULL: Profile = {
  name: 'full',
  types: resourceTypes,
  kinds: ['User', 'Group'],
  schemas: [userSchema, enterpriseUserSchema, groupSchema],
  discovery: true,
  search: true,
  bulk: true,
  etags: true,
  clientCredentials: true,
  userDelete: true,
  nice: false,
};

function cxone(enabled: readonly CxoneOptionalUserAttribute[]): Profile {
  const schema = cxoneUserSchema(enabled);
  return {
    name: 'cxone',
    types: { ...resourceTypes, User: { ...resourceTypes.User, schema, extensions: [niceUserExtension] } },
    kinds: ['User'],
    schemas: [schema, niceUserExtension],
    discovery: false,
    search: false,
    bulk: false,
    etags: false,
    clientCredentials: false,
    userDelete: false,
    nice: true,
  };
}

/** `enabledAttributes`: the optional core User attributes a cxone tenant has enabled (default all). */
export function profileNamed(
  name: ProfileName = 'full',
  enabledAttributes: readonly CxoneOptionalUserAttribute[] = CXONE_OPTIONAL_USER_ATTRIBUTES,
): Profile {
  if (name === 'full') return FULL;
  if (name === 'cxone') {
    const unknown = enabledAttributes.filter((a) => !CXONE_OPTIONAL_USER_ATTRIBUTES.includes(a));
    if (unknown.length > 0)
      throw new Error(
        `unknown optional CXone user attribute(s) ${unknown.join(', ')} (known: ${CXONE_OPTIONAL_USER_ATTRIBUTES.join(', ')})`,
      );
    return cxone(enabledAttributes);
  }
  throw new Error(`unknown sandbox profile "${String(name)}" (profiles: ${PROFILES.join(', ')})`);
}
