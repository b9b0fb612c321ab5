// Skills and team assignments of CXone employees (syncAssignments), planned like syncUsers: the
// source says which skills (with proficiency) and which team each employee has; the plan holds
// only the differences. Pure and deterministic (safe in workflows): the activities read the
// source, the provider's skills, their agents, the employees and the teams, and hand them here.
//
// Rules:
// - A skills cell is `Name:proficiency;Name:proficiency` (proficiency an integer 1..20; empty
//   parts ignored; a name without a proficiency, a repeated name or a bad number is an error of
//   the record, never a guess). An empty cell means: none of the managed skills.
// - Managed skills are the skills named anywhere in the source (or the run's explicit list):
//   only those are added, changed or removed; an employee's other skills are never touched.
// - Within a managed skill the source is the truth: an agent holding it whom the source does not
//   give it (listed without it, or not listed at all) loses it. Removals of agents not in the
//   source are held back while any source record cannot be tied to an employee (missing or
//   ambiguous userName), since that record might be the agent.
// - A team cell names one team; empty leaves the team alone (CXone has no "no team").
// - A record with any error (bad cell, unknown skill or team, no such employee, duplicate
//   userName) is reported and nothing of it is written; its employee keeps what it has.
import type { MatchResult } from './user-match';

/** The NICE SCIM extension: `team {value, display}` and the read-only `agentId` the admin API uses. */
import { NICE_USER_EXTENSION } from './urns';

export { NICE_USER_EXTENSION };

export const PROFICIENCY_MIN = 1;
export const PROFICIENCY_MAX = 20;

export interface WantedSkill {
  name: string;
  proficiency: number;
}

export type ParsedSkills = { ok: true; skills: WantedSkill[] } | { ok: false; reason: string };

/** Parses `Sales:5;Support:3` (case of names kept; compared without case). */
export function parseSkillsCell(cell: string, separator = ';'): ParsedSkills {
  const skills: WantedSkill[] = [];
  const seen = new Set<string>();
  for (const raw of cell.split(separator)) {
    const part = raw.trim();
    if (part === '') continue;
    const colon = part.lastIndexOf(':');
    if (colon === -1)
      return {
        ok: false,
        reason: `"${part}" has no proficiency: write Name:proficiency (${PROFICIENCY_MIN}..${PROFICIENCY_MAX})`,
      };
    const name = part.slice(0, colon).trim();
    const level = part.slice(colon + 1).trim();
    if (name === '') return { ok: false, reason: `"${part}" has no skill name before the colon` };
    if (!/^\d+$/.test(level) || Number(level) < PROFICIENCY_MIN || Number(level) > PROFICIENCY_MAX)
      return {
        ok: false,
        reason: `"${part}": proficiency must be an integer ${PROFICIENCY_MIN}..${PROFICIENCY_MAX}, got "${level}"`,
      };
    if (seen.has(name.toLowerCase())) return { ok: false, reason: `skill "${name}" is given twice` };
    seen.add(name.toLowerCase());
    skills.push({ name, proficiency: Number(level) });
  }
  return { ok: true, skills };
}

/** One source record as read: the cells of the key, skills and team columns (undefined when empty). */
export interface RawAssignment {
  /** Where it came from, e.g. `users.csv line 4`. */
  origin: string;
  userName?: unknown;
  skills?: unknown;
  team?: unknown;
}

/** The column names, for messages that say which cell is wrong. */
export interface AssignmentColumns {
  key: string;
  skills: string;
  team: string;
}

export interface AssignmentRecord {
  origin: string;
  userName: string;
  skills: WantedSkill[];
  team?: string;
  /** A cell that did not parse: the record is an error, but its employee is still looked up (and left alone). */
  problem?: string;
}

export interface AssignmentProblem {
  origin?: string;
  userName?: string;
  reason: string;
}

export interface ReadAssignments {
  /** Records with a userName (those with a bad cell carry `problem`; duplicates are the planner's error). */
  records: AssignmentRecord[];
  /** Records that cannot be tied to an employee (no userName): removals of unlisted agents wait. */
  unidentified: number;
  problems: AssignmentProblem[];
}

const cell = (value: unknown): string | undefined => {
  if (value === undefined || value === null) return undefined;
  const text = typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : undefined;
  return text === '' ? undefined : text;
};

