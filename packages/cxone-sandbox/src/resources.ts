// Users and Groups: the behaviour behind /Users, /Groups, /Bulk and the console-simulation admin
// endpoints. Works on the Store, throws ScimHttpError, and reports user lifecycle changes.
import { randomUUID } from 'node:crypto';
import {
  patchBodyValidation,
  ScimError as PatchError,
  scimPatch,
  type ScimPatch,
  type ScimPatchOperation,
  type ScimResource,
} from 'scim-patch';
import { badRequest, notFound, ScimHttpError } from './errors';
import { checkIfMatch, etagOf } from './etag';
import type { Filter } from 'scim2-parse-filter';
import { compileFilter, parseFilter } from './query';
import { type ResourceKind, resourceTypes, resolvePath, type ResourceTypeDefinition, findSchema } from './schemas';
import type { Store, StoredResource } from './store';
import { type Attrs, normalizeResource } from './validate';

export type UserEventType = 'USER_CREATED' | 'USER_UPDATED' | 'USER_DEACTIVATED';
export const USER_EVENT_TYPES: UserEventType[] = ['USER_CREATED', 'USER_UPDATED', 'USER_DEACTIVATED'];

export interface ListQuery {
  filter?: string;
  /** Compare strings exactly, even userName (the filterMode switch). */
  caseExact?: boolean;
  /** Refuse (400 invalidFilter) anything but one `attribute eq value` (the filterMode switch). */
  eqOnly?: boolean;
  /** 1-based. */
  startIndex: number;
  count: number;
}

export interface ListResult {
  totalResults: number;
  resources: Attrs[];
}

/** A provider's own rules for users, applied after schema validation (the cxone profile's tenant.ts). */
export interface UserRules {
  /** Refuses a PUT body the provider does not take as a replacement (before validation). */
  checkReplace(body: unknown, id: string): void;
  /** The stored form of a new user. */
  create(user: Attrs): Attrs;
  /** The stored form of a change (PUT, PATCH or console edit) of `current` into `next`. */
  update(current: Attrs, next: Attrs): Attrs;
  /** Adds computed values to a rendered user (a copy: nested values of `user` are shared with the store). */
  render(user: Attrs): Attrs;
}

export interface ResourcesOptions {
  store: Store;
  scimBaseUrl: () => string;
  onUserEvent: (type: UserEventType, user: Attrs) => void;
  /** The profile's resource types (schemas to validate against). Default: every feature. */
  types?: Record<ResourceKind, ResourceTypeDefinition>;
  userRules?: UserRules;
}

interface GroupRef {
  value: string;
  $ref: string;
  display: string;
  type: 'direct';
}

