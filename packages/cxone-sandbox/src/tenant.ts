// A NICE CXone tenant (cxone profile): its roles, login authenticators, teams, skills and which
// agents have which skill, and the rules CXone applies to employees — created Pending with an
// integer agentId and a role (the tenant's `Agent` role unless one is sent), userName frozen while
// Pending, every reference (role, team, authenticator) checked. Served by tenant-routes.ts,
// changed by /admin; kept in the Store so that a data file persists it.
import { badRequest, notFound } from './errors';
import type { UserRules } from './resources';
import { NICE_USER_SCHEMA, USER_SCHEMA } from './schemas';
import type { Store } from './store';
import type { LoginAuthenticator, Role, Skill, SkillAgent, Status, Team, TenantState } from './tenant-state';
import type { Attrs } from './validate';

/** What a new tenant starts with (a persisted tenant wins). */
export interface TenantSeed {
  /** Role names; default Agent, Supervisor, Administrator. Leave out `Agent` to see creation without roles refused. */
  roles?: string[];
  /** Default `Default` (Password) and `Okta SSO` (SAML). */
  loginAuthenticators?: Array<{ name: string; authenticationType: string }>;
  /** Team names; default Default Team, Sales, Support. */
  teams?: string[];
  /** Skill names; default Sales, Support, Billing (skill ids from 101). */
  skills?: string[];
}

export const DEFAULT_TENANT_SEED: Required<TenantSeed> = {
  roles: ['Agent', 'Supervisor', 'Administrator'],
  loginAuthenticators: [
    { name: 'Default', authenticationType: 'Password' },
    { name: 'Okta SSO', authenticationType: 'SAML' },
  ],
  teams: ['Default Team', 'Sales', 'Support'],
  skills: ['Sales', 'Support', 'Billing'],
};

export const DEFAULT_ROLE = 'Agent';
export const PENDING_RENAME_DETAIL = 'userName cannot be changed while the employee is Pending';
export const PROFICIENCY = { min: 1, max: 20 };
const PAGE = { top: 100, maxTop: 1000 };

const isObject = (v: unknown): v is Attrs => typeof v === 'object' && v !== null && !Array.isArray(v);
const sameName = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
const niceOf = (user: Attrs): Attrs => (isObject(user[NICE_USER_SCHEMA]) ? (user[NICE_USER_SCHEMA] as Attrs) : {});
const withNice = (user: Attrs, nice: Attrs): Attrs => ({
  ...user,
  schemas: [USER_SCHEMA, NICE_USER_SCHEMA],
  [NICE_USER_SCHEMA]: nice,
});

/** The agentId of a stored or rendered employee. */
export const agentIdOf = (user: Attrs): number | undefined => niceOf(user).agentId as number | undefined;

function nonNegativeInteger(value: unknown, name: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = typeof value === 'string' ? Number(value) : value;
  if (!Number.isInteger(n) || (n as number) < 0) throw badRequest('invalidValue', `"${name}" must be an integer >= 0`);
  return n as number;
}

/** `skip` / `top` paging as CXone's APIs take it; `top` is capped at 1000. */
export function pageOf<T>(items: T[], paging: { skip?: unknown; top?: unknown }): T[] {
  const skip = nonNegativeInteger(paging.skip, 'skip', 0);
  const top = Math.min(PAGE.maxTop, nonNegativeInteger(paging.top, 'top', PAGE.top));
  return items.slice(skip, skip + top);
}

function requiredName(body: unknown, field: string): string {
  const value = isObject(body) ? body[field] : undefined;
  if (typeof value !== 'string' || value.trim() === '') throw badRequest('invalidValue', `"${field}" is required`);
  return value;
}

function optional<T>(body: Attrs, field: string, check: (v: unknown) => v is T, what: string): T | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (!check(value)) throw badRequest('invalidValue', `"${field}" must be ${what}`);
  return value;
}
const isStatus = (v: unknown): v is Status => v === 'Active' || v === 'Inactive';
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';

/** What tests and the admin routes may change or read of a tenant (Sandbox.tenant). */
export type TenantDirectory = Pick<
  CxoneTenant,
  | 'roles'
  | 'loginAuthenticators'
  | 'teams'
  | 'skills'
  | 'addRole'
  | 'removeRole'
  | 'addLoginAuthenticator'
  | 'addTeam'
  | 'addSkill'
  | 'skillAgents'
>;

/** Each method validates its input at run time too: the admin routes hand it request bodies. */
export class CxoneTenant implements UserRules {
  private readonly state: TenantState;

  constructor(
    private readonly store: Store,
    seed: TenantSeed = {},
  ) {
    if (!store.tenant) {
      const d = DEFAULT_TENANT_SEED;
      store.tenant = {
        roles: [],
        loginAuthenticators: [],
        teams: [],
        skills: [],
        skillAgents: {},
        nextAgentId: 1,
        nextSkillId: 101,
        nextId: 1,
      };
      this.state = store.tenant;
      for (const name of seed.roles ?? d.roles) this.addRole({ name });
      for (const authenticator of seed.loginAuthenticators ?? d.loginAuthenticators)
        this.addLoginAuthenticator(authenticator);
      for (const name of seed.teams ?? d.teams) this.addTeam({ name });
      for (const skillName of seed.skills ?? d.skills) this.addSkill({ skillName });
    }
    this.state = store.tenant;
    // A data file written by hand or by an older sandbox: agent ids keep counting after the highest one.
    for (const user of store.users.values()) {
      const agentId = agentIdOf(user.attrs) ?? 0;
      if (agentId >= this.state.nextAgentId) this.state.nextAgentId = agentId + 1;
    }
  }

