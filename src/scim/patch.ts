// SCIM PATCH (RFC 7644 §3.5.2) in one place: the operation type, the diff saying what must change
// on a User, the full representation to PUT where a provider has no PATCH, and the PatchOp request
// body. Pure (safe in workflows). The provisioning 409 path and the lifecycle IdP sync both use it.
import { parseTargetPath, readPath, withoutPath } from './attribute-path';
import { canonicalJson } from './canonical';
import type { PatchOp, PatchOperation } from './codecs';
import { URN } from './urns';

export type { PatchOperation } from './codecs';

type Attributes = Record<string, unknown>;

export interface PatchDiffOptions {
  /**
   * Also `remove` the attributes `current` has and `desired` lacks (or sets to null). Off by
   * default: a source owns only the attributes it maps, so what it does not mention stays.
   */
  removeAbsent?: boolean;
}

/**
 * Never compared: identity, metadata, the read-only `groups` (membership lives on Group
 * resources) and `password` (write-only, never returned).
 */
const NOT_COMPARED = new Set(['schemas', 'id', 'meta', 'groups', 'password']);

const isObject = (v: unknown): v is Attributes => typeof v === 'object' && v !== null && !Array.isArray(v);
const isAbsent = (v: unknown) => v === undefined || v === null;
/** An extension's attributes sit in one object named by its schema URN (RFC 7643 §3.3). */
const isExtension = (key: string, value: unknown): value is Attributes =>
  key.toLowerCase().startsWith('urn:') && isObject(value);

/** Attribute names are case-insensitive (RFC 7643 §2.1). */
function member(resource: Attributes, name: string): unknown {
  const key = Object.keys(resource).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : resource[key];
}

const same = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);

/**
 * `current` already has `desired`: equal values, where an object's members `desired` does not set
 * are the provider's (a `display` it computes from a reference's `value`, a `formatted` name), and
 * arrays match element by element, in order and in number. Member names in any letter case.
 */
function holds(desired: unknown, current: unknown): boolean {
  if (Array.isArray(desired))
    return Array.isArray(current) && desired.length === current.length && desired.every((d, i) => holds(d, current[i]));
  if (isObject(desired))
    return isObject(current) && Object.entries(desired).every(([k, v]) => isAbsent(v) || holds(v, member(current, k)));
  return same(desired, current);
}

/**
 * The operations that take a User from `current` to `desired`: one `replace` per attribute whose
 * value differs (a multi-valued attribute such as `emails` as a whole; extension attributes one
 * by one, under `<schema URN>:<name>`), then, with `removeAbsent`, one `remove` per attribute that
 * is gone. Empty when nothing differs.
 */
export function userPatchOperations(
  desired: Attributes,
  current: Attributes,
  options: PatchDiffOptions = {},
): PatchOperation[] {
  const replaces: PatchOperation[] = [];
  const removes: PatchOperation[] = [];
  diff(desired, current, '', options.removeAbsent === true, replaces, removes);
  return [...replaces, ...removes];
}

function diff(
  desired: Attributes,
  current: Attributes,
  prefix: string,
  removeAbsent: boolean,
  replaces: PatchOperation[],
  removes: PatchOperation[],
): void {
  const topLevel = prefix === '';
  const compared = (key: string) => !topLevel || !NOT_COMPARED.has(key.toLowerCase());
  for (const [key, value] of Object.entries(desired)) {
    if (!compared(key) || isAbsent(value)) continue;
    const existing = member(current, key);
    if (topLevel && isExtension(key, value)) {
      diff(value, isObject(existing) ? existing : {}, `${key}:`, removeAbsent, replaces, removes);
    } else if (!(removeAbsent ? same(value, existing) : holds(value, existing))) {
      replaces.push({ op: 'replace', path: `${prefix}${key}`, value });
    }
  }
  if (!removeAbsent) return;
  for (const [key, value] of Object.entries(current)) {
    // Present in `desired`: compared above (an extension's removals included).
    if (!compared(key) || isAbsent(value) || !isAbsent(member(desired, key))) continue;
    if (topLevel && isExtension(key, value)) diff({}, value, `${key}:`, true, replaces, removes);
    else removes.push({ op: 'remove', path: `${prefix}${key}` });
  }
}

/**
 * How a mapped user's attributes are written to a user the provider already has (the mapping's
 * `apply`, `defaultOnCreate` and `flowNull`, docs/mappings.md), as target paths such as
 * `name.givenName` or `urn:…:User:department`.
 */
export interface AttributeWrites {
  /** Written only when the user is created: left out of every update. */
  createOnly?: string[];
  /** Empty in the source and to be cleared: a `remove` when the provider's user has a value. */
  clear?: string[];
}

/** The user as an update sends it: without its create-only attributes. */
export function forUpdate(user: Attributes, writes: AttributeWrites | undefined): Attributes {
  let sent = user;
  for (const target of writes?.createOnly ?? []) {
    const path = parseTargetPath(target);
    if (path) sent = withoutPath(sent, path);
  }
  return sent;
}

/**
 * userPatchOperations for an update of an existing user from a mapped one: create-only attributes
 * are not compared, and each attribute to clear that `current` has becomes a `remove`.
 */
export function updateOperations(
  desired: Attributes,
  current: Attributes,
  writes: AttributeWrites | undefined,
): PatchOperation[] {
  const operations = userPatchOperations(forUpdate(desired, writes), current);
  for (const target of writes?.clear ?? []) {
    const path = parseTargetPath(target);
    if (path && !isAbsent(readPath(current, path))) operations.push({ op: 'remove', path: target });
  }
  return operations;
}

/** The paths the operations remove (what a PUT instead of the PATCH leaves out). */
export function removedBy(operations: readonly PatchOperation[]): string[] {
  return operations.flatMap((op) => (op.op === 'remove' && op.path ? [op.path] : []));
}

/**
 * For providers without PATCH: the full representation to PUT (current, overlaid with desired),
 * without the attributes at `removed` (the `remove` operations' paths).
 */
export function mergedForPut(desired: Attributes, current: Attributes, removed: readonly string[] = []): Attributes {
  const merged: Attributes = {};
  for (const [key, value] of Object.entries(current)) if (key !== 'meta' && key !== 'groups') merged[key] = value;
  for (const [key, value] of Object.entries(desired)) {
    if (key.toLowerCase() === 'password') continue;
    const existing = member(merged, key);
    merged[key] = isExtension(key, value) && isObject(existing) ? { ...existing, ...value } : value;
  }
  const schemas = new Set<string>([...((current.schemas as string[]) ?? []), ...((desired.schemas as string[]) ?? [])]);
  merged.schemas = [...schemas];
  let put = merged;
  for (const target of removed) {
    const path = parseTargetPath(target);
    if (path) put = withoutPath(put, path);
  }
  return put;
}

/** The body of a PATCH request. RFC 7644 requires at least one operation: none is a caller's bug. */
export function patchRequest(operations: PatchOperation[]): PatchOp {
  if (operations.length === 0) throw new Error('patchRequest: a PatchOp needs at least one operation');
  return { schemas: [URN.PatchOp], Operations: operations };
}
