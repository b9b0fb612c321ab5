// CXone's skills (admin API), teams and roles (user-management API) and login authenticators
// (authentication API) for one tenant, behind one small
// adapter: the shapes NICE publishes are likely, not certain, so every path can be overridden per
// tenant. Requests go through the tenant's ScimClient (same API base and token as SCIM, the
// tenant's request gate, one token refresh on 401, typed errors), with JSON content types.
import * as t from 'io-ts';
import { decode, formatIssues } from '../core/decode';
import { ScimHttpError } from './errors';
import type { ScimClient, ScimMethod, ScimRequestOptions } from './scim-client';

/** Paths relative to the tenant's API base; `{skillId}`, `{agentId}`, `{teamId}` are filled in. */
export interface CxoneAdminPaths {
  skills: string;
  skillAgents: string;
  skillAgent: string;
  teamSearch: string;
  team: string;
  roles: string;
  loginAuthenticators: string;
}

export const DEFAULT_CXONE_ADMIN_PATHS: CxoneAdminPaths = {
  skills: '/skills',
  skillAgents: '/skills/{skillId}/agents',
  skillAgent: '/skills/{skillId}/agents/{agentId}',
  teamSearch: '/user-management/v4/teams/search',
  team: '/user-management/v3/teams/{teamId}',
  roles: '/user-management/v1/roles',
  loginAuthenticators: '/authentication/v1/login-authenticators',
};

export interface CxoneAdminOptions {
  /** A tenant's overrides of DEFAULT_CXONE_ADMIN_PATHS. */
  paths?: Partial<CxoneAdminPaths>;
  /** `top` of each page. Default 100. */
  pageSize?: number;
  /** Counts each request sent (for the run's report). */
  onRequest?: () => void;
  /** Wraps every request (e.g. retries 429, 5xx and outages until the run's deadline). */
  call?: <T>(request: () => Promise<T>) => Promise<T>;
}

const Skill = t.intersection([t.type({ skillId: t.number, skillName: t.string }), t.partial({ isActive: t.boolean })]);
const SkillAgent = t.intersection([
  t.type({ agentId: t.number }),
  t.partial({ proficiency: t.number, isActive: t.boolean }),
]);
const Team = t.intersection([t.type({ id: t.string, name: t.string }), t.partial({ status: t.string })]);
const Role = Team;
const LoginAuthenticator = t.intersection([
  t.type({ id: t.string, name: t.string }),
  t.partial({ authenticationType: t.string }),
]);
const AgentResult = t.intersection([
  t.type({ agentId: t.number, success: t.boolean }),
  t.partial({ error: t.union([t.string, t.null]) }),
]);
const Page = <C extends t.Mixed>(member: string, item: C) =>
  t.intersection([t.type({ [member]: t.array(item) }), t.partial({ totalRecords: t.number })]);

export type CxoneSkill = t.TypeOf<typeof Skill>;
export type CxoneSkillAgent = t.TypeOf<typeof SkillAgent>;
export type CxoneTeam = t.TypeOf<typeof Team>;
export type CxoneRole = t.TypeOf<typeof Role>;
export type CxoneLoginAuthenticator = t.TypeOf<typeof LoginAuthenticator>;
export interface AgentResult {
  agentId: number;
  success: boolean;
  error?: string;
}

export interface SkillAgentWrite {
  agentId: number;
  proficiency: number;
  isActive?: boolean;
}

/** An answer that is not the shape the adapter expects: the tenant's paths or the API differ. */
export class CxoneAdminShapeError extends Error {
  override readonly name = 'CxoneAdminShapeError';
}

/** 404, 405 or 501: the tenant (or provider) has no such API. */
export function isMissingApi(err: unknown): err is ScimHttpError {
  return err instanceof ScimHttpError && (err.status === 404 || err.status === 405 || err.status === 501);
}

/** Guards against a server that never ends its pages. */
const MAX_PAGES = 10_000;

export class CxoneAdmin {
  readonly #client: ScimClient;
  readonly #paths: CxoneAdminPaths;
  readonly #pageSize: number;
  readonly #onRequest: () => void;
  readonly #call: <T>(request: () => Promise<T>) => Promise<T>;

  constructor(client: ScimClient, options: CxoneAdminOptions = {}) {
    this.#client = client;
    this.#paths = { ...DEFAULT_CXONE_ADMIN_PATHS, ...options.paths };
    this.#pageSize = options.pageSize ?? 100;
    this.#onRequest = options.onRequest ?? (() => undefined);
    this.#call = options.call ?? ((request) => request());
  }

  /** Every skill of the tenant, page by page. */
  listSkills(): Promise<CxoneSkill[]> {
    return this.#pages(this.#paths.skills, 'skills', Skill, (s) => String(s.skillId));
  }

  /** The agents holding a skill and their proficiency, page by page. */
  listSkillAgents(skillId: number): Promise<CxoneSkillAgent[]> {
    return this.#pages(this.#path('skillAgents', { skillId }), 'agents', SkillAgent, (a) => String(a.agentId));
  }

