// In-memory state of the sandbox, optionally persisted to a JSON file so that a restart keeps
// users, groups, the ServiceProviderConfig and webhook subscriptions (tokens and bulk jobs are
// deliberately transient, as they would be after a real service restart).
import * as fs from 'node:fs';
import * as path from 'node:path';
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
}

/** Writes are coalesced: many changes in a burst (e.g. one bulk request) cost one write. */
const SAVE_DELAY_MS = 25;

export class Store {
  readonly users = new Map<string, StoredResource>();
  readonly groups = new Map<string, StoredResource>();
  readonly subscriptions = new Map<string, Subscription>();
  spc: StoredResource | null = null;
  /** Lower-cased userName → user id (userName is unique case-insensitively). */
  private readonly userNames = new Map<string, string>();
  private saveTimer: NodeJS.Timeout | undefined;

  constructor(private readonly dataFile?: string) {
    if (dataFile && fs.existsSync(dataFile)) this.load(dataFile);
  }

  userIdByName(userName: string): string | undefined {
    return this.userNames.get(userName.toLowerCase());
  }

  putUser(user: StoredResource): void {
    const previous = this.users.get(user.id);
    if (previous) this.userNames.delete(String(previous.attrs.userName).toLowerCase());
    this.users.set(user.id, user);
    this.userNames.set(String(user.attrs.userName).toLowerCase(), user.id);
    this.changed();
  }

  deleteUser(id: string): void {
    const user = this.users.get(id);
    if (!user) return;
    this.userNames.delete(String(user.attrs.userName).toLowerCase());
    this.users.delete(id);
    this.changed();
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
      this.userNames.set(String(user.attrs.userName).toLowerCase(), user.id);
    }
    for (const group of state.groups) this.groups.set(group.id, group);
    for (const sub of state.subscriptions) this.subscriptions.set(sub.id, sub);
    this.spc = state.spc;
  }
}
