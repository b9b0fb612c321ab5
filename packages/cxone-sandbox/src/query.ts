// Query features over rendered resources: filter evaluation (RFC 7644 §3.4.2.2, parsed and
// evaluated by scim2-parse-filter) and attribute projection (`attributes` / `excludedAttributes`).
import { type Filter, parse, Tester } from 'scim2-parse-filter';
import { badRequest } from './errors';
import { findSchema, isCaseExact, resolvePath, type ResourceTypeDefinition } from './schemas';
import type { Attrs } from './validate';

const STRING_OPS = new Set(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'lt', 'ge', 'le']);
type StringOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'lt' | 'ge' | 'le';

/**
 * The library compares strings exactly; RFC 7644 §3.4.2.2 says attributes with caseExact=false
 * (userName, emails.value, displayName…) compare case-insensitively. Lower-cases both sides then.
 */
class SchemaAwareTester extends Tester {
  /** Attribute path of the enclosing value filter, e.g. `emails` inside `emails[type eq "work"]`. */
  private prefix = '';

  constructor(private readonly type: ResourceTypeDefinition) {
    super();
  }

  override test(r: unknown, f: Filter): boolean {
    if (f.op === '[]') {
      const saved = this.prefix;
      this.prefix = f.attrPath;
      try {
        return super.test(r, f);
      } finally {
        this.prefix = saved;
      }
    }
    if (STRING_OPS.has(f.op) && 'compValue' in f && typeof f.compValue === 'string') {
      const path = this.prefix ? `${this.prefix}.${f.attrPath}` : f.attrPath;
      if (!isCaseExact(this.type, path)) {
        const wanted = f.compValue.toLowerCase();
        const op = f.op as StringOp;
        return this.attrTest(this.attrPath(f.attrPath), r, (v) =>
          this[op](typeof v === 'string' ? v.toLowerCase() : v, wanted),
        );
      }
    }
    return super.test(r, f);
  }
}

/** `urn:…:core:2.0:User:userName` → `userName`; the library only understands extension URNs as keys. */
function stripCoreUrn(type: ResourceTypeDefinition, f: Filter): Filter {
  const prefix = `${type.schema.id.toLowerCase()}:`;
  const strip = (p: string) => (p.toLowerCase().startsWith(prefix) ? p.slice(prefix.length) : p);
  switch (f.op) {
    case 'and':
    case 'or':
      return { ...f, filters: f.filters.map((c) => stripCoreUrn(type, c)) };
    case 'not':
      return { ...f, filter: stripCoreUrn(type, f.filter) };
    default:
      return { ...f, attrPath: strip(f.attrPath) } as Filter;
  }
}

export function parseFilter(type: ResourceTypeDefinition, expression: string): Filter {
  try {
    return stripCoreUrn(type, parse(expression));
  } catch (err) {
    throw badRequest('invalidFilter', `Invalid filter ${JSON.stringify(expression)}: ${(err as Error).message}`);
  }
}

/** `caseExact`: compare every string exactly, as some servers do whatever the schema says. */
export function compileFilter(
  type: ResourceTypeDefinition,
  ast: Filter,
  caseExact = false,
): (resource: Attrs) => boolean {
  const tester = caseExact ? new Tester() : new SchemaAwareTester(type);
  return (resource) => tester.test(resource, ast);
}

/** `a,b , c` (query string) or ['a', 'b'] (SearchRequest body) → ['a', 'b', 'c'] */
export function splitAttributeList(value: unknown): string[] | undefined {
  const items = Array.isArray(value) ? value.map(String) : typeof value === 'string' ? value.split(',') : [];
  const names = items.map((s) => s.trim()).filter(Boolean);
  return names.length > 0 ? names : undefined;
}

type Selection = Map<string, 'all' | Set<string>>;

function pickSubAttributes(value: unknown, subs: Set<string>): unknown {
  const pick = (v: unknown) =>
    typeof v === 'object' && v !== null ? Object.fromEntries(Object.entries(v).filter(([k]) => subs.has(k))) : v;
  return Array.isArray(value) ? value.map(pick) : pick(value);
}

function omitSubAttribute(value: unknown, sub: string): unknown {
  const omit = (v: unknown) =>
    typeof v === 'object' && v !== null ? Object.fromEntries(Object.entries(v).filter(([k]) => k !== sub)) : v;
  return Array.isArray(value) ? value.map(omit) : omit(value);
}

/**
 * RFC 7644 §3.4.2.5 / §3.9. `id` and `schemas` are always returned; unknown names are ignored.
 * `attributes` wins when both are given.
 */
export function project(
  type: ResourceTypeDefinition,
  resource: Attrs,
  attributes?: string[],
  excluded?: string[],
): Attrs {
  if (attributes) {
    // container key ('' for core, extension URN otherwise) → attribute → whole or some sub-attributes
    const selected = new Map<string, Selection>();
    const select = (container: string, name: string, sub?: string) => {
      const sel = selected.get(container) ?? new Map<string, 'all' | Set<string>>();
      selected.set(container, sel);
      const current = sel.get(name);
      if (current === 'all') return;
      if (!sub) sel.set(name, 'all');
      else sel.set(name, new Set([...(current ?? []), sub]));
    };
    for (const path of attributes) {
      const ext = findSchema(type, path);
      if (ext && ext !== type.schema) select(ext.id, '*');
      const resolved = resolvePath(type, path);
      if (resolved) select(resolved.extension ?? '', resolved.attribute.name, resolved.sub?.name);
    }
    const out: Attrs = { schemas: resource.schemas, id: resource.id };
    for (const [container, sel] of selected) {
      const source = (container ? resource[container] : resource) as Attrs | undefined;
      if (!source) continue;
      const target: Attrs = container ? ((out[container] as Attrs | undefined) ?? {}) : out;
      for (const [name, what] of sel) {
        if (name === '*') Object.assign(target, source);
        else if (source[name] !== undefined)
          target[name] = what === 'all' ? source[name] : pickSubAttributes(source[name], what);
      }
      if (container) out[container] = target;
    }
    return out;
  }
  if (!excluded) return resource;
  const out: Attrs = { ...resource };
  for (const path of excluded) {
    const ext = findSchema(type, path);
    if (ext && ext !== type.schema) delete out[ext.id];
    const resolved = resolvePath(type, path);
    if (!resolved || (resolved.sub ?? resolved.attribute).returned === 'always') continue;
    const container = resolved.extension ? ({ ...(out[resolved.extension] as Attrs) } as Attrs) : out;
    if (resolved.extension && out[resolved.extension] === undefined) continue;
    const name = resolved.attribute.name;
    if (!resolved.sub) delete container[name];
    else if (container[name] !== undefined) container[name] = omitSubAttribute(container[name], resolved.sub.name);
    if (resolved.extension) out[resolved.extension] = container;
  }
  return out;
}