  /** Assigns a skill to agents or changes their proficiency (an upsert); one result per agent sent. */
  async upsertSkillAgents(skillId: number, agents: readonly SkillAgentWrite[]): Promise<AgentResult[]> {
    const path = this.#path('skillAgents', { skillId });
    const body = {
      agents: agents.map((a) => ({ agentId: a.agentId, isActive: a.isActive ?? true, proficiency: a.proficiency })),
    };
    const answer = this.#decoded(
      path,
      t.type({ agentResults: t.array(AgentResult) }),
      (await this.#send('POST', path, { body })).body,
    );
    const byAgent = new Map(answer.agentResults.map((r) => [r.agentId, r]));
    // An agent the answer does not mention was not confirmed: a failure, never assumed done.
    return agents.map(
      (a): AgentResult =>
        byAgent.has(a.agentId)
          ? {
              agentId: a.agentId,
              success: byAgent.get(a.agentId)?.success === true,
              ...(byAgent.get(a.agentId)?.error ? { error: String(byAgent.get(a.agentId)?.error) } : {}),
            }
          : { agentId: a.agentId, success: false, error: `the answer to POST ${path} has no result for this agent` },
    );
  }

  /** Takes a skill from an agent: `absent` when the agent did not hold it (404). */
  async removeSkillAgent(skillId: number, agentId: number): Promise<'removed' | 'absent'> {
    try {
      await this.#send('DELETE', this.#path('skillAgent', { skillId, agentId }));
      return 'removed';
    } catch (err) {
      if (err instanceof ScimHttpError && err.status === 404) return 'absent';
      throw err;
    }
  }

  /** The tenant's roles (one answer; paged on only if it says there are more). */
  listRoles(): Promise<CxoneRole[]> {
    return this.#pages(this.#paths.roles, 'roles', Role, (r) => r.id, { pagedFromStart: false });
  }

  /** The tenant's login authenticators (one answer; paged on only if it says there are more). */
  listLoginAuthenticators(): Promise<CxoneLoginAuthenticator[]> {
    return this.#pages(this.#paths.loginAuthenticators, 'loginAuthenticators', LoginAuthenticator, (a) => a.id, {
      pagedFromStart: false,
    });
  }

  /** Every team of the tenant: a search without a name, page by page. */
  listTeams(): Promise<CxoneTeam[]> {
    return this.searchTeams();
  }

  /**
   * Teams whose name is `name` as the server filters it (exact, case-insensitive; verify the
   * answer), or every team when no name is given.
   */
  async searchTeams(name?: string): Promise<CxoneTeam[]> {
    const found = new Map<string, CxoneTeam>();
    const codec = Page('teams', Team);
    for (let skip = 0, page = 0; page < MAX_PAGES; page++) {
      const body = { filter: name === undefined ? {} : { name }, skip, top: this.#pageSize };
      const answer = this.#decoded(
        this.#paths.teamSearch,
        codec,
        (await this.#send('POST', this.#paths.teamSearch, { body })).body,
      );
      const teams = answer.teams as CxoneTeam[];
      for (const team of teams) found.set(team.id, team);
      skip += teams.length;
      if (teams.length === 0 || answer.totalRecords === undefined || skip >= answer.totalRecords) break;
    }
    return [...found.values()];
  }

  /** One team by id; undefined when the tenant has none with that id (404). */
  async getTeam(teamId: string): Promise<CxoneTeam | undefined> {
    const path = this.#path('team', { teamId });
    try {
      return this.#decoded(path, t.type({ team: Team }), (await this.#send('GET', path)).body).team;
    } catch (err) {
      // A 404 on an API that exists means no such team; a missing API answers the search too.
      if (err instanceof ScimHttpError && err.status === 404) return undefined;
      throw err;
    }
  }

  async #pages<C extends t.Mixed>(
    path: string,
    member: string,
    item: C,
    id: (value: t.TypeOf<C>) => string,
    { pagedFromStart = true }: { pagedFromStart?: boolean } = {},
  ): Promise<Array<t.TypeOf<C>>> {
    const codec = Page(member, item);
    const found = new Map<string, t.TypeOf<C>>();
    for (let skip = 0, page = 0; page < MAX_PAGES; page++) {
      // An API documented without paging is asked plainly; `skip`/`top` only follow an answer that counts more.
      const query = pagedFromStart || page > 0 ? { query: { skip, top: this.#pageSize } } : {};
      const answer = this.#decoded(path, codec, (await this.#send('GET', path, query)).body) as Record<
        string,
        unknown
      > & { totalRecords?: number };
      const items = answer[member] as Array<t.TypeOf<C>>;
      for (const value of items) if (!found.has(id(value))) found.set(id(value), value);
      skip += items.length;
      // A server that ignores `top` answers everything at once; an empty page ends the listing too.
      if (items.length === 0 || answer.totalRecords === undefined || skip >= answer.totalRecords) break;
    }
    return [...found.values()];
  }

  #path(name: keyof CxoneAdminPaths, values: Record<string, string | number>): string {
    return this.#paths[name].replace(/\{(\w+)\}/g, (whole, key: string) =>
      key in values ? encodeURIComponent(String(values[key])) : whole,
    );
  }

  #send(method: ScimMethod, path: string, opts: ScimRequestOptions = {}) {
    const headers = {
      accept: 'application/json',
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
    };
    return this.#call(() => {
      this.#onRequest();
      return this.#client.api(method, path, { ...opts, headers });
    });
  }

  #decoded<A>(path: string, codec: t.Decoder<unknown, A>, body: unknown): A {
    const result = decode(codec, body);
    if (!result.ok)
      throw new CxoneAdminShapeError(`the answer of ${path} is not the expected shape: ${formatIssues(result.errors)}`);
    return result.value;
  }
}
