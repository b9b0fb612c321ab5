// `cxone-scim mapping check`: a mapping against the User schema a provider publishes (its /Schemas
// and /ResourceTypes), before any record is mapped. Every problem is named with its target: an
// attribute or extension the provider does not have, a value of the wrong type, a read-only or
// immutable target, a required attribute no rule maps. Pure.
import type { AttributeDefinition } from '../scim/codecs';
import type { UserSchemaModel } from '../scim/schema-model';
import { COMMON_ATTRIBUTES } from '../scim/user-validation';
import { URN } from '../scim/urns';
import { suggestion } from './expression';
import type { Node } from './expression/parser';
import { type CompiledMapping, writesListElement } from './mapping';

type Rule = CompiledMapping['rules'][number];

/** What a rule's values are, as far as the mapping says: `unknown` when only the records can tell. */
type ValueKind = 'text' | 'boolean' | 'integer' | 'number' | 'unknown';

const BOOLEAN_FUNCTIONS = new Set(['cbool', 'isnull', 'isnullorempty', 'ispresent', 'isstring', 'not']);
const INTEGER_FUNCTIONS = new Set(['count', 'instr', 'bitand', 'datediff']);
/** Functions that give one of their arguments back: their kind is their arguments' (when they agree). */
const PASS_THROUGH: Record<string, (args: number) => number[]> = {
  iif: () => [1, 2],
  coalesce: (n) => [...Array(n).keys()],
  ignoreflowifnullorempty: () => [0],
  assertnotnull: () => [0],
  redact: () => [0],
  switch: (n) => [1, ...Array.from({ length: Math.floor((n - 2) / 2) }, (_, i) => 3 + 2 * i)],
};

function expressionKind(node: Node | { type: 'missing' }): ValueKind {
  switch (node.type) {
    case 'string':
      return 'text';
    case 'number':
      return node.text.includes('.') ? 'number' : 'integer';
    case 'compare':
      return 'boolean';
    case 'call': {
      const name = node.name.toLowerCase();
      if (BOOLEAN_FUNCTIONS.has(name)) return 'boolean';
      if (INTEGER_FUNCTIONS.has(name)) return 'integer';
      const through = PASS_THROUGH[name];
      if (!through) return 'text'; // every other function gives text (or a list, refused per record)
      const kinds = new Set(
        through(node.args.length)
          .map((i) => node.args[i])
          .filter((arg) => arg !== undefined && arg.type !== 'missing')
          .map((arg) => expressionKind(arg)),
      );
      return kinds.size === 1 ? [...kinds][0] : 'unknown';
    }
    default:
      return 'unknown'; // a column of a JSON source may hold any type
  }
}

function scalarKind(value: string | number | boolean): ValueKind {
  if (typeof value === 'string') return 'text';
  if (typeof value === 'boolean') return 'boolean';
  return Number.isInteger(value) ? 'integer' : 'number';
}

/** The kind of a rule's values after its transforms (its default goes through them too). */
function ruleKind(rule: Rule): ValueKind {
  const transforms =
    rule.transform === undefined ? [] : Array.isArray(rule.transform) ? rule.transform : [rule.transform];
  let kind: ValueKind =
    rule.compiled !== undefined
      ? expressionKind(rule.compiled.root)
      : rule.constant !== undefined
        ? scalarKind(rule.constant)
        : 'text'; // a CSV cell is text; a JSON field needs a transform to be read as anything else
  for (const step of transforms) {
    if (step === 'lowercase' || step === 'uppercase') kind = 'text';
    else if (step === 'boolean') kind = 'boolean';
    else if (step === 'integer') kind = 'integer';
    else if (step === 'number') kind = 'number';
  }
  return kind;
}

const FITS: Record<AttributeDefinition['type'], ValueKind[]> = {
  string: ['text'],
  reference: ['text'],
  binary: ['text'],
  dateTime: ['text'],
  boolean: ['boolean'],
  integer: ['integer'],
  decimal: ['integer', 'number'],
  complex: [],
};

