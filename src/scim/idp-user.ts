// How a CXone user becomes a user at the external identity provider's SCIM endpoint, and which
// PATCH operations bring the IdP from one CXone snapshot to the next. Pure (safe in workflows).
import { canonicalJson } from './canonical';
import { URN } from './urns';

export type ScimUser = Record<string, unknown>;

export interface PatchOperation {
  op: 'add' | 'replace' | 'remove';
  path?: string;
  value?: unknown;
}

/**
 * Attributes that belong to CXone's copy only: its `id` and `meta`, the read-only `groups`
 * (membership lives on Group resources) and `password` (never forwarded).
 */
const NOT_SYNCED = new Set(['id', 'meta', 'groups', 'password', 'schemas', 'externalId']);

/** The IdP's copy of a CXone user: CXone's attributes, with `externalId` = the CXone user id. */
export function toIdpUser(cxoneUserId: string, user: ScimUser): ScimUser {
  const out: ScimUser = {
    schemas: Array.isArray(user.schemas) && user.schemas.length > 0 ? user.schemas : [URN.User],
    externalId: cxoneUserId,
  };
  for (const [key, value] of Object.entries(user)) {
    if (!NOT_SYNCED.has(key) && value !== undefined && value !== null) out[key] = value;
  }
  return out;
}

/**
 * The PATCH operations (RFC 7644 §3.5.2) that take the IdP from `previous` to `next`: one
 * path-less `replace` with every changed attribute, and a `remove` per attribute that is gone.
 * Without a previous snapshot, every attribute is replaced. Empty when nothing changed.
 * Removal of a whole extension (a URN-named attribute) is written as replacing it with `{}`.
 */
export function userPatchOperations(cxoneUserId: string, previous: ScimUser | undefined, next: ScimUser): PatchOperation[] {
  const after = toIdpUser(cxoneUserId, next);
  delete after.schemas;
  if (previous === undefined) return [{ op: 'replace', value: after }];
  const before = toIdpUser(cxoneUserId, previous);
  delete before.schemas;

  const changed: ScimUser = {};
  for (const [key, value] of Object.entries(after)) {
    if (canonicalJson(value) !== canonicalJson(before[key])) changed[key] = value;
  }
  const ops: PatchOperation[] = [];
  for (const key of Object.keys(before)) {
    if (key in after) continue;
    if (key.startsWith('urn:')) changed[key] = {};
    else ops.push({ op: 'remove', path: key });
  }
  if (Object.keys(changed).length > 0) ops.unshift({ op: 'replace', value: changed });
  return ops;
}

export { filterString } from './filter';
