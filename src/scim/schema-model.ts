// The User model a provider publishes (/ResourceTypes and /Schemas, RFC 7643 §6-§7), read
// leniently: providers leave out members the RFC calls required but whose meaning is clear
// (`schemas` on a ResourceType, `multiValued` on an attribute). What cannot be understood is
// dropped and named in a warning, never silently: a dropped User schema would otherwise fail
// every run with "does not describe the User schema" and no hint why.
import { AttributeDefinition, type ResourceType, type Schema, type SchemaExtension } from './codecs';
import { decode, formatIssues } from '../core/decode';
import { NonEmptyString } from './primitives';
import { URN } from './urns';
import * as t from 'io-ts';

/** What the provider says a User is: the core schema and its extensions, from /ResourceTypes and /Schemas. */
export interface UserSchemaModel {
  /** The core schema URN of the User resource type (normally urn:ietf:params:scim:schemas:core:2.0:User). */
  schema: string;
  /** The User resource type's endpoint, e.g. `/Users`. */
  endpoint: string;
  attributes: AttributeDefinition[];
  extensions: Array<{ schema: string; required: boolean; attributes: AttributeDefinition[] }>;
}

/** `warnings` name what was dropped or assumed (with the discovery document and its position). */
export type ModelResult = ({ ok: true; model: UserSchemaModel } | { ok: false; problem: string }) & {
  warnings: string[];
};

/** The Resources of a ListResponse, or a bare array (some providers answer /Schemas that way). */
function resourcesOf(body: unknown): unknown[] {
  if (Array.isArray(body)) return body;
  const resources = (body as { Resources?: unknown } | undefined)?.Resources;
  return Array.isArray(resources) ? resources : [];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A ResourceType with only what this product needs required. */
const LenientResourceType = t.intersection([
  t.type({ endpoint: NonEmptyString, schema: NonEmptyString }),
  t.partial({ name: t.string, schemaExtensions: t.array(t.unknown) }),
]);

function label(item: unknown, index: number, key: string): string {
  const name = isObject(item) && typeof item[key] === 'string' ? ` "${item[key] as string}"` : '';
  return `[${index}]${name}`;
}

function readResourceTypes(body: unknown, warnings: string[]): ResourceType[] {
  const types: ResourceType[] = [];
  resourcesOf(body).forEach((item, i) => {
    const decoded = decode(LenientResourceType, item);
    if (!decoded.ok) {
      warnings.push(`/ResourceTypes${label(item, i, 'name')} dropped: ${formatIssues(decoded.errors)}`);
      return;
    }
    const { endpoint, schema, name, schemaExtensions } = decoded.value;
    const extensions: SchemaExtension[] = [];
    (schemaExtensions ?? []).forEach((ext, j) => {
      const e = decode(t.intersection([t.type({ schema: NonEmptyString }), t.partial({ required: t.boolean })]), ext);
      if (e.ok) extensions.push({ schema: e.value.schema, required: e.value.required ?? false });
      else
        warnings.push(
          `/ResourceTypes${label(item, i, 'name')}.schemaExtensions[${j}] dropped: ${formatIssues(e.errors)}`,
        );
    });
    types.push({
      schemas: [URN.ResourceType],
      name: name ?? endpoint.replace(/^\//, ''),
      endpoint,
      schema,
      schemaExtensions: extensions,
    });
  });
  return types;
}

/** An attribute definition with defaults for the members providers leave out; undecodable ones are dropped with a warning. */
function readAttributes(items: unknown, where: string, warnings: string[]): AttributeDefinition[] {
  if (!Array.isArray(items)) return [];
  const out: AttributeDefinition[] = [];
  items.forEach((item, i) => {
    const at = `${where}${label(item, i, 'name')}`;
    if (!isObject(item)) {
      warnings.push(`${at} dropped: not an object`);
      return;
    }
    const withDefaults = { ...item, multiValued: item.multiValued ?? false, subAttributes: undefined };
    const decoded = decode(AttributeDefinition, withDefaults);
    if (!decoded.ok) {
      warnings.push(`${at} dropped: ${formatIssues(decoded.errors)}`);
      return;
    }
    const subAttributes =
      item.subAttributes === undefined || item.subAttributes === null
        ? undefined
        : readAttributes(item.subAttributes, `${at}.subAttributes`, warnings);
    out.push({ ...decoded.value, ...(subAttributes ? { subAttributes } : {}) });
  });
  return out;
}

function readSchemas(body: unknown, warnings: string[]): Map<string, Schema> {
  const schemas = new Map<string, Schema>();
  resourcesOf(body).forEach((item, i) => {
    const decoded = decode(t.type({ id: NonEmptyString }), item);
    if (!decoded.ok || !isObject(item)) {
      warnings.push(
        `/Schemas${label(item, i, 'id')} dropped: ${decoded.ok ? 'not an object' : formatIssues(decoded.errors)}`,
      );
      return;
    }
    const id = decoded.value.id;
    if (!Array.isArray(item.attributes))
      warnings.push(`/Schemas "${id}" has no "attributes" array: read as a schema without attributes`);
    schemas.set(id.toLowerCase(), {
      id,
      attributes: readAttributes(item.attributes, `/Schemas "${id}".attributes`, warnings),
    });
  });
  return schemas;
}

/** The User or Group resource type: by its core schema, else by its name or the usual endpoint (`/Users`, `/Groups`). */
function findResourceType(types: ResourceType[], name: 'User' | 'Group'): ResourceType | undefined {
  const urn = URN[name].toLowerCase();
  const lower = name.toLowerCase();
  return (
    types.find((r) => r.schema.toLowerCase() === urn) ??
    types.find((r) => r.name.toLowerCase() === lower || r.endpoint.toLowerCase() === `/${lower}s`)
  );
}

/** The endpoint of the User or Group resource type in a GET /ResourceTypes body; undefined when it lists none. */
export function resourceTypeEndpoint(resourceTypesBody: unknown, name: 'User' | 'Group'): string | undefined {
  return findResourceType(readResourceTypes(resourceTypesBody, []), name)?.endpoint;
}

/**
 * Builds the User model from the bodies of GET /ResourceTypes and GET /Schemas. A provider
 * without a User resource type, or whose User schemas are not published, is a problem.
 */
export function userSchemaModel(resourceTypesBody: unknown, schemasBody: unknown): ModelResult {
  const warnings: string[] = [];
  const types = readResourceTypes(resourceTypesBody, warnings);
  const schemas = readSchemas(schemasBody, warnings);
  const fail = (problem: string): ModelResult => ({
    ok: false,
    problem: warnings.length > 0 ? `${problem} (discovery dropped: ${warnings.join('; ')})` : problem,
    warnings,
  });
  const userType = findResourceType(types, 'User');
  if (!userType) return fail('the provider lists no User resource type in /ResourceTypes');
  const find = (urn: string) => schemas.get(urn.toLowerCase());
  const core = find(userType.schema);
  if (!core) return fail(`the provider's /Schemas does not describe the User schema ${userType.schema}`);
  const extensions: UserSchemaModel['extensions'] = [];
  for (const ext of userType.schemaExtensions ?? []) {
    const schema = find(ext.schema);
    if (!schema) return fail(`the provider's /Schemas does not describe the User extension ${ext.schema}`);
    extensions.push({ schema: schema.id, required: ext.required, attributes: schema.attributes });
  }
  return {
    ok: true,
    model: { schema: core.id, endpoint: userType.endpoint, attributes: core.attributes, extensions },
    warnings,
  };
}
