// RFC 7643 §7 schema documents for what the sandbox supports. They are served by /Schemas and
// /ResourceTypes and are also what the sandbox validates requests against (one source of truth).

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const NICE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:nice:2.0:User';
export const SPC_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
export const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';
export const RESOURCE_TYPE_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
export const LIST_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const BULK_REQUEST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
export const BULK_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';

export type AttributeType =
  | 'string'
  | 'boolean'
  | 'decimal'
  | 'integer'
  | 'dateTime'
  | 'reference'
  | 'binary'
  | 'complex';

export interface AttributeDefinition {
  name: string;
  type: AttributeType;
  multiValued: boolean;
  description: string;
  required: boolean;
  caseExact: boolean;
  mutability: 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
  returned: 'always' | 'never' | 'default' | 'request';
  uniqueness: 'none' | 'server' | 'global';
  canonicalValues: string[];
  referenceTypes?: string[];
  subAttributes?: AttributeDefinition[];
}

export interface SchemaDefinition {
  id: string;
  name: string;
  description: string;
  attributes: AttributeDefinition[];
}

type AttributeOptions = Partial<Omit<AttributeDefinition, 'name' | 'type'>>;

function attr(
  name: string,
  type: AttributeType,
  description: string,
  opts: AttributeOptions = {},
): AttributeDefinition {
  return {
    name,
    type,
    multiValued: false,
    description,
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    canonicalValues: [],
    ...opts,
  };
}

const str = (name: string, description: string, opts?: AttributeOptions) => attr(name, 'string', description, opts);

/** The usual {value, display, type, primary} shape of RFC 7643 multi-valued attributes. */
function multiValued(
  name: string,
  description: string,
  types: string[],
  valueType: AttributeType = 'string',
): AttributeDefinition {
  return attr(name, 'complex', description, {
    multiValued: true,
    subAttributes: [
      attr('value', valueType, `The ${name} value.`),
      str('display', 'A human-readable name, primarily used for display purposes.', { mutability: 'readOnly' }),
      str('type', "A label indicating the attribute's function.", { canonicalValues: types }),
      attr('primary', 'boolean', 'Indicates the preferred value; at most one value may be primary.'),
    ],
  });
}

export const userSchema: SchemaDefinition = {
  id: USER_SCHEMA,
  name: 'User',
  description: 'User Account',
  attributes: [
    str('userName', 'Unique identifier for the User, used to authenticate. Unique case-insensitively.', {
      required: true,
      uniqueness: 'server',
    }),
    attr('name', 'complex', "The components of the user's real name.", {
      subAttributes: [
        str('formatted', 'The full name, formatted for display.'),
        str('familyName', 'The family name of the User.'),
        str('givenName', 'The given name of the User.'),
        str('middleName', 'The middle name(s) of the User.'),
        str('honorificPrefix', 'The honorific prefix(es) of the User.'),
        str('honorificSuffix', 'The honorific suffix(es) of the User.'),
      ],
    }),
    str('displayName', 'The name of the User, suitable for display to end-users.'),
    str('nickName', 'The casual way to address the user.'),
    attr('profileUrl', 'reference', "A fully qualified URL pointing to the User's online profile.", {
      referenceTypes: ['external'],
    }),
    str('title', 'The user\'s title, such as "Vice President".'),
    str('userType', 'Used to identify the relationship between the organization and the user.'),
    str('preferredLanguage', "The User's preferred written or spoken language (e.g. en-US)."),
    str('locale', "The User's default location for localization (e.g. en-US)."),
    str('timezone', "The User's time zone in IANA format (e.g. America/Los_Angeles)."),
    attr('active', 'boolean', "The User's administrative status."),
    str('password', "The User's cleartext password; never returned.", { mutability: 'writeOnly', returned: 'never' }),
    multiValued('emails', 'Email addresses for the user.', ['work', 'home', 'other']),
    multiValued('phoneNumbers', 'Phone numbers for the User.', ['work', 'home', 'mobile', 'fax', 'pager', 'other']),
    attr('addresses', 'complex', 'A physical mailing address for this User.', {
      multiValued: true,
      subAttributes: [
        str('formatted', 'The full mailing address, formatted for display.'),
        str('streetAddress', 'The full street address component.'),
        str('locality', 'The city or locality component.'),
        str('region', 'The state or region component.'),
        str('postalCode', 'The zip code or postal code component.'),
        str('country', 'The country name component (ISO 3166-1 alpha-2).'),
        str('type', "A label indicating the attribute's function.", { canonicalValues: ['work', 'home', 'other'] }),
        attr('primary', 'boolean', 'Indicates the preferred mailing address.'),
      ],
    }),
    attr('groups', 'complex', 'Groups the user belongs to; computed from Group members (read-only).', {
      multiValued: true,
      mutability: 'readOnly',
      subAttributes: [
        str('value', 'The identifier of the Group.', { mutability: 'readOnly' }),
        attr('$ref', 'reference', 'The URI of the Group.', { mutability: 'readOnly', referenceTypes: ['Group'] }),
        str('display', 'A human-readable name for the Group.', { mutability: 'readOnly' }),
        str('type', 'How the membership is derived.', {
          mutability: 'readOnly',
          canonicalValues: ['direct', 'indirect'],
        }),
      ],
    }),
    multiValued('roles', 'A list of roles for the User.', []),
    multiValued('entitlements', 'A list of entitlements for the User.', []),
  ],
};

