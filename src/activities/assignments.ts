// Activities of syncAssignments: plan (read the source's key, skills and team columns, list the
// tenant's skills and the agents of the managed ones, look each employee up through SCIM for its
// agentId and team, search the teams named) and apply a slice of the plan (team through a SCIM
// PATCH of the NICE extension, skills through the admin API). The plan is stored in the claim
// store one slice per apply activity, as for syncUsers and syncGroups (plan-claims.ts).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { FailureType } from '../core/failures';
import { ScimHttpError, type ScimClient } from '../http';
import { CxoneAdmin, CxoneAdminShapeError, isMissingApi, type SkillAgentWrite } from '../http/cxone-admin';
import {
  managedSkillNames,
  NICE_USER_EXTENSION,
  planAssignments,
  readAssignments,
  resolveSkillNames,
  verifyTeam,
  WRITE_ASSIGNMENT_ACTIONS,
  type AssignmentAction,
  type AssignmentChange,
  type AssignmentColumns,
  type AssignmentCounts,
  type AssignmentProblem,
  type NameResolution,
  type ProviderTeam,
  type RawAssignment,
} from '../scim/assignments';
import { canonicalJson } from '../scim/canonical';
import { patchRequest, userPatchOperations } from '../scim/patch';
import type { MatchResult } from '../scim/user-match';
import type { AssignmentJournalEntry } from '../scim/undo';
import { claimStoreFor, type ClaimRef } from './claims/claim-store';
import { readJournal, storeSliceJournal } from './claims/journal';
import { readPlanSlice, storePlanSlices } from './claims/plan-claims';
import { asActivity, scimClientFor, type ActivityDeps } from './deps';
import { DeadlinePassedError, isRetryable, untilDeadline } from './provider/until-deadline';
import { lookupUser } from './provider/user-lookup';
import { readFileSource, sourceLocationOf, type SourceFormat } from './sources/user-source';
import type { PlanOut } from './sync-review';

export type AssignmentKind = 'skills' | 'team';

export interface AssignmentSourceSpec {
  /** The file (CSV, JSON, NDJSON) or s3:// / https:// object the worker reads. */
  path: string;
  format?: SourceFormat;
  /** Column (JSON field) with the employee's userName. Default `userName`. */
  keyColumn?: string;
  /** Column with `Name:proficiency;…`. Default `skills`. */
  skillsColumn?: string;
  /** Column with the team name. Default `team`. */
  teamColumn?: string;
}

export interface AssignmentPlanInput {
  tenant: string;
  source: AssignmentSourceSpec;
  /** What the run manages. */
  manage: AssignmentKind[];
  /** The managed skills; default every skill named in the source. */
  skills?: string[];
  maxReported: number;
  /** Changes per apply activity: the plan is stored in slices of this size. */
  changesPerActivity: number;
  planOut?: PlanOut;
  /** Until when (epoch ms) transient failures of a request are retried: the run's deadline. */
  retryUntil: number;
}

export type AssignmentPhase = 'writes' | 'removals';

export interface AssignmentPlanSample {
  action: AssignmentAction;
  userName?: string;
  agentId?: number;
  skill?: string;
  team?: string;
  proficiency?: number;
  from?: number | string;
}

export type AssignmentPlanSummary =
  | { unsupported: string; requests: number }
  | {
      unsupported?: undefined;
      planHash: string;
      slices: Record<AssignmentPhase, ClaimRef[]>;
      sourceSha256: string;
      records: number;
      /** Managed skills as the tenant spells them (unknown ones as the source does). */
      managedSkills: string[];
      managedMemberships: number;
      counts: AssignmentCounts;
      writes: number;
      removals: number;
      removalsHeld?: string;
      problems: AssignmentProblem[];
      problemCount: number;
      sample: AssignmentPlanSample[];
      planOut?: string;
      requests: number;
    };

const COLUMN_DEFAULTS = { key: 'userName', skills: 'skills', team: 'team' };

type Patient = <T>(request: () => Promise<T>) => Promise<T>;

/**
 * Retries one request through 429s, 5xx and outages until the run's deadline, or until shortly
 * before this attempt's own timeout (then the activity fails and Temporal retries it, until the
 * run's deadline, from its last heartbeat). `beat` heartbeats while it waits.
 */
