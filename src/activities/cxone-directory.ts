// Records fitted to the tenant before they are validated: CXone's roles, team and login
// authenticator given by name resolved to ids (src/scim/cxone-references.ts), and attribute names
// spelled as the tenant's /Schemas declares them (`timeZone`). The tenant's lists are read through
// the CXone adapter once per run, each only when the first record that names one needs it; a list
// the tenant cannot give (no such API, an unexpected answer, a refusal) makes each record that
// needs it a per-record error saying why, and nothing of that record is sent.
import { ScimHttpError, type ScimClient } from '../http';
import { CxoneAdmin, CxoneAdminShapeError, isMissingApi, type CxoneAdminPaths } from '../http/cxone-admin';
import {
  directoryList,
  listsNeeded,
  resolveReferences,
  type CxoneDirectory,
  type DirectoryEntry,
  type DirectoryList,
  type ReferenceKind,
} from '../scim/cxone-references';
import { userNameOf, withDeclaredNames, type UserSchemaModel } from '../scim/user-validation';
import { scimClientFor, type ActivityDeps } from './deps';
import { untilDeadline } from './provider/until-deadline';
import { attemptDeadline } from './provider/attribute-finder';
import type { MappedRecord } from './sources/user-source';

/** A record after fitting: a failed one keeps its userName for the report. */
export type FittedRecord = MappedRecord & { userName?: string };

/** Per tenant, the CXone adapter with the tenant's path overrides (`cxoneAdminPaths`). */
export function cxoneAdminFor(
  deps: ActivityDeps,
  tenant: string,
  client: ScimClient,
  options: { onRequest?: () => void; call?: <T>(request: () => Promise<T>) => Promise<T> } = {},
): CxoneAdmin {
  const paths = deps.tenants.get(tenant).cxoneAdminPaths;
  return new CxoneAdmin(client, { ...(paths ? { paths } : {}), ...options });
}

const PATH_OF: Record<ReferenceKind, keyof CxoneAdminPaths> = {
  roles: 'roles',
  teams: 'teamSearch',
  loginAuthenticators: 'loginAuthenticators',
};

export class TenantFitter {
  readonly #deps: ActivityDeps;
  readonly #tenant: string;
  readonly #model: UserSchemaModel;
  readonly #lists = new Map<ReferenceKind, Promise<DirectoryList>>();
  #admin: CxoneAdmin | undefined;
  /** Requests made to read the tenant's lists. */
  requests = 0;

  constructor(deps: ActivityDeps, tenant: string, model: UserSchemaModel) {
    this.#deps = deps;
    this.#tenant = tenant;
    this.#model = model;
  }

  /** The record with its names resolved and its attribute names respelled, or its problems. */
  async fit(record: MappedRecord): Promise<FittedRecord> {
    if ('problems' in record) return record;
    const needed = listsNeeded(record.user);
    const directory: CxoneDirectory = {};
    for (const kind of needed) directory[kind] = await this.#list(kind);
    const resolved =
      needed.size > 0 ? resolveReferences(record.user, directory) : { ok: true as const, user: record.user };
    const line = record.line !== undefined ? { line: record.line } : {};
    if (!resolved.ok) {
      const userName = userNameOf(record.user);
      return { problems: resolved.problems, ...line, ...(userName ? { userName } : {}) };
    }
    return { user: withDeclaredNames(this.#model, resolved.user), ...line };
  }

  /** One list, read once (concurrent callers share the read). */
  #list(kind: ReferenceKind): Promise<DirectoryList> {
    let list = this.#lists.get(kind);
    if (!list) {
      list = this.#read(kind);
      this.#lists.set(kind, list);
      // A failed read (a transient fault past this attempt's window) is not kept: the activity fails and is retried.
      list.catch(() => this.#lists.delete(kind));
    }
    return list;
  }

  async #read(kind: ReferenceKind): Promise<DirectoryList> {
    const until = attemptDeadline();
    this.#admin ??= cxoneAdminFor(this.#deps, this.#tenant, scimClientFor(this.#deps, this.#tenant), {
      onRequest: () => this.requests++,
      call: (request) => untilDeadline(until, request),
    });
    const admin = this.#admin;
    const path = `cxoneAdminPaths.${PATH_OF[kind]}`;
    try {
      const entries: DirectoryEntry[] =
        kind === 'roles'
          ? await admin.listRoles()
          : kind === 'teams'
            ? await admin.listTeams()
            : await admin.listLoginAuthenticators();
      return directoryList(entries);
    } catch (err) {
      if (isMissingApi(err))
        return {
          unavailable: `the tenant has no such API (${err.method} ${err.path} answered ${err.status}); give the id in value, or set ${path}`,
        };
      if (err instanceof CxoneAdminShapeError) return { unavailable: `${err.message} (check ${path})` };
      if (err instanceof ScimHttpError && err.status < 500 && err.status !== 429) return { unavailable: err.message };
      throw err;
    }
  }
}