export const enterpriseUserSchema: SchemaDefinition = {
  id: ENTERPRISE_USER_SCHEMA,
  name: 'EnterpriseUser',
  description: 'Enterprise User',
  attributes: [
    str('employeeNumber', 'Numeric or alphanumeric identifier assigned to a person by the organization.'),
    str('costCenter', 'Identifies the name of a cost center.'),
    str('organization', 'Identifies the name of an organization.'),
    str('division', 'Identifies the name of a division.'),
    str('department', 'Identifies the name of a department.'),
    attr('manager', 'complex', "The User's manager.", {
      subAttributes: [
        str('value', "The id of the SCIM resource representing the User's manager."),
        attr('$ref', 'reference', "The URI of the manager's User resource.", { referenceTypes: ['User'] }),
        str('displayName', 'The displayName of the manager.', { mutability: 'readOnly' }),
      ],
    }),
  ],
};

/** A reference to a tenant object by id; the server fills in its name as `display`. */
const idReference = (name: string, description: string, target: string) =>
  attr(name, 'complex', description, {
    subAttributes: [
      str('value', `The id of the ${target}.`, { required: true, caseExact: true }),
      str('display', `The name of the ${target} (computed by the server).`, { mutability: 'readOnly' }),
    ],
  });

/** NICE CXone's extension of the User: what makes a user an employee of a CXone tenant. */
export const niceUserExtension: SchemaDefinition = {
  id: NICE_USER_SCHEMA,
  name: 'NiceUser',
  description: 'NICE CXone employee',
  attributes: [
    idReference('team', "The employee's team (value = team id, see the user-management API).", 'team'),
    idReference(
      'loginAuthenticator',
      'How the employee logs in (value = login authenticator id).',
      'login authenticator',
    ),
    attr('agentId', 'integer', 'The id the admin and skills APIs use for this employee.', {
      mutability: 'readOnly',
      uniqueness: 'server',
    }),
    str('status', 'Pending until the employee is activated, then Active.', {
      mutability: 'readOnly',
      caseExact: true,
      canonicalValues: ['Pending', 'Active'],
    }),
  ],
};

/** Optional core attributes a CXone tenant may enable (all of them unless told otherwise). */
export const CXONE_OPTIONAL_USER_ATTRIBUTES = ['name.middleName', 'userType', 'phoneNumbers', 'timeZone'] as const;
export type CxoneOptionalUserAttribute = (typeof CXONE_OPTIONAL_USER_ATTRIBUTES)[number];

/**
 * The User as a CXone tenant declares it: userName (an email), first and last name and emails
 * required, `active`, `roles` (value = role id), and the optional attributes the tenant enabled.
 * The time zone is `timeZone`; `timezone`, the spelling CXone documents for requests, is the same
 * attribute (attribute names are case-insensitive, RFC 7643 §2.1) and is answered as `timeZone`.
 */
export function cxoneUserSchema(
  enabled: readonly CxoneOptionalUserAttribute[] = CXONE_OPTIONAL_USER_ATTRIBUTES,
): SchemaDefinition {
  const on = (name: CxoneOptionalUserAttribute) => enabled.includes(name);
  const core = (name: string) => findAttribute(userSchema.attributes, name) as AttributeDefinition;
  const nameSub = (sub: string, required: boolean) => ({
    ...(findAttribute(core('name').subAttributes, sub) as AttributeDefinition),
    required,
  });
  const emails = core('emails');
  return {
    ...userSchema,
    attributes: [
      { ...core('userName'), description: "The employee's login: an email address, unique case-insensitively." },
      {
        ...core('name'),
        required: true,
        subAttributes: [
          nameSub('givenName', true),
          nameSub('familyName', true),
          ...(on('name.middleName') ? [nameSub('middleName', false)] : []),
        ],
      },
      {
        ...emails,
        required: true,
        subAttributes: emails.subAttributes?.map((sub) => (sub.name === 'value' ? { ...sub, required: true } : sub)),
      },
      core('active'),
      attr('roles', 'complex', "The employee's roles (value = role id); the tenant's Agent role when none is sent.", {
        multiValued: true,
        subAttributes: [
          str('value', 'The id of the role.', { required: true, caseExact: true }),
          str('display', 'The name of the role (computed by the server).', { mutability: 'readOnly' }),
          attr('primary', 'boolean', 'The primary role.'),
        ],
      }),
      ...(on('userType') ? [core('userType')] : []),
      ...(on('phoneNumbers') ? [core('phoneNumbers')] : []),
      ...(on('timeZone')
        ? [str('timeZone', "The employee's time zone in IANA format; `timezone` is accepted in requests.")]
        : []),
    ],
  };
}