  // ---- directory ----

  get roles(): readonly Role[] {
    return this.state.roles;
  }
  get loginAuthenticators(): readonly LoginAuthenticator[] {
    return this.state.loginAuthenticators;
  }
  get teams(): readonly Team[] {
    return this.state.teams;
  }
  get skills(): readonly Skill[] {
    return this.state.skills;
  }

  addRole(body: { name: string; status?: Status }): Role {
    const role: Role = {
      id: this.newId(),
      name: requiredName(body, 'name'),
      status: optional(body as Attrs, 'status', isStatus, 'Active or Inactive') ?? 'Active',
    };
    return this.added(this.state.roles, role);
  }

  removeRole(id: string): void {
    const index = this.state.roles.findIndex((r) => r.id === id);
    if (index < 0) throw notFound(`role ${id} not found`);
    this.state.roles.splice(index, 1);
    this.store.changed();
  }

  addLoginAuthenticator(body: { name: string; authenticationType: string }): LoginAuthenticator {
    const authenticator: LoginAuthenticator = {
      id: this.newId(),
      name: requiredName(body, 'name'),
      authenticationType: requiredName(body, 'authenticationType'),
    };
    return this.added(this.state.loginAuthenticators, authenticator);
  }

  addTeam(body: { name: string; status?: Status }): Team {
    const team: Team = {
      id: this.newId(),
      name: requiredName(body, 'name'),
      status: optional(body as Attrs, 'status', isStatus, 'Active or Inactive') ?? 'Active',
    };
    return this.added(this.state.teams, team);
  }

  team(id: string): Team {
    const team = this.state.teams.find((t) => t.id === id);
    if (!team) throw notFound(`team ${id} not found`);
    return team;
  }

  /** POST /user-management/v4/teams/search: `{ filter: { name? }, skip?, top? }`, the name exact ignoring case. */
  searchTeams(body: unknown): { totalRecords: number; teams: Team[] } {
    const request = body === undefined ? {} : body;
    if (!isObject(request)) throw badRequest('invalidSyntax', 'The request body must be a JSON object');
    const filter = request.filter ?? {};
    if (!isObject(filter)) throw badRequest('invalidValue', '"filter" must be an object');
    const name = optional(filter, 'name', (v): v is string => typeof v === 'string', 'a string');
    const found = this.state.teams.filter((t) => name === undefined || sameName(t.name, name));
    return { totalRecords: found.length, teams: pageOf(found, request) };
  }

  addSkill(body: { skillName: string; isActive?: boolean }): Skill {
    const skill: Skill = {
      skillId: this.state.nextSkillId++,
      skillName: requiredName(body, 'skillName'),
      isActive: optional(body as Attrs, 'isActive', isBoolean, 'a boolean') ?? true,
    };
    this.state.skillAgents[skill.skillId] = [];
    return this.added(this.state.skills, skill);
  }

  skillAgents(skillId: number | string): SkillAgent[] {
    const agents = this.state.skillAgents[String(skillId)];
    if (!/^\d+$/.test(String(skillId)) || !agents) throw notFound(`skill ${skillId} not found`);
    return agents;
  }

  /**
   * POST /skills/{skillId}/agents: assigns or updates each agent's skill, answering per agent. A
   * body that is not `{ agents: [{ agentId: <integer>, … }] }` is refused as a whole (400).
   */
  assignSkill(skillId: string, body: unknown): { agentResults: Attrs[] } {
    const agents = this.skillAgents(skillId);
    const items = isObject(body) ? body.agents : undefined;
    if (!Array.isArray(items)) throw badRequest('invalidValue', '"agents" must be an array');
    items.forEach((item, i) => {
      if (!isObject(item) || !Number.isInteger(item.agentId))
        throw badRequest('invalidValue', `agents[${i}].agentId must be an integer`);
    });
    const known = new Set([...this.store.users.values()].map((u) => agentIdOf(u.attrs)));
    const agentResults = (items as Attrs[]).map((item) => {
      const agentId = item.agentId as number;
      const current = agents.find((a) => a.agentId === agentId);
      const error = this.assignmentError(item, known, current);
      if (error) return { agentId, success: false, error };
      const proficiency = (item.proficiency as number | undefined) ?? (current as SkillAgent).proficiency;
      const isActive = (item.isActive as boolean | undefined) ?? current?.isActive ?? true;
      if (current) Object.assign(current, { proficiency, isActive });
      else agents.push({ agentId, proficiency, isActive });
      return { agentId, success: true };
    });
    this.store.changed();
    return { agentResults };
  }