/** Checks and parses each record's cells; a bad cell is a problem naming the record and the column. */
export function readAssignments(raw: readonly RawAssignment[], columns: AssignmentColumns): ReadAssignments {
  const out: ReadAssignments = { records: [], unidentified: 0, problems: [] };
  for (const record of raw) {
    const userName = cell(record.userName);
    if (userName === undefined) {
      out.unidentified++;
      out.problems.push({
        origin: record.origin,
        reason: `column ${columns.key}: empty, so the record names no employee`,
      });
      continue;
    }
    const fail = (problem: string) => out.records.push({ origin: record.origin, userName, skills: [], problem });
    if (record.skills !== undefined && record.skills !== null && typeof record.skills !== 'string') {
      fail(`column ${columns.skills}: must be text such as "Sales:5;Support:3"`);
      continue;
    }
    const parsed = parseSkillsCell(cell(record.skills) ?? '');
    if (!parsed.ok) {
      fail(`column ${columns.skills}: ${parsed.reason}`);
      continue;
    }
    if (record.team !== undefined && record.team !== null && typeof record.team !== 'string') {
      fail(`column ${columns.team}: must be a team name`);
      continue;
    }
    const team = cell(record.team);
    out.records.push({ origin: record.origin, userName, skills: parsed.skills, ...(team ? { team } : {}) });
  }
  return out;
}

/** The skills the run manages: the explicit list, else every skill named in the source; deduplicated without case, first spelling kept. */
export function managedSkillNames(records: readonly AssignmentRecord[], explicit?: readonly string[]): string[] {
  const names = new Map<string, string>();
  const add = (name: string) => {
    const trimmed = name.trim();
    if (trimmed !== '' && !names.has(trimmed.toLowerCase())) names.set(trimmed.toLowerCase(), trimmed);
  };
  if (explicit) explicit.forEach(add);
  else for (const r of records) for (const s of r.skills) add(s.name);
  return [...names.values()];
}

export interface ProviderSkill {
  skillId: number;
  skillName: string;
  isActive?: boolean;
}

export type NameResolution<T> = { kind: 'one'; value: T } | { kind: 'none' } | { kind: 'ambiguous'; ids: string[] };

/** Each managed name's skill (names compare without case; two skills of one name are ambiguous). */
export function resolveSkillNames(
  names: readonly string[],
  skills: readonly ProviderSkill[],
): Map<string, NameResolution<ProviderSkill>> {
  const byName = new Map<string, ProviderSkill[]>();
  for (const s of skills) byName.set(s.skillName.toLowerCase(), [...(byName.get(s.skillName.toLowerCase()) ?? []), s]);
  const out = new Map<string, NameResolution<ProviderSkill>>();
  for (const name of names) {
    const found = byName.get(name.toLowerCase()) ?? [];
    out.set(
      name.toLowerCase(),
      found.length === 1
        ? { kind: 'one', value: found[0] }
        : found.length === 0
          ? { kind: 'none' }
          : { kind: 'ambiguous', ids: found.map((s) => String(s.skillId)).sort() },
    );
  }
  return out;
}

export interface ProviderTeam {
  id: string;
  name: string;
  status?: string;
}

/** A team search's answer verified against the name asked for (a server may ignore the filter). */
export function verifyTeam(name: string, found: readonly ProviderTeam[]): NameResolution<ProviderTeam> {
  const byId = new Map<string, ProviderTeam>();
  for (const t of found) if (t.name.toLowerCase() === name.toLowerCase()) byId.set(t.id, t);
  const teams = [...byId.values()];
  if (teams.length === 1) return { kind: 'one', value: teams[0] };
  return teams.length === 0 ? { kind: 'none' } : { kind: 'ambiguous', ids: teams.map((t) => t.id).sort() };
}

/** The employee behind a record: SCIM id, agentId and current team, from the verified lookup. */
export interface Employee {
  id: string;
  agentId?: number;
  team?: { value: string; display?: string };
}

/** What a verified SCIM match says about the employee (agentId and team from the NICE extension). */
export function employeeOf(resource: Record<string, unknown> & { id: string }): Employee {
  const ext = resource[NICE_USER_EXTENSION] as { agentId?: unknown; team?: unknown } | undefined;
  const agentId = typeof ext?.agentId === 'number' ? ext.agentId : Number(ext?.agentId);
  const team = ext?.team as { value?: unknown; display?: unknown } | undefined;
  return {
    id: resource.id,
    ...(Number.isInteger(agentId) && agentId > 0 ? { agentId } : {}),
    ...(typeof team?.value === 'string' && team.value !== ''
      ? { team: { value: team.value, ...(typeof team.display === 'string' ? { display: team.display } : {}) } }
      : {}),
  };
}

