// One capability model per tenant: what the provider can do, and where each fact came from —
// `discovered` (its ServiceProviderConfig / ResourceTypes), `configured` (the tenant's
// `capabilities` / `endpoints` entry), `default` (safe assumptions for a provider that publishes
// nothing: no Bulk, no ETag, PATCH assumed) or `learnt` (a worker saw the provider refuse it).
// Learnt refusals win over everything (they are what the provider did), then the configuration,
// then discovery, then defaults. Pure: used by activities, the CLI and safe in workflows.
import { resourceTypeEndpoint } from './schema-model';
import { URN } from './urns';

export type Provenance = 'discovered' | 'configured' | 'default' | 'learnt';

export interface Known<T> {
  value: T;
  from: Provenance;
}

/** A tenant's `capabilities` entry (tenants file, CXONE_SCIM_CAPABILITIES). Every member optional. */
export interface CapabilitySettings {
  bulk?: boolean;
  /** 0: not stated. */
  bulkMaxOperations?: number;
  bulkMaxPayloadSize?: number;
  patch?: boolean;
  etag?: boolean;
  filter?: boolean;
  /** filter.maxResults: the largest page the provider returns; 0: not stated. */
  maxResults?: number;
  /** `userName eq … or externalId eq …` in one lookup. */
  filterOr?: boolean;
  sort?: boolean;
  changePassword?: boolean;
  /** The `attributes` query parameter (RFC 7644 §3.4.2.5). */
  attributes?: boolean;
  excludedAttributes?: boolean;
  /** The `count` query parameter of a listing. */
  count?: boolean;
}

export type CapabilityName = keyof CapabilitySettings;
export type CapabilityValues = Required<CapabilitySettings>;
export type CapabilityModel = { [K in CapabilityName]: Known<CapabilityValues[K]> };

/** Refusals a worker has seen (a capability is only ever learnt off), with what the provider said. */
export type LearntCapabilities = Partial<Record<CapabilityName, string>>;

export const CAPABILITY_NAMES: readonly CapabilityName[] = [
  'bulk',
  'bulkMaxOperations',
  'bulkMaxPayloadSize',
  'patch',
  'etag',
  'filter',
  'maxResults',
  'filterOr',
  'sort',
  'changePassword',
  'attributes',
  'excludedAttributes',
  'count',
];

