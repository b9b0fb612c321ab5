// Validation of User records against the schemas a provider publishes (RFC 7643 §7), before
// anything is sent. Pure and deterministic: used by the planning activity and safe in workflows.
import * as t from 'io-ts';
import type { AttributeDefinition } from './codecs';
import type { UserSchemaModel } from './schema-model';
import { decode, formatIssues } from '../core/decode';
import { isRefusedKey, refusedKeyIssues } from '../core/json';
import { isResolvedByName } from './cxone-references';
import { DEFAULT_RECORD_LIMITS, recordContentProblems, type RecordLimits } from './record-checks';

export { userSchemaModel, type ModelResult, type UserSchemaModel } from './schema-model';

/** Common attributes (RFC 7643 §3.1): not in any schema document, but valid on every resource. */
export const COMMON_ATTRIBUTES: AttributeDefinition[] = [
  { name: 'id', type: 'string', multiValued: false, mutability: 'readOnly', caseExact: true },
  { name: 'externalId', type: 'string', multiValued: false, mutability: 'readWrite', caseExact: true },
  { name: 'meta', type: 'complex', multiValued: false, mutability: 'readOnly' },
];

/** Attributes whose values never appear in a reason (reasons end up in reports and history). */
const SECRET_ATTRIBUTES = new Set(['password']);

/** Bulk limits from a ServiceProviderConfig body (RFC 7643 §5); 0 or absent means "not stated". */
export interface BulkLimits {
  supported: boolean;
  maxOperations: number;
  maxPayloadSize: number;
}

const BulkSection = t.partial({ supported: t.boolean, maxOperations: t.number, maxPayloadSize: t.number });

export function bulkLimitsOf(spcBody: unknown): { ok: true; limits: BulkLimits } | { ok: false; problem: string } {
  const bulk = (spcBody as { bulk?: unknown } | undefined)?.bulk;
  const decoded = decode(BulkSection, bulk ?? {});
  if (!decoded.ok)
    return { ok: false, problem: `ServiceProviderConfig.bulk is malformed: ${formatIssues(decoded.errors)}` };
  const { supported = false, maxOperations = 0, maxPayloadSize = 0 } = decoded.value;
  return { ok: true, limits: { supported, maxOperations, maxPayloadSize } };
}

// ---------------------------------------------------------------------------------------------

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7643 §2.3.5: xsd:dateTime, e.g. 2008-01-23T04:56:22Z. */
const DATE_TIME = /^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

const TYPE_CHECKS: Record<AttributeDefinition['type'], (v: unknown) => boolean> = {
  string: (v) => typeof v === 'string',
  reference: (v) => typeof v === 'string',
  binary: (v) => typeof v === 'string',
  boolean: (v) => typeof v === 'boolean',
  integer: (v) => typeof v === 'number' && Number.isInteger(v),
  decimal: (v) => typeof v === 'number' && Number.isFinite(v),
  dateTime: (v) => typeof v === 'string' && DATE_TIME.test(v),
  complex: isObject,
};

function describe(value: unknown, secret: boolean): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (secret) return `a ${typeof value} (value hidden)`;
  if (typeof value === 'string') return `string "${value.length > 40 ? `${value.slice(0, 39)}…` : value}"`;
  return `${typeof value} ${String(value)}`;
}

function findAttribute(defs: readonly AttributeDefinition[], name: string): AttributeDefinition | undefined {
  const wanted = name.toLowerCase();
  return defs.find((d) => d.name.toLowerCase() === wanted);
}

function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0);
}

class Reasons {
  readonly list: string[] = [];
  add(path: string, message: string): void {
    this.list.push(`${path}: ${message}`);
  }
}

function checkValue(def: AttributeDefinition, value: unknown, path: string, secret: boolean, reasons: Reasons): void {
  if (!TYPE_CHECKS[def.type](value)) {
    const expected =
      def.type === 'complex' ? 'an object' : def.type === 'dateTime' ? 'an xsd:dateTime string' : `of type ${def.type}`;
    reasons.add(path, `must be ${expected}, got ${describe(value, secret)}`);
    return;
  }
  if (def.type === 'complex') {
    checkAttributes(def.subAttributes ?? [], value as Record<string, unknown>, path, reasons, secret);
    return;
  }
  const canonical = def.canonicalValues ?? [];
  if (def.type === 'string' && canonical.length > 0) {
    const matches = def.caseExact
      ? canonical.includes(value as string)
      : canonical.some((c) => c.toLowerCase() === (value as string).toLowerCase());
    if (!matches)
      reasons.add(
        path,
        `"${value as string}" is not one of the canonical values ${canonical.map((c) => `"${c}"`).join(', ')}`,
      );
  }
}

