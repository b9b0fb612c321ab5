// The data of a CXone tenant's directory (cxone profile) as the Store holds and persists it:
// plain records, no rules. The rules that change it live in tenant.ts.
export type Status = 'Active' | 'Inactive';
export interface Role {
  id: string;
  name: string;
  status: Status;
}
export interface LoginAuthenticator {
  id: string;
  name: string;
  authenticationType: string;
}
export interface Team {
  id: string;
  name: string;
  status: Status;
}
export interface Skill {
  skillId: number;
  skillName: string;
  isActive: boolean;
}
export interface SkillAgent {
  agentId: number;
  proficiency: number;
  isActive: boolean;
}

export interface TenantState {
  roles: Role[];
  loginAuthenticators: LoginAuthenticator[];
  teams: Team[];
  skills: Skill[];
  /** skillId → the agents having the skill, in assignment order. */
  skillAgents: Record<string, SkillAgent[]>;
  nextAgentId: number;
  nextSkillId: number;
  /** Role, authenticator and team ids are numeric strings from this one counter. */
  nextId: number;
}