export type AssignmentAction = 'set-team' | 'add-skill' | 'set-proficiency' | 'remove-skill';

export interface AssignmentChange {
  action: AssignmentAction;
  /** Absent for an agent the source does not list (a removal found through the skill's agents). */
  userName?: string;
  origin?: string;
  /** The employee's SCIM id (team changes). */
  userId?: string;
  agentId?: number;
  skillId?: number;
  skillName?: string;
  proficiency?: number;
  /** The proficiency before (changes and removals). */
  from?: number;
  teamId?: string;
  teamName?: string;
  /** The team before (its id, or name when known). */
  fromTeam?: string;
  /** The team before: its id (what an undo sets back). */
  fromTeamId?: string;
}

export interface AssignmentInputs {
  records: readonly AssignmentRecord[];
  /** Records that name no employee (from readAssignments). */
  unidentified: number;
  /** Problems found while reading (records without a userName): reported with the plan's. */
  readProblems?: readonly AssignmentProblem[];
  /** Managed skill names (lower case) → their skill. */
  skills: ReadonlyMap<string, NameResolution<ProviderSkill>>;
  /** Per managed skill id: agentId → proficiency. */
  holders: ReadonlyMap<number, ReadonlyMap<number, number>>;
  /** Per record (by index in `records`): the verified SCIM lookup of its userName. */
  employees: readonly MatchResult[];
  /** Team name (lower case) → team. */
  teams: ReadonlyMap<string, NameResolution<ProviderTeam>>;
}

export interface AssignmentCounts {
  teamChanges: number;
  skillAdds: number;
  proficiencyChanges: number;
  skillRemovals: number;
  /** Source records with nothing to change. */
  unchanged: number;
  /** Source records in error (nothing written for them). */
  errors: number;
}

export interface AssignmentPlan {
  /** Writes first (in record order: team, adds, proficiency changes), then removals (by skill, agent). */
  changes: AssignmentChange[];
  problems: AssignmentProblem[];
  counts: AssignmentCounts;
  /** Current memberships of the managed skills: what the removal threshold compares with. */
  managedMemberships: number;
  /** Why removals of agents the source does not list were held back, when they were. */
  removalsHeld?: string;
}

const describeIds = (ids: readonly string[]) => ids.join(', ');

