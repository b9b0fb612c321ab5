// io-ts codecs for the SCIM 2.0 resources (RFC 7643) and protocol messages (RFC 7644).
//
// Conventions:
// - Every object codec is `t.intersection([t.type({required}), …({optional})])`. Unknown attributes
//   are kept, never stripped: SCIM resources carry extension attributes under their schema URN.
// - Optional attributes of RFC 7643 resources use `optionalAttributes` (null means unassigned,
//   §2.5). RFC 7644 messages use plain `t.partial`: there, null is a value (e.g. a PATCH value).
// - Values are not normalised, except PATCH `op`, which decodes to lower case.
import * as t from 'io-ts';
import { URN } from './urns';
import {
  NonEmptyString,
  NonNegativeInteger,
  caseInsensitiveEnum,
  nonEmptyArray,
  optionalAttributes,
} from './primitives';

/** `schemas`: the URNs of the schemas a resource or message uses. */
export const Schemas = nonEmptyArray(t.string);

// ---------------------------------------------------------------------------------------------
// Common attributes (RFC 7643 §3.1)

export const Meta = optionalAttributes({
  resourceType: t.string,
  created: t.string,
  lastModified: t.string,
  location: t.string,
  version: t.string,
});
export type Meta = t.TypeOf<typeof Meta>;

const commonAttributes = { id: t.string, externalId: t.string, meta: Meta };

// ---------------------------------------------------------------------------------------------
// User (RFC 7643 §4.1) and the Enterprise User extension (§4.3)

export const Name = optionalAttributes({
  formatted: t.string,
  familyName: t.string,
  givenName: t.string,
  middleName: t.string,
  honorificPrefix: t.string,
  honorificSuffix: t.string,
});
export type Name = t.TypeOf<typeof Name>;

/** An element of emails, phoneNumbers, ims, photos, entitlements, roles, x509Certificates. */
export const MultiValuedAttribute = t.intersection(
  [t.type({ value: t.string }), optionalAttributes({ display: t.string, type: t.string, primary: t.boolean })],
  'MultiValuedAttribute',
);
export type MultiValuedAttribute = t.TypeOf<typeof MultiValuedAttribute>;

export const Address = optionalAttributes({
  formatted: t.string,
  streetAddress: t.string,
  locality: t.string,
  region: t.string,
  postalCode: t.string,
  country: t.string,
  type: t.string,
  primary: t.boolean,
});
export type Address = t.TypeOf<typeof Address>;

/** A reference to another resource: a User's `groups` element, a Group's `members` element. */
export const ResourceReference = t.intersection(
  [t.type({ value: t.string }), optionalAttributes({ $ref: t.string, display: t.string, type: t.string })],
  'ResourceReference',
);
export type ResourceReference = t.TypeOf<typeof ResourceReference>;

export const Manager = optionalAttributes({ value: t.string, $ref: t.string, displayName: t.string });
export type Manager = t.TypeOf<typeof Manager>;

/** The value of a User's `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User` attribute. */
export const EnterpriseUser = optionalAttributes({
  employeeNumber: t.string,
  costCenter: t.string,
  organization: t.string,
  division: t.string,
  department: t.string,
  manager: Manager,
});
export type EnterpriseUser = t.TypeOf<typeof EnterpriseUser>;

export const User = t.intersection(
  [
    t.type({ schemas: Schemas, userName: NonEmptyString }),
    optionalAttributes({
      ...commonAttributes,
      name: Name,
      displayName: t.string,
      nickName: t.string,
      profileUrl: t.string,
      title: t.string,
      userType: t.string,
      preferredLanguage: t.string,
      locale: t.string,
      timezone: t.string,
      active: t.boolean,
      password: t.string,
      emails: t.array(MultiValuedAttribute),
      phoneNumbers: t.array(MultiValuedAttribute),
      ims: t.array(MultiValuedAttribute),
      photos: t.array(MultiValuedAttribute),
      addresses: t.array(Address),
      /** Read-only: membership is changed on the Group's `members`. */
      groups: t.array(ResourceReference),
      entitlements: t.array(MultiValuedAttribute),
      roles: t.array(MultiValuedAttribute),
      x509Certificates: t.array(MultiValuedAttribute),
      [URN.EnterpriseUser]: EnterpriseUser,
    }),
  ],
  'User',
);
export type User = t.TypeOf<typeof User>;