  private assignmentError(item: Attrs, known: Set<unknown>, current: SkillAgent | undefined): string | undefined {
    const { agentId, proficiency, isActive } = item;
    if (!known.has(agentId)) return `agent ${agentId} does not exist`;
    const { min, max } = PROFICIENCY;
    if (proficiency === undefined && !current) return `proficiency (${min}..${max}) is required for a new assignment`;
    if (
      proficiency !== undefined &&
      (!Number.isInteger(proficiency) || (proficiency as number) < min || (proficiency as number) > max)
    )
      return `proficiency must be an integer from ${min} to ${max}`;
    if (isActive !== undefined && typeof isActive !== 'boolean') return 'isActive must be a boolean';
    return undefined;
  }

  unassignSkill(skillId: string, agentId: string): void {
    const agents = this.skillAgents(skillId);
    const index = agents.findIndex((a) => String(a.agentId) === agentId);
    if (index < 0) throw notFound(`agent ${agentId} does not have skill ${skillId}`);
    agents.splice(index, 1);
    this.store.changed();
  }

  // ---- employees (UserRules) ----

  /** CXone replaces the whole employee: a PUT carries id (this one), userName, name, emails and active. */
  checkReplace(body: unknown, id: string): void {
    if (!isObject(body)) return; // schema validation names the problem
    const value = (name: string) => Object.entries(body).find(([key]) => sameName(key, name))?.[1];
    const missing = ['id', 'userName', 'name', 'emails', 'active'].filter((name) => value(name) == null);
    if (missing.length > 0)
      throw badRequest('invalidValue', `A PUT must carry ${missing.map((m) => `"${m}"`).join(', ')}`);
    if (value('id') !== id) throw badRequest('invalidValue', `"id" ${JSON.stringify(value('id'))} is not ${id}`);
  }

  create(user: Attrs): Attrs {
    this.checkReferences(user);
    let roles = user.roles;
    if (roles === undefined) {
      const role = this.state.roles.find((r) => sameName(r.name, DEFAULT_ROLE));
      if (!role)
        throw badRequest(
          'invalidValue',
          `A role is required: send "roles", as this tenant has no default role named ${DEFAULT_ROLE}`,
        );
      roles = [{ value: role.id, primary: true }];
    }
    const nice = { ...niceOf(user), agentId: this.state.nextAgentId++, status: 'Pending' };
    this.store.changed();
    return withNice({ ...user, active: user.active ?? true, roles }, nice);
  }

  update(current: Attrs, next: Attrs): Attrs {
    const { agentId, status } = niceOf(current);
    if (status === 'Pending' && next.userName !== current.userName)
      throw badRequest('mutability', PENDING_RENAME_DETAIL);
    this.checkReferences(next);
    // An employee always has a role: a change that leaves none keeps the current ones.
    return withNice({ ...next, roles: next.roles ?? current.roles }, { ...niceOf(next), agentId, status });
  }

  activated(user: Attrs): Attrs {
    return withNice(user, { ...niceOf(user), status: 'Active' });
  }

  /** Names of the referenced role, team and authenticator as `display` (never stored: they follow renames). */
  render(user: Attrs): Attrs {
    const nice = niceOf(user);
    const named = (ref: unknown, list: readonly { id: string; name: string }[]) => {
      const value = (ref as Attrs).value;
      const name = list.find((x) => x.id === value)?.name;
      return { value, ...(name !== undefined ? { display: name } : {}) };
    };
    const out: Attrs = { ...user };
    if (Array.isArray(user.roles))
      out.roles = (user.roles as Attrs[]).map((role) => ({
        ...named(role, this.state.roles),
        ...(role.primary !== undefined ? { primary: role.primary } : {}),
      }));
    if (Object.keys(nice).length > 0) {
      out[NICE_USER_SCHEMA] = {
        ...nice,
        ...(nice.team ? { team: named(nice.team, this.state.teams) } : {}),
        ...(nice.loginAuthenticator
          ? { loginAuthenticator: named(nice.loginAuthenticator, this.state.loginAuthenticators) }
          : {}),
      };
    }
    return out;
  }

  private checkReferences(user: Attrs): void {
    const nice = niceOf(user);
    const problems: string[] = [];
    const check = (ref: unknown, list: readonly { id: string }[], path: string, what: string) => {
      const value = (ref as Attrs | undefined)?.value;
      if (ref !== undefined && !list.some((x) => x.id === value))
        problems.push(`${path}.value: no ${what} with id ${JSON.stringify(value)}`);
    };
    ((user.roles as Attrs[] | undefined) ?? []).forEach((role, i) =>
      check(role, this.state.roles, `roles[${i}]`, 'role'),
    );
    check(nice.team, this.state.teams, `${NICE_USER_SCHEMA}:team`, 'team');
    check(
      nice.loginAuthenticator,
      this.state.loginAuthenticators,
      `${NICE_USER_SCHEMA}:loginAuthenticator`,
      'login authenticator',
    );
    if (problems.length > 0) throw badRequest('invalidValue', problems.join('; '));
  }

  private newId(): string {
    return String(this.state.nextId++);
  }

  private added<T>(list: T[], item: T): T {
    list.push(item);
    this.store.changed();
    return item;
  }
}