/** Desired vs current for every record and every agent of the managed skills. */
export function planAssignments(inputs: AssignmentInputs): AssignmentPlan {
  const problems: AssignmentProblem[] = [...(inputs.readProblems ?? [])];
  const writes: AssignmentChange[] = [];
  const removals: AssignmentChange[] = [];
  const counts: AssignmentCounts = {
    teamChanges: 0,
    skillAdds: 0,
    proficiencyChanges: 0,
    skillRemovals: 0,
    unchanged: 0,
    errors: inputs.readProblems?.length ?? 0,
  };
  const managed = new Map<number, ProviderSkill>();
  for (const r of inputs.skills.values()) if (r.kind === 'one') managed.set(r.value.skillId, r.value);
  const byUserName = new Map<string, number>();
  for (const r of inputs.records)
    byUserName.set(r.userName.toLowerCase(), (byUserName.get(r.userName.toLowerCase()) ?? 0) + 1);

  /** Agents the source speaks for (listed, resolved): never treated as unlisted. */
  const listedAgents = new Set<number>();
  let unidentified = inputs.unidentified;
  inputs.records.forEach((record, index) => {
    const match = inputs.employees[index] ?? { kind: 'none' };
    const reasons: string[] = record.problem ? [record.problem] : [];
    const employee = match.kind === 'one' ? employeeOf(match.resource) : undefined;
    if (employee?.agentId !== undefined) listedAgents.add(employee.agentId);
    if (match.kind === 'ambiguous') {
      unidentified++;
      reasons.push(`${match.ids.length} employees match userName "${record.userName}" (ids ${describeIds(match.ids)})`);
    } else if (match.kind === 'none') reasons.push(`no employee has userName "${record.userName}"`);
    if ((byUserName.get(record.userName.toLowerCase()) ?? 0) > 1)
      reasons.push(`userName "${record.userName}" is given in more than one record`);
    if (employee && employee.agentId === undefined && managed.size > 0) {
      unidentified++;
      reasons.push(`the employee has no agentId in ${NICE_USER_EXTENSION}, so its skills cannot be read or written`);
    }
    const wanted = new Map<number, { skill: ProviderSkill; proficiency: number }>();
    for (const s of record.skills) {
      const resolved = inputs.skills.get(s.name.toLowerCase());
      if (!resolved) reasons.push(`skill "${s.name}" is not one of the skills this run manages`);
      else if (resolved.kind === 'none') reasons.push(`skill "${s.name}" does not exist in the tenant`);
      else if (resolved.kind === 'ambiguous')
        reasons.push(`skill "${s.name}" names ${resolved.ids.length} skills (ids ${describeIds(resolved.ids)})`);
      else wanted.set(resolved.value.skillId, { skill: resolved.value, proficiency: s.proficiency });
    }
    const team = record.team ? inputs.teams.get(record.team.toLowerCase()) : undefined;
    if (record.team && (!team || team.kind === 'none')) reasons.push(`team "${record.team}" does not exist`);
    else if (team?.kind === 'ambiguous')
      reasons.push(`team "${record.team}" names ${team.ids.length} teams (ids ${describeIds(team.ids)})`);
    if (reasons.length > 0 || !employee) {
      counts.errors++;
      problems.push({ origin: record.origin, userName: record.userName, reason: reasons.join('; ') });
      return;
    }
    const base = { userName: record.userName, origin: record.origin };
    const before = writes.length + removals.length;
    if (team?.kind === 'one' && employee.team?.value !== team.value.id) {
      writes.push({
        action: 'set-team',
        ...base,
        userId: employee.id,
        teamId: team.value.id,
        teamName: team.value.name,
        ...(employee.team
          ? { fromTeam: employee.team.display ?? employee.team.value, fromTeamId: employee.team.value }
          : {}),
      });
      counts.teamChanges++;
    }
    const agentId = employee.agentId;
    if (agentId !== undefined) {
      const skillOf = (id: number) => ({ agentId, skillId: id, skillName: managed.get(id)?.skillName });
      for (const [skillId, want] of wanted) {
        const have = inputs.holders.get(skillId)?.get(agentId);
        if (have === undefined) {
          writes.push({ action: 'add-skill', ...base, ...skillOf(skillId), proficiency: want.proficiency });
          counts.skillAdds++;
        } else if (have !== want.proficiency) {
          writes.push({
            action: 'set-proficiency',
            ...base,
            ...skillOf(skillId),
            proficiency: want.proficiency,
            from: have,
          });
          counts.proficiencyChanges++;
        }
      }
      for (const skillId of [...managed.keys()].sort((a, b) => a - b)) {
        const have = inputs.holders.get(skillId)?.get(agentId);
        if (have !== undefined && !wanted.has(skillId)) {
          removals.push({ action: 'remove-skill', ...base, ...skillOf(skillId), from: have });
          counts.skillRemovals++;
        }
      }
    }
    if (writes.length + removals.length === before) counts.unchanged++;
  });

  let managedMemberships = 0;
  let removalsHeld: string | undefined;
  const unlisted: AssignmentChange[] = [];
  for (const skillId of [...managed.keys()].sort((a, b) => a - b)) {
    const agents = inputs.holders.get(skillId) ?? new Map<number, number>();
    managedMemberships += agents.size;
    for (const agentId of [...agents.keys()].sort((a, b) => a - b)) {
      if (listedAgents.has(agentId)) continue;
      unlisted.push({
        action: 'remove-skill',
        agentId,
        skillId,
        skillName: managed.get(skillId)?.skillName,
        from: agents.get(agentId),
      });
    }
  }
  if (unlisted.length > 0 && unidentified > 0)
    removalsHeld = `${unlisted.length} removals from agents the source does not list are held back: ${unidentified} source records could not be tied to one employee with an agentId`;
  else {
    removals.push(...unlisted);
    counts.skillRemovals += unlisted.length;
  }
  return {
    changes: [...writes, ...removals],
    problems,
    counts,
    managedMemberships,
    ...(removalsHeld ? { removalsHeld } : {}),
  };
}

export const WRITE_ASSIGNMENT_ACTIONS: readonly AssignmentAction[] = ['set-team', 'add-skill', 'set-proficiency'];