// ---------------------------------------------------------------------------------------------
// Group (RFC 7643 §4.2)

export const Group = t.intersection(
  [
    t.type({ schemas: Schemas, displayName: NonEmptyString }),
    optionalAttributes({ ...commonAttributes, members: t.array(ResourceReference) }),
  ],
  'Group',
);
export type Group = t.TypeOf<typeof Group>;

// ---------------------------------------------------------------------------------------------
// ServiceProviderConfig (RFC 7643 §5)

const Supported = t.type({ supported: t.boolean });

export const AuthenticationScheme = t.intersection(
  [
    t.type({ type: NonEmptyString, name: NonEmptyString, description: t.string }),
    optionalAttributes({ specUri: t.string, documentationUri: t.string, primary: t.boolean }),
  ],
  'AuthenticationScheme',
);
export type AuthenticationScheme = t.TypeOf<typeof AuthenticationScheme>;

export const ServiceProviderConfig = t.intersection(
  [
    t.type({
      schemas: Schemas,
      patch: Supported,
      bulk: t.type({ supported: t.boolean, maxOperations: NonNegativeInteger, maxPayloadSize: NonNegativeInteger }),
      filter: t.type({ supported: t.boolean, maxResults: NonNegativeInteger }),
      changePassword: Supported,
      sort: Supported,
      etag: Supported,
      authenticationSchemes: t.array(AuthenticationScheme),
    }),
    optionalAttributes({ documentationUri: t.string, meta: Meta }),
  ],
  'ServiceProviderConfig',
);
export type ServiceProviderConfig = t.TypeOf<typeof ServiceProviderConfig>;

// ---------------------------------------------------------------------------------------------
// ResourceType (RFC 7643 §6)

export const SchemaExtension = t.type({ schema: NonEmptyString, required: t.boolean }, 'SchemaExtension');
export type SchemaExtension = t.TypeOf<typeof SchemaExtension>;

export const ResourceType = t.intersection(
  [
    t.type({ schemas: Schemas, name: NonEmptyString, endpoint: NonEmptyString, schema: NonEmptyString }),
    optionalAttributes({ id: t.string, description: t.string, schemaExtensions: t.array(SchemaExtension), meta: Meta }),
  ],
  'ResourceType',
);
export type ResourceType = t.TypeOf<typeof ResourceType>;

// ---------------------------------------------------------------------------------------------
// Schema (RFC 7643 §7)

// Providers spell these values in other cases ("String", "readonly"); RFC 7643's intent is clear,
// so they are matched in any case and decoded to the RFC spelling.
export const AttributeType = caseInsensitiveEnum([
  'string',
  'boolean',
  'decimal',
  'integer',
  'dateTime',
  'reference',
  'binary',
  'complex',
]);
export type AttributeType = t.TypeOf<typeof AttributeType>;

export const Mutability = caseInsensitiveEnum(['readOnly', 'readWrite', 'immutable', 'writeOnly']);
export type Mutability = t.TypeOf<typeof Mutability>;

export const Returned = caseInsensitiveEnum(['always', 'never', 'default', 'request']);
export type Returned = t.TypeOf<typeof Returned>;

export const Uniqueness = caseInsensitiveEnum(['none', 'server', 'global']);
export type Uniqueness = t.TypeOf<typeof Uniqueness>;

/** An attribute definition; `subAttributes` (of a complex attribute) has the same shape. */
export interface AttributeDefinition {
  name: string;
  type: AttributeType;
  multiValued: boolean;
  description?: string;
  required?: boolean;
  caseExact?: boolean;
  mutability?: Mutability;
  returned?: Returned;
  uniqueness?: Uniqueness;
  canonicalValues?: string[];
  referenceTypes?: string[];
  subAttributes?: AttributeDefinition[];
}