function checkAttribute(
  def: AttributeDefinition,
  value: unknown,
  path: string,
  secret: boolean,
  reasons: Reasons,
): void {
  if (def.mutability === 'readOnly') {
    reasons.add(path, 'is read-only (the provider sets it; it cannot be provisioned)');
    return;
  }
  if (!def.multiValued) {
    if (Array.isArray(value)) reasons.add(path, 'is single-valued, got an array');
    else checkValue(def, value, path, secret, reasons);
    return;
  }
  if (!Array.isArray(value)) {
    reasons.add(path, `is multi-valued and must be an array, got ${describe(value, secret)}`);
    return;
  }
  value.forEach((item, i) => checkValue(def, item, `${path}[${i}]`, secret, reasons));
  if (def.type === 'complex' && value.filter((v) => isObject(v) && v.primary === true).length > 1) {
    reasons.add(path, 'more than one value has "primary": true');
  }
}

function checkAttributes(
  defs: readonly AttributeDefinition[],
  input: Record<string, unknown>,
  prefix: string,
  reasons: Reasons,
  secret = false,
  separator = '.',
): void {
  const pathOf = (name: string) => (prefix ? `${prefix}${separator}${name}` : name);
  for (const [key, value] of Object.entries(input)) {
    if (isRefusedKey(key)) continue; // reported by validateUser with its JSON path
    const path = pathOf(key);
    const def = findAttribute(defs, key);
    if (!def) {
      reasons.add(path, 'is not an attribute of the schema');
      continue;
    }
    if (value === null || value === undefined) continue; // RFC 7643 §2.5: unassigned
    checkAttribute(def, value, path, secret || SECRET_ATTRIBUTES.has(def.name.toLowerCase()), reasons);
  }
  for (const def of defs) {
    if (!def.required) continue;
    const key = Object.keys(input).find((k) => k.toLowerCase() === def.name.toLowerCase());
    if (key === undefined || isEmpty(input[key])) reasons.add(pathOf(def.name), 'is required');
  }
}

/**
 * Every reason why `record` is not a valid User for creation at this provider (empty when it is):
 * required attributes, types, single/multi-valued, canonical values, mutability (no read-only
 * attributes), and extension URNs (known to the resource type, listed in `schemas`, required
 * extensions present), and values no provider should receive (control characters, lengths past
 * `limits`, email addresses that are not addresses). Each reason starts with the attribute path.
 */
export function validateUser(
  model: UserSchemaModel,
  record: unknown,
  limits: RecordLimits = DEFAULT_RECORD_LIMITS,
): string[] {
  const reasons = new Reasons();
  if (!isObject(record)) {
    reasons.add('$', `a User must be a JSON object, got ${describe(record, false)}`);
    return reasons.list;
  }
  // Every own key is looked at: a parsed "__proto__" member is one (and is never copied below).
  for (const issue of refusedKeyIssues(record, '')) reasons.add(issue.path, issue.message);
  const extensionOf = (urn: string) => model.extensions.find((e) => e.schema.toLowerCase() === urn.toLowerCase());
  const isCore = (urn: string) => urn.toLowerCase() === model.schema.toLowerCase();

  const schemas = record.schemas;
  const listed = new Set<string>();
  if (!Array.isArray(schemas) || schemas.length === 0 || !schemas.every((s) => typeof s === 'string')) {
    reasons.add('schemas', 'must be a non-empty array of schema URNs');
  } else {
    for (const urn of schemas as string[]) {
      listed.add(urn.toLowerCase());
      if (!isCore(urn) && !extensionOf(urn))
        reasons.add('schemas', `"${urn}" is not a schema of the provider's User resource type`);
    }
    if (!(schemas as string[]).some(isCore)) reasons.add('schemas', `must contain ${model.schema}`);
  }

  const core: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (key === 'schemas' || isRefusedKey(key)) continue;
    if (!key.toLowerCase().startsWith('urn:')) {
      core[key] = value;
      continue;
    }
    const extension = extensionOf(key);
    if (!extension) {
      reasons.add(key, "is not an extension of the provider's User resource type");
      continue;
    }
    if (value === null || value === undefined) continue;
    if (!listed.has(key.toLowerCase()))
      reasons.add(key, 'extension attributes are present but the URN is not listed in "schemas"');
    if (!isObject(value)) reasons.add(key, `must be an object, got ${describe(value, false)}`);
    else checkAttributes(extension.attributes, value, key, reasons, false, ':');
  }
  for (const extension of model.extensions) {
    if (!extension.required) continue;
    const present = Object.keys(record).some((k) => k.toLowerCase() === extension.schema.toLowerCase());
    if (!present) reasons.add(extension.schema, 'this extension is required by the provider');
  }
  checkAttributes([...model.attributes, ...COMMON_ATTRIBUTES], core, '', reasons);
  reasons.list.push(...recordContentProblems(record, limits));
  return reasons.list;
}

