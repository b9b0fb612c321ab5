// How a CXone user becomes a user at the external identity provider's SCIM endpoint, and which
// PATCH operations bring the IdP from one CXone snapshot to the next. Pure (safe in workflows).
import { userPatchOperations, type PatchOperation } from './patch';
import { NICE_USER_EXTENSION, URN } from './urns';

export type ScimUser = Record<string, unknown>;

/**
 * Attributes that belong to CXone's copy only: its `id` and `meta`, the read-only `groups`
 * (membership lives on Group resources) and `password` (never forwarded).
 */
const NOT_SYNCED = new Set(['id', 'meta', 'groups', 'password', 'schemas', 'externalId']);

/**
 * CXone's own extension (agentId, Pending/Active status, team and login authenticator ids) means
 * nothing to an identity provider, which refuses a schema it does not know (RFC 7644 §3.3: 400).
 */
const CXONE_ONLY_SCHEMAS = new Set<unknown>([NICE_USER_EXTENSION]);

/** The IdP's copy of a CXone user: CXone's attributes, with `externalId` = the CXone user id. */
export function toIdpUser(cxoneUserId: string, user: ScimUser): ScimUser {
  const schemas = Array.isArray(user.schemas) ? user.schemas.filter((s) => !CXONE_ONLY_SCHEMAS.has(s)) : [];
  const out: ScimUser = { schemas: schemas.length > 0 ? schemas : [URN.User], externalId: cxoneUserId };
  for (const [key, value] of Object.entries(user)) {
    if (!NOT_SYNCED.has(key) && !CXONE_ONLY_SCHEMAS.has(key) && value !== undefined && value !== null) out[key] = value;
  }
  return out;
}

/**
 * The PATCH operations that take the IdP's copy from CXone snapshot `previous` to `next`:
 * what changed is replaced, what is gone is removed. Without a previous snapshot, every attribute
 * is set. Empty when nothing changed.
 */
export function idpPatchOperations(
  cxoneUserId: string,
  previous: ScimUser | undefined,
  next: ScimUser,
): PatchOperation[] {
  const before = previous === undefined ? {} : toIdpUser(cxoneUserId, previous);
  return userPatchOperations(toIdpUser(cxoneUserId, next), before, { removeAbsent: true });
}