const HOW: Partial<Record<AttributeDefinition['type'], string>> = {
  boolean: 'add "transform": "boolean", or use CBool(…)',
  integer: 'add "transform": "integer"',
  decimal: 'add "transform": "number"',
};

function describeKind(kind: ValueKind, rule: Rule): string {
  const what = rule.compiled
    ? 'the expression gives'
    : rule.constant !== undefined
      ? 'the constant is'
      : 'the source gives';
  const noun = { text: 'text', boolean: 'a boolean', integer: 'a whole number', number: 'a number', unknown: '' }[kind];
  return `${what} ${noun}`;
}

function find(defs: readonly AttributeDefinition[], name: string): AttributeDefinition | undefined {
  const wanted = name.toLowerCase();
  return defs.find((d) => d.name.toLowerCase() === wanted);
}

function mutabilityProblem(def: AttributeDefinition): string | undefined {
  if (def.mutability === 'readOnly') return 'is read-only at the provider (it sets the value; a mapping cannot)';
  if (def.mutability === 'immutable')
    return 'is immutable at the provider (set only when the user is created; any later change is refused)';
  return undefined;
}

/**
 * Every problem of `mapping` against the provider's User model, each starting with the target (or
 * the attribute no rule maps). Empty when the mapping fits.
 */
export function checkMappingAgainstSchema(mapping: CompiledMapping, model: UserSchemaModel): string[] {
  const problems: string[] = [];
  const core = [...model.attributes, ...COMMON_ATTRIBUTES];
  const isCore = (urn: string) =>
    urn.toLowerCase() === model.schema.toLowerCase() || urn.toLowerCase() === URN.User.toLowerCase();
  const extensionOf = (urn: string) => model.extensions.find((e) => e.schema.toLowerCase() === urn.toLowerCase());
  /** Mapped attributes and sub-attributes, by container (`` for core, else the extension URN, lower case), as `name` or `name.sub`. */
  const mapped = new Map<string, Set<string>>();
  const note = (container: string, name: string) => {
    const key = container.toLowerCase();
    if (!mapped.has(key)) mapped.set(key, new Set());
    mapped.get(key)!.add(name.toLowerCase());
  };

  for (const urn of mapping.schemas ?? [])
    if (!isCore(urn) && !extensionOf(urn))
      problems.push(`schemas: "${urn}" is not a schema of the provider's User resource type`);

  for (const rule of mapping.rules) {
    const { path, target } = rule;
    const fail = (message: string) => problems.push(`${target}: ${message}`);
    let defs = core;
    if (path.extension !== undefined) {
      const extension = extensionOf(path.extension);
      if (!extension) {
        fail(
          `${path.extension} is not an extension of the provider's User resource type${suggestion(
            path.extension,
            model.extensions.map((e) => e.schema),
          )}`,
        );
        continue;
      }
      defs = extension.attributes;
    }
    const container = path.extension ?? '';
    const def = find(defs, path.attribute);
    if (!def) {
      const where = path.extension ? `the extension ${path.extension}` : "the provider's User schema";
      fail(
        `${path.attribute} is not an attribute of ${where}${suggestion(
          path.attribute,
          defs.map((d) => d.name),
        )}`,
      );
      continue;
    }
    note(container, def.name);
    const locked = mutabilityProblem(def);
    if (locked) {
      fail(locked);
      continue;
    }
    const list = writesListElement(path);
    if (list && !def.multiValued) {
      fail(
        `${def.name} is single-valued; this target writes an element of a list (write ${def.name}${path.sub ? `.${path.sub}` : ''})`,
      );
      continue;
    }
    if (!list && def.multiValued) {
      fail(`${def.name} is multi-valued; this target writes one value (write ${def.name}[type eq "…"].value)`);
      continue;
    }
    let leaf = def;
    if (def.type === 'complex') {
      // A manager reference is written as the manager's id, in manager.value.
      const subName = path.sub ?? (list || rule.reference ? 'value' : undefined);
      const subs = def.subAttributes ?? [];
      if (subName === undefined) {
        fail(`${def.name} is complex: map its sub-attributes (${subs.map((s) => `${def.name}.${s.name}`).join(', ')})`);
        continue;
      }
      if (path.filter) {
        const filterDef = find(subs, path.filter.attribute);
        if (!filterDef) fail(`${def.name} has no sub-attribute ${path.filter.attribute} to filter on`);
        else {
          note(container, `${def.name}.${filterDef.name}`);
          const canonical = filterDef.canonicalValues ?? [];
          if (canonical.length > 0 && !canonical.some((c) => c.toLowerCase() === path.filter!.value.toLowerCase()))
            fail(
              `"${path.filter.value}" is not one of the canonical values of ${def.name}.${filterDef.name}: ${canonical.map((c) => `"${c}"`).join(', ')}`,
            );
        }
      }
      const sub = find(subs, subName);
      if (!sub) {
        fail(
          `${def.name} has no sub-attribute ${subName}${suggestion(
            subName,
            subs.map((s) => s.name),
          )}`,
        );
        continue;
      }
      note(container, `${def.name}.${sub.name}`);
      const subLocked = mutabilityProblem(sub);
      if (subLocked) {
        fail(`${def.name}.${sub.name} ${subLocked}`);
        continue;
      }
      leaf = sub;
    } else if (list) {
      fail(`${def.name} is a multi-valued ${def.type} attribute; this target writes objects ({"value": …}) into it`);
      continue;
    } else if (path.sub !== undefined) {
      fail(`${def.name} is of type ${def.type}: it has no sub-attribute ${path.sub}`);
      continue;
    }
    const kind = ruleKind(rule);
    if (kind !== 'unknown' && !FITS[leaf.type].includes(kind)) {
      const how = HOW[leaf.type];
      fail(`${describeKind(kind, rule)}; the attribute is of type ${leaf.type}${how ? ` (${how})` : ''}`);
    } else if (
      rule.default !== undefined &&
      rule.transform === undefined &&
      !FITS[leaf.type].includes(scalarKind(rule.default))
    ) {
      fail(`the default ${JSON.stringify(rule.default)} is not of type ${leaf.type}`);
    } else if (leaf.type === 'string' && rule.constant !== undefined && typeof rule.constant === 'string') {
      const canonical = leaf.canonicalValues ?? [];
      if (canonical.length > 0 && !canonical.some((c) => c.toLowerCase() === (rule.constant as string).toLowerCase()))
        fail(
          `the constant "${rule.constant}" is not one of the canonical values ${canonical.map((c) => `"${c}"`).join(', ')}`,
        );
    }
  }

  // Required attributes no rule maps: the core's, every extension the provider requires or the
  // mapping uses, and the required sub-attributes of every complex attribute mapped.
  const requireIn = (container: string, defs: readonly AttributeDefinition[], label: (name: string) => string) => {
    const names = mapped.get(container.toLowerCase()) ?? new Set<string>();
    for (const def of defs) {
      if (def.mutability === 'readOnly') continue;
      if (def.required && !names.has(def.name.toLowerCase()))
        problems.push(`${label(def.name)}: is required by the provider, and no rule maps it`);
      if (def.type !== 'complex' || !names.has(def.name.toLowerCase())) continue;
      for (const sub of def.subAttributes ?? [])
        if (sub.required && sub.mutability !== 'readOnly' && !names.has(`${def.name}.${sub.name}`.toLowerCase()))
          problems.push(
            `${label(`${def.name}.${sub.name}`)}: is required by the provider when ${def.name} is given, and no rule maps it`,
          );
    }
  };
  requireIn('', model.attributes, (name) => name);
  for (const extension of model.extensions) {
    const used = mapped.has(extension.schema.toLowerCase());
    if (extension.required && !used)
      problems.push(
        `${extension.schema}: the provider requires this extension, and no rule maps any of its attributes`,
      );
    if (used || extension.required)
      requireIn(extension.schema, extension.attributes, (name) => `${extension.schema}:${name}`);
  }
  return problems;
}