/** The userName of a record, when it has a usable one. */
export function userNameOf(record: unknown): string | undefined {
  if (!isObject(record)) return undefined;
  const key = Object.keys(record).find((k) => k.toLowerCase() === 'username');
  const value = key === undefined ? undefined : record[key];
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/**
 * The user with every attribute name spelled as the provider's schema declares it (names are
 * case-insensitive, RFC 7643 §2.1, but providers are not all lenient): `timezone`, as RFC 7643 and
 * CXone's requests spell it, becomes `timeZone` where /Schemas declares `timeZone`. Extension URNs
 * and sub-attributes too. A name the schema does not declare, or a spelling that would collide
 * with one the record also has, is left as it is for validateUser to judge; so is a record with a
 * name refused as a key (`__proto__`: validateUser reports it, and it is never copied).
 */
export function withDeclaredNames(model: UserSchemaModel, user: Record<string, unknown>): Record<string, unknown> {
  if (refusedKeyIssues(user, '').length > 0) return user;
  const respelled = (defs: readonly AttributeDefinition[], input: Record<string, unknown>) => {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(input)) {
      const def = findAttribute(defs, key);
      const inner = (v: unknown) =>
        def?.type === 'complex' && isObject(v) ? respelled(def.subAttributes ?? [], v) : v;
      out[def && !Object.hasOwn(input, def.name) ? def.name : key] = Array.isArray(value)
        ? value.map(inner)
        : inner(value);
    }
    return out;
  };
  const coreDefs = [...model.attributes, ...COMMON_ATTRIBUTES];
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(user)) {
    if (key === 'schemas') out[key] = value;
    else if (!key.toLowerCase().startsWith('urn:')) {
      const def = findAttribute(coreDefs, key);
      // Another member already has the declared spelling: both stay, as they are.
      const collides = def !== undefined && def.name !== key && Object.hasOwn(user, def.name);
      Object.assign(out, collides ? { [key]: value } : respelled(coreDefs, { [key]: value }));
    } else {
      const extension = model.extensions.find((e) => e.schema.toLowerCase() === key.toLowerCase());
      const name = extension && !Object.hasOwn(user, extension.schema) ? extension.schema : key;
      out[name] = extension && isObject(value) ? respelled(extension.attributes, value) : value;
    }
  }
  return out;
}

/** A mapping target as src/mapping/mapping.ts parses it (`urn:…:User:team.display`, `roles.primary`). */
export interface AttributeTarget {
  extension?: string;
  attribute: string;
  sub?: string;
}

/**
 * Why a mapping target is not an attribute the provider's User accepts, or undefined when it is:
 * an extension or attribute (or sub-attribute) its /Schemas does not declare, or one it declares
 * read-only. A reference's `display` is accepted on roles, team and loginAuthenticator: it names
 * what CXone knows by id, and the name is resolved before anything is sent (src/scim/cxone-references.ts).
 */
export function targetProblem(model: UserSchemaModel, target: AttributeTarget): string | undefined {
  const extension =
    target.extension === undefined
      ? undefined
      : model.extensions.find((e) => e.schema.toLowerCase() === target.extension?.toLowerCase());
  if (target.extension !== undefined && !extension)
    return `the provider's /Schemas declares no extension ${target.extension} of its User`;
  const defs = extension ? extension.attributes : [...model.attributes, ...COMMON_ATTRIBUTES];
  const def = findAttribute(defs, target.attribute);
  const where = extension ? `the extension ${extension.schema}` : "the provider's User schema";
  if (!def) return `${target.attribute} is not declared by ${where} (/Schemas)`;
  if (def.mutability === 'readOnly') return `${def.name} is read-only in ${where}`;
  if (target.sub === undefined) return undefined;
  const sub = findAttribute(def.subAttributes ?? [], target.sub);
  if (!sub) return `${def.name}.${target.sub} is not declared by ${where} (/Schemas)`;
  if (sub.mutability === 'readOnly' && !isResolvedByName(extension?.schema, def.name, sub.name))
    return `${def.name}.${sub.name} is read-only in ${where}`;
  return undefined;
}