/** What is assumed of a provider that says nothing: the plain RFC 7644 surface NICE publishes for CXone. */
export const DEFAULT_CAPABILITIES: CapabilityValues = {
  bulk: false,
  bulkMaxOperations: 0,
  bulkMaxPayloadSize: 0,
  // Assumed, and learnt off from the first refusal (then GET + PUT).
  patch: true,
  etag: false,
  // GET /Users?filter= is all NICE publishes for finding a user; every answer is verified anyway.
  filter: true,
  maxResults: 0,
  filterOr: true,
  sort: false,
  changePassword: false,
  attributes: true,
  excludedAttributes: true,
  count: true,
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** True when a body is a ServiceProviderConfig (tagged, or with the RFC's sections), not an HTML page or `{}`. */
export function isServiceProviderConfig(body: unknown): body is Record<string, unknown> {
  if (!isObject(body)) return false;
  const schemas = Array.isArray(body.schemas) ? body.schemas : [];
  if (schemas.some((s) => typeof s === 'string' && s.toLowerCase() === URN.ServiceProviderConfig.toLowerCase()))
    return true;
  return ['patch', 'filter', 'bulk', 'etag'].some((section) => isObject(body[section]));
}

/** True when a body is a list of SCIM resources: a ListResponse, or a bare array as some providers answer. */
export function isResourceList(body: unknown): boolean {
  return Array.isArray(body) || (isObject(body) && Array.isArray(body.Resources));
}

/** The capabilities a ServiceProviderConfig states (RFC 7643 §5); what it leaves out is not stated. */
export function discoveredCapabilities(spc: unknown): CapabilitySettings {
  if (!isObject(spc)) return {};
  const section = (name: string) => (isObject(spc[name]) ? (spc[name] as Record<string, unknown>) : undefined);
  const out: CapabilitySettings = {};
  const flag = (name: 'bulk' | 'patch' | 'etag' | 'filter' | 'sort' | 'changePassword') => {
    const supported = section(name)?.supported;
    if (typeof supported === 'boolean') out[name] = supported;
  };
  for (const name of ['bulk', 'patch', 'etag', 'filter', 'sort', 'changePassword'] as const) flag(name);
  const count = (value: unknown) =>
    typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
  const maxOperations = count(section('bulk')?.maxOperations);
  const maxPayloadSize = count(section('bulk')?.maxPayloadSize);
  const maxResults = count(section('filter')?.maxResults);
  if (maxOperations !== undefined) out.bulkMaxOperations = maxOperations;
  if (maxPayloadSize !== undefined) out.bulkMaxPayloadSize = maxPayloadSize;
  if (maxResults !== undefined) out.maxResults = maxResults;
  return out;
}

/** The model, each capability from the strongest source that says something about it. */
export function capabilityModel(sources: {
  discovered?: CapabilitySettings;
  configured?: CapabilitySettings;
  learnt?: LearntCapabilities;
}): CapabilityModel {
  const model = {} as Record<CapabilityName, Known<unknown>>;
  for (const name of CAPABILITY_NAMES) {
    const configured = sources.configured?.[name];
    const discovered = sources.discovered?.[name];
    if (sources.learnt?.[name] !== undefined) model[name] = { value: learntValue(name), from: 'learnt' };
    else if (configured !== undefined) model[name] = { value: configured, from: 'configured' };
    else if (discovered !== undefined) model[name] = { value: discovered, from: 'discovered' };
    else model[name] = { value: DEFAULT_CAPABILITIES[name], from: 'default' };
  }
  return model as CapabilityModel;
}

/** A learnt refusal: flags turn off, limits are not learnt (kept for completeness). */
const learntValue = (name: CapabilityName) => (typeof DEFAULT_CAPABILITIES[name] === 'boolean' ? false : 0);

/** The plain values of a model. */
export function capabilityValues(model: CapabilityModel): CapabilityValues {
  return Object.fromEntries(CAPABILITY_NAMES.map((name) => [name, model[name].value])) as unknown as CapabilityValues;
}

/**
 * The ServiceProviderConfig the product works from: the published one (or an empty one) with
 * every RFC section set from the model, so that configured and learnt facts reach every job.
 */
export function effectiveServiceProviderConfig(
  model: CapabilityModel,
  published?: Record<string, unknown>,
): Record<string, unknown> {
  const base = published ?? {};
  const keep = (name: string) => (isObject(base[name]) ? (base[name] as Record<string, unknown>) : {});
  const v = capabilityValues(model);
  return {
    ...base,
    schemas: Array.isArray(base.schemas) ? base.schemas : [URN.ServiceProviderConfig],
    patch: { ...keep('patch'), supported: v.patch },
    bulk: {
      ...keep('bulk'),
      supported: v.bulk,
      maxOperations: v.bulkMaxOperations,
      maxPayloadSize: v.bulkMaxPayloadSize,
    },
    filter: {
      ...keep('filter'),
      supported: v.filter,
      ...(v.maxResults > 0 ? { maxResults: v.maxResults } : {}),
    },
    changePassword: { ...keep('changePassword'), supported: v.changePassword },
    sort: { ...keep('sort'), supported: v.sort },
    etag: { ...keep('etag'), supported: v.etag },
    authenticationSchemes: Array.isArray(base.authenticationSchemes) ? base.authenticationSchemes : [],
  };
}

// ---------------------------------------------------------------------------------------------
// Resource endpoints

/** A tenant's `endpoints` entry: where Users and Groups live below the SCIM base; groups `null`: none. */
export interface EndpointSettings {
  users?: string;
  groups?: string | null;
}

export interface EndpointModel {
  users: Known<string>;
  /** null: the tenant has no groups (the CXone surface NICE publishes). */
  groups: Known<string | null>;
}

export const DEFAULT_ENDPOINTS = { users: '/Users', groups: '/Groups' } as const;

/** The User and Group endpoints: configured, else from a published /ResourceTypes, else the defaults. */
export function endpointModel(
  resourceTypesBody: unknown | undefined,
  configured: EndpointSettings = {},
): EndpointModel {
  const published = resourceTypesBody !== undefined;
  const pick = (name: 'users' | 'groups', type: 'User' | 'Group'): Known<string | null> => {
    const set = configured[name];
    if (set !== undefined) return { value: set, from: 'configured' };
    if (published) return { value: resourceTypeEndpoint(resourceTypesBody, type) ?? null, from: 'discovered' };
    return { value: DEFAULT_ENDPOINTS[name], from: 'default' };
  };
  const users = pick('users', 'User');
  // A published list without a User type still has users somewhere: the usual place.
  return {
    users: users.value === null ? { value: DEFAULT_ENDPOINTS.users, from: 'default' } : (users as Known<string>),
    groups: pick('groups', 'Group'),
  };
}

/** Schema ids of a /Schemas body that extend the User (e.g. the enterprise and NICE extensions). */
export function userExtensionsIn(schemasBody: unknown): string[] {
  const resources = Array.isArray(schemasBody)
    ? schemasBody
    : isObject(schemasBody) && Array.isArray(schemasBody.Resources)
      ? schemasBody.Resources
      : [];
  return resources
    .map((r) => (isObject(r) && typeof r.id === 'string' ? r.id : undefined))
    .filter((id): id is string => id !== undefined && /:extension:/i.test(id) && /:User$/i.test(id));
}

/**
 * The /ResourceTypes the product works from. Published: as published, with configured endpoints
 * put in place. Not published: a User type at the users endpoint with `userExtensions` (from
 * /Schemas) as optional extensions, and a Group type unless the tenant has no groups.
 */
export function effectiveResourceTypes(
  endpoints: EndpointModel,
  published: unknown | undefined,
  userExtensions: readonly string[],
): Record<string, unknown> {
  const groupType = (endpoint: string) => ({
    schemas: [URN.ResourceType],
    id: 'Group',
    name: 'Group',
    endpoint,
    schema: URN.Group,
  });
  if (published === undefined) {
    const Resources: Record<string, unknown>[] = [
      {
        schemas: [URN.ResourceType],
        id: 'User',
        name: 'User',
        endpoint: endpoints.users.value,
        schema: URN.User,
        schemaExtensions: userExtensions.map((schema) => ({ schema, required: false })),
      },
    ];
    if (endpoints.groups.value !== null) Resources.push(groupType(endpoints.groups.value));
    return { schemas: [URN.ListResponse], totalResults: Resources.length, Resources };
  }
  if (endpoints.users.from !== 'configured' && endpoints.groups.from !== 'configured')
    return published as Record<string, unknown>;
  const list = Array.isArray(published)
    ? published
    : isObject(published) && Array.isArray(published.Resources)
      ? published.Resources
      : [];
  const is = (r: unknown, urn: string, name: string) =>
    isObject(r) &&
    ((typeof r.schema === 'string' && r.schema.toLowerCase() === urn.toLowerCase()) ||
      (typeof r.name === 'string' && r.name.toLowerCase() === name.toLowerCase()));
  const Resources: unknown[] = [];
  for (const r of list) {
    if (is(r, URN.User, 'User') && endpoints.users.from === 'configured')
      Resources.push({ ...(r as object), endpoint: endpoints.users.value });
    else if (is(r, URN.Group, 'Group') && endpoints.groups.from === 'configured') {
      if (endpoints.groups.value !== null) Resources.push({ ...(r as object), endpoint: endpoints.groups.value });
    } else Resources.push(r);
  }
  if (
    endpoints.groups.from === 'configured' &&
    endpoints.groups.value !== null &&
    !list.some((r) => is(r, URN.Group, 'Group'))
  )
    Resources.push(groupType(endpoints.groups.value));
  return { schemas: [URN.ListResponse], totalResults: Resources.length, Resources };
}
