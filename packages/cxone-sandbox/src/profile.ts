// Profiles: `full` offers every optional feature; `cxone` offers what real NICE CXone is known or
// likely to offer — access keys with discovery, no Bulk, no ETags, a read-only
// ServiceProviderConfig, the four user attributes CXone documents as required, and deactivation
// through `active` rather than DELETE.
import {
  type AttributeDefinition,
  enterpriseUserSchema,
  groupSchema,
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
  schemas: SchemaDefinition[];
  bulk: boolean;
  etags: boolean;
  /** Default of the readOnlySpc switch. */
  readOnlySpc: boolean;
  /** OAuth client credentials grant (the password grant and the legacy access-key flow are always there). */
  clientCredentials: boolean;
  /** DELETE /Users/{id}; without it users are deactivated with `active: false`. */
  userDelete: boolean;
}

const FULL: Profile = {
  name: 'full',
  types: resourceTypes,
  schemas: [userSchema, enterpriseUserSchema, groupSchema],
  bulk: true,
  etags: true,
  readOnlySpc: false,
  clientCredentials: true,
  userDelete: true,
};

/** CXone documents userName, first name, last name and email as required. */
const CXONE_REQUIRED = new Set(['userName', 'name', 'name.givenName', 'name.familyName', 'emails', 'emails.value']);

function requireCxoneAttributes(attributes: AttributeDefinition[], prefix = ''): AttributeDefinition[] {
  return attributes.map((attribute) => {
    const path = `${prefix}${attribute.name}`;
    return {
      ...attribute,
      required: attribute.required || CXONE_REQUIRED.has(path),
      ...(attribute.subAttributes
        ? { subAttributes: requireCxoneAttributes(attribute.subAttributes, `${path}.`) }
        : {}),
    };
  });
}

const cxoneUserSchema: SchemaDefinition = { ...userSchema, attributes: requireCxoneAttributes(userSchema.attributes) };

const CXONE: Profile = {
  name: 'cxone',
  types: { ...resourceTypes, User: { ...resourceTypes.User, schema: cxoneUserSchema } },
  schemas: [cxoneUserSchema, enterpriseUserSchema, groupSchema],
  bulk: false,
  etags: false,
  readOnlySpc: true,
  clientCredentials: false,
  userDelete: false,
};

export function profileNamed(name: ProfileName = 'full'): Profile {
  if (name === 'full') return FULL;
  if (name === 'cxone') return CXONE;
  throw new Error(`unknown sandbox profile "${String(name)}" (profiles: ${PROFILES.join(', ')})`);
}