export const groupSchema: SchemaDefinition = {
  id: GROUP_SCHEMA,
  name: 'Group',
  description: 'Group',
  attributes: [
    str('displayName', 'A human-readable name for the Group.', { required: true }),
    attr('members', 'complex', 'A list of members of the Group.', {
      multiValued: true,
      subAttributes: [
        str('value', 'Identifier of the member of this Group.', {
          required: true,
          caseExact: true,
          mutability: 'immutable',
        }),
        attr('$ref', 'reference', 'The URI of the member resource.', {
          mutability: 'immutable',
          referenceTypes: ['User', 'Group'],
        }),
        str('display', 'A human-readable name of the member.', { mutability: 'readOnly' }),
        str('type', 'The type of the member.', { mutability: 'immutable', canonicalValues: ['User', 'Group'] }),
      ],
    }),
  ],
};

export type ResourceKind = 'User' | 'Group';

export interface ResourceTypeDefinition {
  kind: ResourceKind;
  endpoint: '/Users' | '/Groups';
  description: string;
  schema: SchemaDefinition;
  extensions: SchemaDefinition[];
}

export const resourceTypes: Record<ResourceKind, ResourceTypeDefinition> = {
  User: {
    kind: 'User',
    endpoint: '/Users',
    description: 'User Account',
    schema: userSchema,
    extensions: [enterpriseUserSchema],
  },
  Group: { kind: 'Group', endpoint: '/Groups', description: 'Group', schema: groupSchema, extensions: [] },
};

export const allSchemas: SchemaDefinition[] = [userSchema, enterpriseUserSchema, groupSchema];

// Common attributes (RFC 7643 §3.1), not part of any schema document.
export const ID_ATTRIBUTE = attr('id', 'string', 'Unique identifier assigned by the service provider.', {
  caseExact: true,
  mutability: 'readOnly',
  returned: 'always',
  uniqueness: 'server',
});
export const EXTERNAL_ID_ATTRIBUTE = attr('externalId', 'string', 'Identifier assigned by the provisioning client.', {
  caseExact: true,
});
const META_ATTRIBUTE = attr('meta', 'complex', 'Resource metadata.', {
  mutability: 'readOnly',
  subAttributes: [
    str('resourceType', 'The resource type.', { caseExact: true, mutability: 'readOnly' }),
    attr('created', 'dateTime', 'When the resource was added.', { mutability: 'readOnly' }),
    attr('lastModified', 'dateTime', 'When the resource was last updated.', { mutability: 'readOnly' }),
    attr('location', 'reference', 'The URI of the resource.', { caseExact: true, mutability: 'readOnly' }),
    str('version', 'The version (ETag) of the resource.', { caseExact: true, mutability: 'readOnly' }),
  ],
});
const COMMON_ATTRIBUTES = [ID_ATTRIBUTE, EXTERNAL_ID_ATTRIBUTE, META_ATTRIBUTE];

const lower = (s: string) => s.toLowerCase();

export function findAttribute(list: AttributeDefinition[] | undefined, name: string): AttributeDefinition | undefined {
  const wanted = lower(name);
  return list?.find((a) => lower(a.name) === wanted);
}

/** The schema document (core or extension) with this URN, case-insensitively. */
export function findSchema(type: ResourceTypeDefinition, urn: string): SchemaDefinition | undefined {
  const wanted = lower(urn);
  return [type.schema, ...type.extensions].find((s) => lower(s.id) === wanted);
}

export interface ResolvedPath {
  /** Extension URN when the attribute lives in an extension, else undefined. */
  extension?: string;
  attribute: AttributeDefinition;
  sub?: AttributeDefinition;
}

/**
 * Resolves an attribute path such as `emails.value`, `name.givenName`,
 * `urn:...:enterprise:2.0:User:department` or `urn:...:core:2.0:User:userName`.
 * A bare extension URN resolves to undefined (callers handle it as the whole extension).
 */
export function resolvePath(type: ResourceTypeDefinition, path: string): ResolvedPath | undefined {
  let schema = type.schema;
  let rest = path;
  if (lower(path).startsWith('urn:')) {
    const colon = path.lastIndexOf(':');
    const found = findSchema(type, path.slice(0, colon));
    if (!found) return undefined;
    schema = found;
    rest = path.slice(colon + 1);
  }
  const [top, subName, ...more] = rest.split('.');
  if (more.length > 0) return undefined;
  const attribute =
    findAttribute(schema.attributes, top) ??
    (schema === type.schema ? findAttribute(COMMON_ATTRIBUTES, top) : undefined);
  if (!attribute) return undefined;
  const extension = schema === type.schema ? undefined : schema.id;
  if (subName === undefined) return { extension, attribute };
  const sub = findAttribute(attribute.subAttributes, subName);
  return sub ? { extension, attribute, sub } : undefined;
}

/** caseExact of the attribute a filter path names; unknown paths compare case-insensitively. */
export function isCaseExact(type: ResourceTypeDefinition, path: string): boolean {
  const resolved = resolvePath(type, path);
  if (!resolved) return false;
  return (resolved.sub ?? resolved.attribute).caseExact;
}