function patience(retryUntil: number, beat: () => void): Patient {
  const attemptEnds = Date.now() + Math.max(5_000, Context.current().info.startToCloseTimeoutMs - 30_000);
  const clock = {
    now: () => Date.now(),
    sleep: async (ms: number) => {
      beat();
      await new Promise((resolve) => setTimeout(resolve, ms));
    },
  };
  return (request) => untilDeadline(Math.min(retryUntil, attemptEnds), request, clock);
}

/** Per tenant, the adapter with the tenant's path overrides (`cxoneAdminPaths`). */
function adminFor(
  deps: ActivityDeps,
  tenant: string,
  client: ScimClient,
  counter: { requests: number },
  call: Patient,
): CxoneAdmin {
  const config = deps.tenants.get(tenant);
  return new CxoneAdmin(client, {
    ...(config.cxoneAdminPaths ? { paths: config.cxoneAdminPaths } : {}),
    onRequest: () => counter.requests++,
    call,
  });
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The source's records, each with its key, skills and team cells and where it came from. */
async function readSource(spec: AssignmentSourceSpec, columns: AssignmentColumns, manage: AssignmentKind[]) {
  const attributes: Record<string, string> = { userName: columns.key };
  if (manage.includes('skills')) attributes.skills = columns.skills;
  if (manage.includes('team')) attributes.team = columns.team;
  const name = path.basename(sourceLocationOf(spec));
  const raw: RawAssignment[] = [];
  const broken: AssignmentProblem[] = [];
  // The source readers with a mapping that only picks the three columns (so any header works).
  const snapshot = await readFileSource(
    { path: spec.path, ...(spec.format ? { format: spec.format } : {}), mapping: { attributes } },
    (record, index) => {
      const origin = record.line !== undefined ? `${name} line ${record.line}` : `${name} record ${index + 1}`;
      if ('problems' in record) broken.push({ origin, reason: record.problems.join('; ') });
      else raw.push({ origin, ...record.user });
    },
  );
  return { raw, broken, sha256: snapshot.sha256, records: raw.length + broken.length };
}

/** Runs `work` over `items`, a few at once (the tenant's request gate paces the requests). */
async function eachLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const runner = async () => {
    while (next < items.length) {
      const index = next++;
      out[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, runner));
  return out;
}

const LOOKUPS_IN_FLIGHT = 4;

export async function planAssignmentSync(
  deps: ActivityDeps,
  input: AssignmentPlanInput,
): Promise<AssignmentPlanSummary> {
  const columns: AssignmentColumns = {
    key: input.source.keyColumn ?? COLUMN_DEFAULTS.key,
    skills: input.source.skillsColumn ?? COLUMN_DEFAULTS.skills,
    team: input.source.teamColumn ?? COLUMN_DEFAULTS.team,
  };
  const source = await readSource(input.source, columns, input.manage);
  const read = readAssignments(source.raw, columns);
  const client = scimClientFor(deps, input.tenant);
  const counter = { requests: 0 };
  let progress: object = { phase: 'planning' };
  const heartbeat = (details: object) => {
    progress = details;
    Context.current().heartbeat(details);
  };
  const patient = patience(input.retryUntil, () => Context.current().heartbeat(progress));
  const admin = adminFor(deps, input.tenant, client, counter, patient);
  /** An answer of another shape than the adapter expects: the run stops (no retry helps). */
  const refused = (err: unknown) =>
    err instanceof CxoneAdminShapeError
      ? ApplicationFailure.nonRetryable(
          `${err.message}: check the tenant's skills and teams API paths`,
          FailureType.UnsupportedProvider,
        )
      : err;
  /** A 404/405/501 from the skills or teams API: the run ends `unsupported`, with a note. */
  const unsupported = (what: string, err: ScimHttpError) => ({
    unsupported: `the provider has no ${what} API: ${err.method} ${err.path} answered ${err.status} (CXone's ${what} API is not offered here)`,
    requests: counter.requests,
  });

  const names = input.manage.includes('skills') ? managedSkillNames(read.records, input.skills) : [];
  const skills = new Map<string, NameResolution<{ skillId: number; skillName: string; isActive?: boolean }>>();
  const holders = new Map<number, Map<number, number>>();
  if (input.manage.includes('skills')) {
    try {
      for (const [name, resolution] of resolveSkillNames(names, await admin.listSkills())) skills.set(name, resolution);
      for (const resolution of skills.values()) {
        if (resolution.kind !== 'one') continue;
        const agents = await admin.listSkillAgents(resolution.value.skillId);
        holders.set(resolution.value.skillId, new Map(agents.map((a) => [a.agentId, a.proficiency ?? 0])));
        heartbeat({ skillsRead: holders.size });
      }
    } catch (err) {
      if (isMissingApi(err)) return unsupported('skills', err);
      throw refused(err);
    }
  }
  const teams = new Map<string, NameResolution<ProviderTeam>>();
  if (input.manage.includes('team')) {
    const wanted = new Map<string, string>();
    for (const r of read.records) if (r.team && !r.problem) wanted.set(r.team.toLowerCase(), r.team);
    try {
      for (const [key, name] of wanted) teams.set(key, verifyTeam(name, await admin.searchTeams(name)));
    } catch (err) {
      if (isMissingApi(err)) return unsupported('teams', err);
      throw refused(err);
    }
  }
  let looked = 0;
  const employees = await eachLimited(read.records, LOOKUPS_IN_FLIGHT, async (record): Promise<MatchResult> => {
    // Verified: a server that ignores the filter or compares it with case still finds only this userName.
    const match = await lookupUser(
      client,
      { userName: record.userName },
      {
        endpoint: '/Users',
        filter: true,
        call: (request) =>
          patient(() => {
            counter.requests++;
            return request();
          }),
      },
    );
    if (++looked % 100 === 0) heartbeat({ looked });
    return match;
  });
  const plan = planAssignments({
    records: read.records,
    unidentified: read.unidentified + source.broken.length,
    readProblems: [...source.broken, ...read.problems],
    skills,
    holders,
    employees,
    teams,
  });
  const managedSkillIds = [...skills.values()]
    .flatMap((r) => (r.kind === 'one' ? [r.value.skillId] : []))
    .sort((a, b) => a - b);
  const planHash = sha256(
    canonicalJson({
      tenant: input.tenant,
      source: source.sha256,
      manage: [...input.manage].sort(),
      managedSkills: managedSkillIds,
      changes: plan.changes,
    }),
  );
  const phases: Record<AssignmentPhase, AssignmentChange[]> = {
    writes: plan.changes.filter((c) => WRITE_ASSIGNMENT_ACTIONS.includes(c.action)),
    removals: plan.changes.filter((c) => c.action === 'remove-skill'),
  };
  const slices = await storePlanSlices(
    claimStoreFor(sourceLocationOf(input.source)),
    planHash,
    phases,
    input.changesPerActivity,
    (storedSlices) => heartbeat({ storedSlices }),
  );
  const written = input.planOut ? writeAssignmentPlan(input.planOut, input.tenant, planHash, plan.changes) : undefined;
  const spelled = new Map(names.map((n) => [n.toLowerCase(), n]));
  return {
    planHash,
    slices,
    sourceSha256: source.sha256,
    records: source.records,
    managedSkills: [...skills.entries()].map(([key, r]) =>
      r.kind === 'one' ? r.value.skillName : (spelled.get(key) ?? key),
    ),
    managedMemberships: plan.managedMemberships,
    counts: plan.counts,
    writes: phases.writes.length,
    removals: phases.removals.length,
    ...(plan.removalsHeld ? { removalsHeld: plan.removalsHeld } : {}),
    problems: plan.problems.slice(0, input.maxReported),
    problemCount: plan.problems.length,
    sample: plan.changes.slice(0, Math.min(20, input.maxReported)).map(sampleOf),
    ...(written ? { planOut: written } : {}),
    requests: counter.requests,
  };
}

function sampleOf(c: AssignmentChange): AssignmentPlanSample {
  const from = c.from ?? c.fromTeam;
  return {
    action: c.action,
    ...(c.userName ? { userName: c.userName } : {}),
    ...(c.agentId !== undefined ? { agentId: c.agentId } : {}),
    ...(c.skillName ? { skill: c.skillName } : {}),
    ...(c.teamName ? { team: c.teamName } : {}),
    ...(c.proficiency !== undefined ? { proficiency: c.proficiency } : {}),
    ...(from !== undefined ? { from } : {}),
  };
}

/** The whole plan, for review, on the worker's file system (.csv, else JSON). */
function writeAssignmentPlan(out: PlanOut, tenant: string, planHash: string, changes: AssignmentChange[]): string {
  const file = path.resolve(out.path);
  const format = out.format ?? (file.toLowerCase().endsWith('.csv') ? 'csv' : 'json');
  const fields = [
    'action',
    'userName',
    'origin',
    'agentId',
    'skillName',
    'proficiency',
    'from',
    'teamName',
    'fromTeam',
  ] as const;
  const cell = (v: unknown) =>
    v === undefined ? '' : /[",\n\r]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v);
  const text =
    format === 'csv'
      ? `${[fields.join(','), ...changes.map((c) => fields.map((f) => cell(c[f])).join(','))].join('\n')}\n`
      : `${JSON.stringify({ tenant, planHash, changes }, null, 1)}\n`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

export interface ApplyAssignmentsInput {
  tenant: string;
  planHash: string;
  phase: AssignmentPhase;
  slice: ClaimRef;
  /** Position of the slice's first change within its phase. */
  from: number;
  maxReported: number;
  /** Agents per upsert request. Default 100. */
  agentsPerRequest?: number;
  /** Until when (epoch ms) transient failures of a request are retried: the run's deadline. */
  retryUntil: number;
}

export interface AssignmentFailure {
  action: AssignmentAction;
  userName?: string;
  agentId?: number;
  skill?: string;
  team?: string;
  status?: number;
  detail: string;
}

export interface AssignmentTally {
  done: Record<AssignmentAction, number>;
  /** Removals an earlier attempt (or someone else) had made already: the agent no longer held the skill. */
  alreadyApplied: number;
  failed: number;
  failures: AssignmentFailure[];
  requests: number;
  /** The journal of what the slice changed, with the values before (absent when it changed nothing). */
  journal?: ClaimRef;
}

export const emptyAssignmentCounts = (): Record<AssignmentAction, number> => ({
  'set-team': 0,
  'add-skill': 0,
  'set-proficiency': 0,
  'remove-skill': 0,
});

/** One request's worth of changes: a team PATCH, an upsert of agents of one skill, or a removal. */
function unitsOf(changes: readonly AssignmentChange[], agentsPerRequest: number): AssignmentChange[][] {
  const units: AssignmentChange[][] = [];
  const upserts = new Map<number, AssignmentChange[]>();
  for (const change of changes) {
    if (change.action === 'add-skill' || change.action === 'set-proficiency') {
      let batch = upserts.get(change.skillId ?? 0);
      if (!batch || batch.length >= agentsPerRequest) {
        batch = [];
        upserts.set(change.skillId ?? 0, batch);
        units.push(batch);
      }
      batch.push(change);
    } else units.push([change]);
  }
  return units;
}

/**
 * Applies one stored slice. Heartbeats its position (unit by unit): a retry after a crash resumes
 * there; every write is idempotent (PATCH replace, upsert, DELETE with 404 as done), so a unit
 * made again after a lost heartbeat changes nothing twice.
 */
export async function applyAssignmentChanges(
  deps: ActivityDeps,
  input: ApplyAssignmentsInput,
): Promise<AssignmentTally> {
  const context = Context.current();
  const changes = await readPlanSlice<AssignmentChange>(
    input.slice,
    input,
    `slice ${input.from}… of the ${input.phase} of assignment plan ${input.planHash.slice(0, 12)}`,
  );
  const resumed = context.info.heartbeatDetails as { next: number; tally: AssignmentTally } | undefined;
  const tally: AssignmentTally = resumed?.tally ?? {
    done: emptyAssignmentCounts(),
    alreadyApplied: 0,
    failed: 0,
    failures: [],
    requests: 0,
  };
  const client = scimClientFor(deps, input.tenant);
  let position = resumed?.next ?? 0;
  // The journal so far: the entries of the units an earlier attempt made (its heartbeat names them).
  const journal: AssignmentJournalEntry[] = tally.journal
    ? ((await readJournal(tally.journal)).entries as AssignmentJournalEntry[])
    : [];
  // While a request waits to be retried, the heartbeat repeats the last position (never a later one).
  const patient = patience(input.retryUntil, () =>
    context.heartbeat({ next: position, tally: structuredClone(tally) }),
  );
  const admin = adminFor(deps, input.tenant, client, tally, patient);
  const fail = (change: AssignmentChange, detail: string, status?: number) => {
    tally.failed++;
    if (tally.failures.length < input.maxReported)
      tally.failures.push({
        action: change.action,
        ...(change.userName ? { userName: change.userName } : {}),
        ...(change.agentId !== undefined ? { agentId: change.agentId } : {}),
        ...(change.skillName ? { skill: change.skillName } : {}),
        ...(change.teamName ? { team: change.teamName } : {}),
        ...(status ? { status } : {}),
        detail,
      });
  };
  const units = unitsOf(changes, input.agentsPerRequest ?? 100);
  for (let i = position; i < units.length; i++) {
    const unit = units[i];
    const committed = structuredClone(tally);
    try {
      const journaled = journal.length;
      await applyUnit(client, admin, patient, unit, tally, fail, journal);
      if (journal.length > journaled)
        tally.journal = await storeSliceJournal(input.slice, {
          tenant: input.tenant,
          endpoint: '/Users',
          planHash: input.planHash,
          phase: input.phase,
          from: input.from,
          entries: journal,
        });
    } catch (err) {
      // Still failing at the attempt's end: the activity is retried (until the run's deadline) from this unit.
      if (isRetryable(err) || err instanceof DeadlinePassedError) {
        context.heartbeat({ next: i, tally: committed });
        throw err;
      }
      const status = err instanceof ScimHttpError ? err.status : undefined;
      const detail = err instanceof ScimHttpError || err instanceof CxoneAdminShapeError ? err.message : String(err);
      for (const change of unit) fail(change, detail, status);
    }
    position = i + 1;
    context.heartbeat({ next: position, tally: structuredClone(tally) });
  }
  return tally;
}

async function applyUnit(
  client: ScimClient,
  admin: CxoneAdmin,
  patient: Patient,
  unit: AssignmentChange[],
  tally: AssignmentTally,
  fail: (change: AssignmentChange, detail: string) => void,
  journal: AssignmentJournalEntry[],
): Promise<void> {
  const [first] = unit;
  const written = (change: AssignmentChange, entry: Pick<AssignmentJournalEntry, 'before' | 'after'>) =>
    journal.push({
      kind: 'assignment',
      action: change.action,
      ...(change.userName ? { userName: change.userName } : {}),
      ...(change.userId ? { userId: change.userId } : {}),
      ...(change.agentId !== undefined ? { agentId: change.agentId } : {}),
      ...(change.skillId !== undefined ? { skillId: change.skillId } : {}),
      ...(change.skillName ? { skillName: change.skillName } : {}),
      ...entry,
      appliedAt: new Date().toISOString(),
    });
  if (first.action === 'set-team') {
    const ops = userPatchOperations(
      { [NICE_USER_EXTENSION]: { team: { value: first.teamId, display: first.teamName } } },
      {},
    );
    await patient(() => {
      tally.requests++;
      return client.patch(`/Users/${encodeURIComponent(first.userId ?? '')}`, patchRequest(ops));
    });
    tally.done['set-team']++;
    written(first, {
      before: first.fromTeamId
        ? {
            team: {
              value: first.fromTeamId,
              ...(first.fromTeam && first.fromTeam !== first.fromTeamId ? { display: first.fromTeam } : {}),
            },
          }
        : {},
      after: { team: { value: first.teamId ?? '', ...(first.teamName ? { display: first.teamName } : {}) } },
    });
    return;
  }
  if (first.action === 'remove-skill') {
    const outcome = await admin.removeSkillAgent(first.skillId ?? 0, first.agentId ?? 0);
    if (outcome === 'absent') tally.alreadyApplied++;
    else {
      tally.done['remove-skill']++;
      written(first, { before: { proficiency: first.from }, after: {} });
    }
    return;
  }
  const agents: SkillAgentWrite[] = unit.map((c) => ({ agentId: c.agentId ?? 0, proficiency: c.proficiency ?? 0 }));
  const results = await admin.upsertSkillAgents(first.skillId ?? 0, agents);
  unit.forEach((change, index) => {
    const result = results[index];
    if (result.success) {
      tally.done[change.action]++;
      written(change, {
        before: change.action === 'set-proficiency' ? { proficiency: change.from } : {},
        after: { proficiency: change.proficiency },
      });
    } else fail(change, result.error ?? 'the provider did not apply it');
  });
}

export function createAssignmentActivities(deps: ActivityDeps) {
  return {
    /** Reads the source, the managed skills' agents, the employees and the teams named; plans and stores the plan. */
    planAssignmentSync: (input: AssignmentPlanInput) => asActivity(() => planAssignmentSync(deps, input)),
    /** Applies one stored slice of an assignment plan: team PATCHes, skill upserts, skill removals. */
    applyAssignmentChanges: (input: ApplyAssignmentsInput) => asActivity(() => applyAssignmentChanges(deps, input)),
  };
}