export const AttributeDefinition: t.Type<AttributeDefinition> = t.recursion('AttributeDefinition', () =>
  t.intersection([
    t.type({ name: NonEmptyString, type: AttributeType, multiValued: t.boolean }),
    optionalAttributes({
      description: t.string,
      required: t.boolean,
      caseExact: t.boolean,
      mutability: Mutability,
      returned: Returned,
      uniqueness: Uniqueness,
      canonicalValues: t.array(t.string),
      referenceTypes: t.array(t.string),
      subAttributes: t.array(AttributeDefinition),
    }),
  ]),
);

/** A schema definition. RFC 7643 §8.7 shows them without `schemas`, so it is optional here. */
export const Schema = t.intersection(
  [
    t.type({ id: NonEmptyString, attributes: t.array(AttributeDefinition) }),
    optionalAttributes({ schemas: Schemas, name: t.string, description: t.string, meta: Meta }),
  ],
  'Schema',
);
export type Schema = t.TypeOf<typeof Schema>;

// ---------------------------------------------------------------------------------------------
// Protocol messages (RFC 7644)

/** A ListResponse (§3.4.2) whose `Resources` are decoded with `resource`. */
export function listResponse<C extends t.Mixed>(resource: C) {
  return t.intersection(
    [
      t.type({ schemas: Schemas, totalResults: NonNegativeInteger }),
      t.partial({ itemsPerPage: NonNegativeInteger, startIndex: NonNegativeInteger, Resources: t.array(resource) }),
    ],
    `ListResponse<${resource.name}>`,
  );
}
export type ListResponse<A> = t.TypeOf<ReturnType<typeof listResponse<t.Type<A>>>>;

/** PATCH op (§3.5.2). Matched in any case, as identity providers send "Replace" or "Add". */
export const PatchOperationType = caseInsensitiveEnum(['add', 'remove', 'replace']);
export type PatchOperationType = t.TypeOf<typeof PatchOperationType>;

export const PatchOperation = t.intersection(
  [t.type({ op: PatchOperationType }), t.partial({ path: t.string, value: t.unknown })],
  'PatchOperation',
);
export type PatchOperation = t.TypeOf<typeof PatchOperation>;

export const PatchOp = t.type({ schemas: Schemas, Operations: nonEmptyArray(PatchOperation) }, 'PatchOp');
export type PatchOp = t.TypeOf<typeof PatchOp>;

export const BulkMethod = t.keyof({ POST: null, PUT: null, PATCH: null, DELETE: null });
export type BulkMethod = t.TypeOf<typeof BulkMethod>;

/** An HTTP status code: a string per RFC 7644, but many providers send a number. */
export const HttpStatus = t.union([t.string, t.number]);
export type HttpStatus = t.TypeOf<typeof HttpStatus>;

/** An operation of a BulkRequest (§3.7). */
export const BulkOperation = t.intersection(
  [
    t.type({ method: BulkMethod, path: NonEmptyString }),
    t.partial({ bulkId: t.string, version: t.string, data: t.unknown }),
  ],
  'BulkOperation',
);
export type BulkOperation = t.TypeOf<typeof BulkOperation>;

export const BulkRequest = t.intersection(
  [t.type({ schemas: Schemas, Operations: t.array(BulkOperation) }), t.partial({ failOnErrors: NonNegativeInteger })],
  'BulkRequest',
);
export type BulkRequest = t.TypeOf<typeof BulkRequest>;

/** The outcome of one operation in a BulkResponse (§3.7). */
export const BulkOperationResult = t.intersection(
  [
    t.type({ method: BulkMethod, status: HttpStatus }),
    t.partial({ bulkId: t.string, version: t.string, location: t.string, response: t.unknown }),
  ],
  'BulkOperationResult',
);
export type BulkOperationResult = t.TypeOf<typeof BulkOperationResult>;

export const BulkResponse = t.type({ schemas: Schemas, Operations: t.array(BulkOperationResult) }, 'BulkResponse');
export type BulkResponse = t.TypeOf<typeof BulkResponse>;

/**
 * An error body (§3.12). `schemas` is optional, unlike in the RFC: error bodies are diagnostics,
 * and several providers leave it out.
 */
export const ScimError = t.intersection(
  [t.type({ status: HttpStatus }), t.partial({ schemas: Schemas, scimType: t.string, detail: t.string })],
  'ScimError',
);
export type ScimError = t.TypeOf<typeof ScimError>;
