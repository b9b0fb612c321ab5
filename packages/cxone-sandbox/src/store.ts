// In-memory state of the sandbox, optionally persisted to a JSON file so that a restart keeps
// users, groups, the ServiceProviderConfig, webhook subscriptions and (cxone profile) the tenant's
// roles, authenticators, teams, skills and skill assignments (tokens and bulk jobs are
// deliberately transient, as they would be after a real service restart).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TenantState } from './tenant-state';
import type { Attrs } from './validate';

export interface StoredResource {
  id: string;
  attrs: Attrs;
  created: string;
  lastModified: string;
  /** Incremented on every change; rendered as the weak ETag W/"<version>". */
  version: number;
}

export interface Subscription {
  id: string;
  url: string;
  events: string[];
  description: string;
  createdAt: string;
}

interface PersistedState {
  format: 'cxone-scim-sandbox';
  version: 1;
  users: StoredResource[];
  groups: StoredResource[];
  spc: StoredResource | null;
  subscriptions: Subscription[];
  /** cxone profile only; absent from files written before it existed. */
  tenant?: TenantState | null;
}

/** Writes are coalesced: many changes in a burst (e.g. one bulk request) cost one write. */
const SAVE_DELAY_MS = 25;

export class Store {
  readonly users = new Map<string, StoredResource>();
  readonly groups = new Map<string, StoredResource>();
  readonly subscriptions = new Map<string, Subscription>();
  spc: StoredResource | null = null;
  /** The CXone tenant's directory (cxone profile); null until the tenant seeds it. */
  tenant: TenantState | null = null;
  /** Lower-cased userName → user id (userName is unique case-insensitively). */
  private readonly userNames = new Map<string, string>();
  /** Lower-cased externalId → user ids (not unique; lower-cased so that any case rule finds a superset). */
  private readonly externalIds = new Map<string, Set<string>>();
  private saveTimer: NodeJS.Timeout | undefined;

  constructor(private readonly dataFile?: string) {
    if (dataFile && fs.existsSync(dataFile)) this.load(dataFile);
  }

  userIdByName(userName: string): string | undefined {
    return this.userNames.get(userName.toLowerCase());
  }

  /** Ids of the users whose externalId equals this one ignoring case (a superset for any case rule). */
  userIdsByExternalId(externalId: string): string[] {
    return [...(this.externalIds.get(externalId.toLowerCase()) ?? [])];
  }

  putUser(user: StoredResource): void {
    const previous = this.users.get(user.id);
    if (previous) this.unindex(previous);
    this.users.set(user.id, user);
    this.index(user);
    this.changed();
  }

  deleteUser(id: string): void {
    const user = this.users.get(id);
    if (!user) return;
    this.unindex(user);
    this.users.delete(id);
    this.changed();
  }

  private index(user: StoredResource): void {
    this.userNames.set(String(user.attrs.userName).toLowerCase(), user.id);
    const externalId = user.attrs.externalId;
    if (typeof externalId !== 'string') return;
    const key = externalId.toLowerCase();
    const ids = this.externalIds.get(key) ?? new Set<string>();
    this.externalIds.set(key, ids.add(user.id));
  }

  private unindex(user: StoredResource): void {
    this.userNames.delete(String(user.attrs.userName).toLowerCase());
    const externalId = user.attrs.externalId;
    if (typeof externalId !== 'string') return;
    const ids = this.externalIds.get(externalId.toLowerCase());
    ids?.delete(user.id);
    if (ids?.size === 0) this.externalIds.delete(externalId.toLowerCase());
  }

  /** Call after any other mutation so that the data file follows. */
  changed(): void {
    if (!this.dataFile || this.saveTimer) return;
    this.saveTimer = setTimeout(() => this.flush(), SAVE_DELAY_MS);
    this.saveTimer.unref();
  }

  flush(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    if (!this.dataFile) return;
    const state: PersistedState = {
      format: 'cxone-scim-sandbox',
      version: 1,
      users: [...this.users.values()],
      groups: [...this.groups.values()],
      spc: this.spc,
      subscriptions: [...this.subscriptions.values()],
      tenant: this.tenant,
    };
    fs.mkdirSync(path.dirname(path.resolve(this.dataFile)), { recursive: true });
    // Write then rename, so that a crash mid-write never leaves a truncated file.
    const tmp = `${this.dataFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(state));
    fs.renameSync(tmp, this.dataFile);
  }

  private load(file: string): void {
    const state = JSON.parse(fs.readFileSync(file, 'utf8')) as PersistedState;
    if (state.format !== 'cxone-scim-sandbox' || state.version !== 1) {
      throw new Error(`${file} is not a sandbox data file (format ${String(state.format)} v${String(state.version)})`);
    }
    for (const user of state.users) {
      this.users.set(user.id, user);
      this.index(user);
    }
    for (const group of state.groups) this.groups.set(group.id, group);
    for (const sub of state.subscriptions) this.subscriptions.set(sub.id, sub);
    this.spc = state.spc;
    this.tenant = state.tenant ?? null;
  }
}