const clone = <T>(v: T): T => structuredClone(v);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export class Resources {
  private readonly store: Store;
  /** Where the last unfiltered listing stopped (see unfilteredPage). */
  #listingCursor?: { map: Map<string, StoredResource>; iterator: Iterator<StoredResource>; next: number; size: number };
  /** user id → the groups listing it; rebuilt lazily after any group or user deletion. */
  private membership: Map<string, GroupRef[]> | undefined;

  private readonly types: Record<ResourceKind, ResourceTypeDefinition>;

  constructor(private readonly options: ResourcesOptions) {
    this.store = options.store;
    this.types = options.types ?? resourceTypes;
  }

  // ---- reads ----

  get(kind: ResourceKind, id: string): Attrs {
    return this.render(kind, this.require(kind, id));
  }

  list(kind: ResourceKind, query: ListQuery): ListResult {
    const type = this.types[kind];
    const startIndex = Math.max(1, query.startIndex);
    if (query.filter === undefined)
      return { totalResults: this.map(kind).size, resources: this.unfilteredPage(kind, startIndex, query.count) };
    const ast = parseFilter(type, query.filter);
    if (query.eqOnly && ast.op !== 'eq')
      throw badRequest(
        'invalidFilter',
        `Unsupported filter ${JSON.stringify(query.filter)}: only a single "attribute eq value" comparison is supported`,
      );
    // What provisioning clients send all the time (`userName eq`, `externalId eq`, or both joined
    // by `or`) is answered from the indexes; the filter itself still decides among those candidates.
    const indexed = kind === 'User' ? this.indexedUsers(ast) : undefined;
    const candidates = indexed
      ? [...indexed].map((id) => this.store.users.get(id) as StoredResource)
      : [...this.map(kind).values()];
    const matches = compileFilter(type, ast, query.caseExact);
    const found = candidates.map((r) => this.render(kind, r)).filter(matches);
    return {
      totalResults: found.length,
      resources: found.slice(startIndex - 1, startIndex - 1 + Math.max(0, query.count)),
    };
  }

  /** Ids of every user the filter could match (a superset), when the indexes can tell; else undefined. */
  private indexedUsers(ast: Filter): Set<string> | undefined {
    if (ast.op === 'or') {
      const all = new Set<string>();
      for (const part of ast.filters) {
        const ids = this.indexedUsers(part);
        if (!ids) return undefined;
        for (const id of ids) all.add(id);
      }
      return all;
    }
    if (ast.op !== 'eq' || typeof ast.compValue !== 'string') return undefined;
    const attribute = ast.attrPath.toLowerCase();
    if (attribute === 'username') {
      const id = this.store.userIdByName(ast.compValue);
      return new Set(id ? [id] : []);
    }
    return attribute === 'externalid' ? new Set(this.store.userIdsByExternalId(ast.compValue)) : undefined;
  }

  count(kind: ResourceKind): number {
    return this.map(kind).size;
  }

  // ---- writes ----

  create(kind: ResourceKind, body: unknown): Attrs {
    const valid = this.normalize(kind, body);
    const id = randomUUID();
    this.checkUnique(kind, valid, id);
    const rules = this.rulesFor(kind);
    const attrs = rules ? rules.create(valid) : valid;
    const now = new Date().toISOString();
    const stored: StoredResource = { id, attrs, created: now, lastModified: now, version: 1 };
    this.save(kind, stored);
    const rendered = this.render(kind, stored);
    if (kind === 'User') this.options.onUserEvent('USER_CREATED', rendered);
    return rendered;
  }

  replace(kind: ResourceKind, id: string, body: unknown, ifMatch?: string): Attrs {
    const current = this.require(kind, id);
    checkIfMatch(ifMatch, current.version);
    this.rulesFor(kind)?.checkReplace(body, id);
    return this.commit(kind, current, this.applyRules(kind, current, this.normalize(kind, body, id)));
  }

  /** RFC 7644 §3.5.2: the operations apply to a copy, which is stored only if all succeed. */
  patch(kind: ResourceKind, id: string, body: unknown, ifMatch?: string): Attrs {
    const current = this.require(kind, id);
    checkIfMatch(ifMatch, current.version);
    const type = this.types[kind];
    const request = body as ScimPatch;
    try {
      patchBodyValidation(request);
    } catch (err) {
      throw patchError(err);
    }
    const operations = request.Operations.map((op) => checkPatchPath(type, op));
    let patched: Attrs;
    // treatMissingAsAdd off: a value filter that matches nothing is noTarget (RFC 7644 §3.5.2.3).
    try {
      const doc = { ...clone(current.attrs), meta: {} } as unknown as ScimResource;
      patched = scimPatch(doc, operations, {
        mutateDocument: true,
        treatMissingAsAdd: false,
      }) as unknown as Attrs;
    } catch (err) {
      throw patchError(err);
    }
    return this.commit(kind, current, this.applyRules(kind, current, this.normalize(kind, patched, id)));
  }

  remove(kind: ResourceKind, id: string, ifMatch?: string): void {
    const current = this.require(kind, id);
    checkIfMatch(ifMatch, current.version);
    const snapshot = kind === 'User' ? this.render(kind, current) : undefined;
    if (kind === 'User') {
      this.store.deleteUser(id);
      this.dropMember(id);
    } else {
      this.store.groups.delete(id);
      this.dropMember(id);
      this.store.changed();
    }
    this.membership = undefined;
    // CXone does not erase agents: a deleted user is, for subscribers, a deactivated one.
    if (snapshot) this.options.onUserEvent('USER_DEACTIVATED', { ...snapshot, active: false });
  }

  /** Console-style edit: top-level attributes of `changes` replace the user's (null removes one). */
  merge(id: string, changes: Attrs): Attrs {
    const current = this.require('User', id);
    const merged = { ...clone(current.attrs), ...changes, schemas: changes.schemas ?? current.attrs.schemas };
    return this.commit('User', current, this.applyRules('User', current, this.normalize('User', merged, id)));
  }

  /** A change the provider makes itself (e.g. activating a CXone employee): no validation, no rules. */
  rewrite(id: string, change: (attrs: Attrs) => Attrs): Attrs {
    const current = this.require('User', id);
    return this.commit('User', current, change(clone(current.attrs)));
  }

  // ---- internals ----

  private rulesFor(kind: ResourceKind): UserRules | undefined {
    return kind === 'User' ? this.options.userRules : undefined;
  }

  /** The stored form of a validated change, after the provider's rules. */
  private applyRules(kind: ResourceKind, current: StoredResource, next: Attrs): Attrs {
    return this.rulesFor(kind)?.update(current.attrs, next) ?? next;
  }

  /**
   * One page of every resource, in insertion order, without copying them all for each page (a
   * million-user listing was quadratic). A listing that asks for the page after the last one continues
   * the same iterator; any other request, or a change in the number of resources, walks from the start.
   */
  private unfilteredPage(kind: ResourceKind, startIndex: number, count: number): Attrs[] {
    const map = this.map(kind);
    const from = startIndex - 1;
    const wanted = Math.max(0, count);
    let cursor = this.#listingCursor;
    if (!cursor || cursor.map !== map || cursor.next !== from || cursor.size !== map.size) {
      const iterator = map.values();
      for (let i = 0; i < from && !iterator.next().done; i++);
      cursor = { map, iterator, next: from, size: map.size };
    }
    const out: Attrs[] = [];
    while (out.length < wanted) {
      const step = cursor.iterator.next();
      if (step.done) break;
      out.push(this.render(kind, step.value));
    }
    cursor.next = from + out.length;
    this.#listingCursor = cursor;
    return out;
  }

  private map(kind: ResourceKind): Map<string, StoredResource> {
    return kind === 'User' ? this.store.users : this.store.groups;
  }

  private require(kind: ResourceKind, id: string): StoredResource {
    const found = this.map(kind).get(id);
    if (!found) throw notFound(`${kind} ${id} not found`);
    return found;
  }

  private normalize(kind: ResourceKind, body: unknown, selfId?: string): Attrs {
    const attrs = normalizeResource(this.types[kind], body);
    if (kind === 'Group') attrs.members = this.normalizeMembers(attrs.members, selfId);
    if (attrs.members === undefined) delete attrs.members;
    return attrs;
  }

  /** Members must exist; `type` is derived, `display` and `$ref` are computed when rendering. */
  private normalizeMembers(members: unknown, selfId?: string): Attrs[] | undefined {
    if (!Array.isArray(members)) return undefined;
    const byId = new Map<string, Attrs>();
    for (const member of members as Attrs[]) {
      const value = member.value as string;
      const type = this.store.users.has(value)
        ? 'User'
        : this.store.groups.has(value) && value !== selfId
          ? 'Group'
          : undefined;
      if (!type) throw badRequest('invalidValue', `members: no User or Group with id "${value}"`);
      if (member.type !== undefined && member.type !== type) {
        throw badRequest('invalidValue', `members: "${value}" is a ${type}, not a ${String(member.type)}`);
      }
      byId.set(value, { value, type });
    }
    return byId.size > 0 ? [...byId.values()] : undefined;
  }

  private checkUnique(kind: ResourceKind, attrs: Attrs, id: string): void {
    if (kind !== 'User') return;
    const owner = this.store.userIdByName(attrs.userName as string);
    if (owner !== undefined && owner !== id) {
      throw new ScimHttpError(409, `userName "${String(attrs.userName)}" is already taken`, 'uniqueness');
    }
  }

  private commit(kind: ResourceKind, current: StoredResource, attrs: Attrs): Attrs {
    if (same(attrs, current.attrs)) return this.render(kind, current);
    this.checkUnique(kind, attrs, current.id);
    const wasActive = current.attrs.active !== false;
    const updated: StoredResource = {
      ...current,
      attrs,
      lastModified: new Date().toISOString(),
      version: current.version + 1,
    };
    this.save(kind, updated);
    const rendered = this.render(kind, updated);
    if (kind === 'User') {
      this.options.onUserEvent(wasActive && attrs.active === false ? 'USER_DEACTIVATED' : 'USER_UPDATED', rendered);
    }
    return rendered;
  }

  private save(kind: ResourceKind, stored: StoredResource): void {
    if (kind === 'User') this.store.putUser(stored);
    else {
      this.store.groups.set(stored.id, stored);
      this.store.changed();
      this.membership = undefined;
    }
  }

  /** Removes a deleted user or group from every group listing it. */
  private dropMember(id: string): void {
    for (const group of this.store.groups.values()) {
      const members = group.attrs.members as Attrs[] | undefined;
      if (!members?.some((m) => m.value === id)) continue;
      const rest = members.filter((m) => m.value !== id);
      const attrs: Attrs = { ...group.attrs, members: rest };
      if (rest.length === 0) delete attrs.members;
      this.save('Group', { ...group, attrs, lastModified: new Date().toISOString(), version: group.version + 1 });
    }
  }

  private location(kind: ResourceKind, id: string): string {
    return `${this.options.scimBaseUrl()}${this.types[kind].endpoint}/${id}`;
  }

  private groupsOf(userId: string): GroupRef[] {
    if (!this.membership) {
      this.membership = new Map();
      for (const group of this.store.groups.values()) {
        for (const member of (group.attrs.members as Attrs[] | undefined) ?? []) {
          const refs = this.membership.get(member.value as string) ?? [];
          refs.push({
            value: group.id,
            $ref: this.location('Group', group.id),
            display: String(group.attrs.displayName),
            type: 'direct',
          });
          this.membership.set(member.value as string, refs);
        }
      }
    }
    return this.membership.get(userId) ?? [];
  }

  private render(kind: ResourceKind, stored: StoredResource): Attrs {
    const { schemas, password: _never, ...attrs } = stored.attrs;
    const out: Attrs = { schemas, id: stored.id, ...attrs };
    if (kind === 'User') {
      const groups = this.groupsOf(stored.id);
      if (groups.length > 0) out.groups = groups;
    } else if (Array.isArray(attrs.members)) {
      out.members = (attrs.members as Attrs[]).map((m) => this.renderMember(m));
    }
    out.meta = {
      resourceType: kind,
      created: stored.created,
      lastModified: stored.lastModified,
      location: this.location(kind, stored.id),
      version: etagOf(stored.version),
    };
    return this.rulesFor(kind)?.render(out) ?? out;
  }

  private renderMember(member: Attrs): Attrs {
    const id = member.value as string;
    const kind = member.type as ResourceKind;
    const target = this.map(kind).get(id)?.attrs;
    const display = kind === 'User' ? (target?.displayName ?? target?.userName) : target?.displayName;
    return { value: id, $ref: this.location(kind, id), type: kind, ...(display !== undefined ? { display } : {}) };
  }
}

