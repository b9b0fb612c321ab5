// Schema-driven validation of incoming User/Group documents (RFC 7643 §2, §7).
// Produces the stored form: canonical attribute names, readOnly values dropped (RFC 7644 §3.5.1
// says they SHALL be ignored), nulls treated as unassigned, `schemas` recomputed.
import { badRequest } from './errors';
import { type AttributeDefinition, findAttribute, findSchema, type ResourceTypeDefinition } from './schemas';

export type Attrs = Record<string, unknown>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const TYPE_CHECKS: Record<AttributeDefinition['type'], (v: unknown) => boolean> = {
  string: (v) => typeof v === 'string',
  reference: (v) => typeof v === 'string',
  binary: (v) => typeof v === 'string',
  boolean: (v) => typeof v === 'boolean',
  integer: (v) => Number.isInteger(v),
  decimal: (v) => typeof v === 'number' && Number.isFinite(v),
  dateTime: (v) => typeof v === 'string' && !Number.isNaN(Date.parse(v)),
  complex: isObject,
};

class Problems {
  readonly list: string[] = [];
  add(message: string): void {
    this.list.push(message);
  }
}

function checkValue(def: AttributeDefinition, value: unknown, path: string, problems: Problems): unknown {
  if (!TYPE_CHECKS[def.type](value)) {
    problems.add(`"${path}" must be ${def.type === 'complex' ? 'an object' : `of type ${def.type}`}`);
    return undefined;
  }
  if (def.type !== 'complex') return value;
  return checkAttributes(def.subAttributes ?? [], value as Attrs, path, problems);
}

function checkAttribute(def: AttributeDefinition, value: unknown, path: string, problems: Problems): unknown {
  if (!def.multiValued) return checkValue(def, value, path, problems);
  if (!Array.isArray(value)) {
    problems.add(`"${path}" is multi-valued and must be an array`);
    return undefined;
  }
  const items = value.filter((v) => v !== null).map((v, i) => checkValue(def, v, `${path}[${i}]`, problems));
  if (def.type === 'complex' && items.filter((v) => isObject(v) && v.primary === true).length > 1) {
    problems.add(`"${path}" has more than one value with primary: true`);
  }
  for (const sub of def.subAttributes ?? []) {
    if (sub.required && items.some((v) => isObject(v) && v[sub.name] === undefined)) {
      problems.add(`"${path}.${sub.name}" is required on every value`);
    }
  }
  return items.length > 0 ? items : undefined;
}

function checkAttributes(defs: AttributeDefinition[], input: Attrs, path: string, problems: Problems): Attrs {
  const out: Attrs = {};
  for (const [key, value] of Object.entries(input)) {
    const def = findAttribute(defs, key);
    const attrPath = path ? `${path}.${key}` : key;
    if (!def) {
      problems.add(`unknown attribute "${attrPath}"`);
      continue;
    }
    if (value === null || def.mutability === 'readOnly') continue;
    const checked = checkAttribute(def, value, attrPath, problems);
    if (checked !== undefined) out[def.name] = checked;
  }
  return out;
}

function checkRequired(defs: AttributeDefinition[], attrs: Attrs, prefix: string, problems: Problems): void {
  for (const def of defs) {
    const v = attrs[def.name];
    if (def.required && (v === undefined || v === '')) problems.add(`"${prefix}${def.name}" is required`);
    // A single complex value carries its own required sub-attributes (e.g. name.givenName).
    if (def.type === 'complex' && !def.multiValued && isObject(v))
      checkRequired(def.subAttributes ?? [], v, `${prefix}${def.name}.`, problems);
  }
}

/** Validates a full resource representation (POST, PUT, or the result of a PATCH). */
export function normalizeResource(type: ResourceTypeDefinition, body: unknown): Attrs {
  if (!isObject(body)) throw badRequest('invalidSyntax', 'The request body must be a JSON object');
  const problems = new Problems();
  const schemas = body.schemas;
  if (!Array.isArray(schemas) || !schemas.every((s) => typeof s === 'string')) {
    throw badRequest('invalidSyntax', '"schemas" must be an array of schema URNs');
  }
  if (!schemas.some((s) => s.toLowerCase() === type.schema.id.toLowerCase())) {
    throw badRequest('invalidSyntax', `"schemas" must contain ${type.schema.id}`);
  }
  for (const s of schemas) if (!findSchema(type, s)) problems.add(`unsupported schema "${s}"`);

  const core: Attrs = {};
  const extensions: Attrs = {};
  for (const [key, value] of Object.entries(body)) {
    const lowerKey = key.toLowerCase();
    if (lowerKey === 'schemas' || lowerKey === 'id' || lowerKey === 'meta') continue;
    if (lowerKey === 'externalid') {
      if (value !== null && typeof value !== 'string') problems.add('"externalId" must be a string');
      else if (value !== null) core.externalId = value;
      continue;
    }
    if (lowerKey.startsWith('urn:')) {
      const ext = type.extensions.find((e) => e.id.toLowerCase() === lowerKey);
      if (!ext) problems.add(`unsupported schema extension "${key}"`);
      else if (value !== null && !isObject(value)) problems.add(`"${key}" must be an object`);
      else if (value !== null) {
        const attrs = checkAttributes(ext.attributes, value, key, problems);
        checkRequired(ext.attributes, attrs, `${ext.id}:`, problems);
        if (Object.keys(attrs).length > 0) extensions[ext.id] = attrs;
      }
      continue;
    }
    Object.assign(core, checkAttributes(type.schema.attributes, { [key]: value }, '', problems));
  }
  checkRequired(type.schema.attributes, core, '', problems);
  if (problems.list.length > 0) throw badRequest('invalidValue', problems.list.join('; '));
  return { schemas: [type.schema.id, ...Object.keys(extensions)], ...core, ...extensions };
}
