// What must change on an existing User so that it carries what the source says (used when a
// POST answered 409 uniqueness: the user exists, update it only if attributes differ). Pure.
import { canonicalJson } from './canonical';

/** RFC 7644 §3.5.2 replace operation. */
export interface ReplaceOperation {
  op: 'replace';
  path: string;
  value: unknown;
}

/** Never compared: identity, metadata, and `password` (write-only, never returned). */
const NOT_COMPARED = new Set(['schemas', 'id', 'meta', 'password']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function member(resource: Record<string, unknown>, name: string): unknown {
  const key = Object.keys(resource).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : resource[key];
}

const same = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);

/**
 * One `replace` per attribute of `desired` whose value differs from `current` (extension
 * attributes one by one, under their URN path). Attributes `desired` does not mention are left
 * alone: the source only owns what it maps.
 */
export function userChanges(desired: Record<string, unknown>, current: Record<string, unknown>): ReplaceOperation[] {
  const changes: ReplaceOperation[] = [];
  for (const [key, value] of Object.entries(desired)) {
    if (NOT_COMPARED.has(key.toLowerCase()) || value === undefined || value === null) continue;
    if (key.toLowerCase().startsWith('urn:') && isObject(value)) {
      const currentExtension = member(current, key);
      const existing = isObject(currentExtension) ? currentExtension : {};
      for (const [sub, subValue] of Object.entries(value)) {
        if (subValue === undefined || subValue === null) continue;
        if (!same(subValue, member(existing, sub))) changes.push({ op: 'replace', path: `${key}:${sub}`, value: subValue });
      }
      continue;
    }
    if (!same(value, member(current, key))) changes.push({ op: 'replace', path: key, value });
  }
  return changes;
}

/** For providers without PATCH: the full representation to PUT (current, overlaid with desired). */
export function mergedForPut(desired: Record<string, unknown>, current: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(current)) if (key !== 'meta' && key !== 'groups') merged[key] = value;
  for (const [key, value] of Object.entries(desired)) {
    if (key.toLowerCase() === 'password') continue;
    const existing = member(merged, key);
    merged[key] = key.toLowerCase().startsWith('urn:') && isObject(value) && isObject(existing) ? { ...existing, ...value } : value;
  }
  const schemas = new Set<string>([...((current.schemas as string[]) ?? []), ...((desired.schemas as string[]) ?? [])]);
  merged.schemas = [...schemas];
  return merged;
}