/**
 * Rejects paths that name unknown or read-only attributes before anything is applied, and spells
 * a core attribute's name as its schema does (names are case-insensitive, RFC 7643 §2.1: a PATCH of
 * `timezone` must change the stored `timeZone`, not add a second attribute).
 */
function checkPatchPath(type: ResourceTypeDefinition, op: ScimPatchOperation): ScimPatchOperation {
  if (!op.path) return op;
  const attrPath = op.path.replace(/\[[^\]]*\]/g, '');
  if (findSchema(type, attrPath)) return op; // a whole extension, e.g. `urn:…:enterprise:2.0:User`
  const resolved = resolvePath(type, attrPath);
  if (!resolved) throw badRequest('invalidPath', `PATCH path "${op.path}" names no attribute of ${type.kind}`);
  const target = resolved.sub ?? resolved.attribute;
  if (resolved.attribute.mutability === 'readOnly' || target.mutability === 'readOnly') {
    throw badRequest('mutability', `PATCH path "${op.path}": attribute is read-only`);
  }
  const top = /^[^.[]+/.exec(op.path)?.[0] ?? '';
  const canonical = resolved.attribute.name;
  if (resolved.extension || top === canonical || top.toLowerCase() !== canonical.toLowerCase()) return op;
  return { ...op, path: `${canonical}${op.path.slice(top.length)}` } as ScimPatchOperation;
}

function patchError(err: unknown): ScimHttpError {
  if (err instanceof ScimHttpError) return err;
  if (err instanceof PatchError) return new ScimHttpError(400, err.message, err.scimCode ?? 'invalidValue');
  return new ScimHttpError(400, `Invalid PATCH request: ${(err as Error).message}`, 'invalidSyntax');
}
