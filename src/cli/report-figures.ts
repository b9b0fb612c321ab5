// What an auditor asks of a period, computed from the workflows' own `report` answers: runs per
// day by outcome and their success rate, failed runs by failure type, every deletion decision
// (who, when, which plan, how many), and every deactivation. The JSON report carries these
// figures and the HTML page renders exactly them, so both always say the same.
import { failureEntry, type FailureClass } from '../core/failures';
import type { WorkflowReport } from '../workflows/report';
import type { DeletionDecision } from '../workflows/sync/deletion-approval';

export type RunStatus = WorkflowReport['status'];
export const RUN_STATUSES: readonly RunStatus[] = ['succeeded', 'partial', 'quarantined', 'failed', 'running'];

export interface DayFigures {
  /** UTC date, YYYY-MM-DD: runs started that day. */
  day: string;
  runs: number;
  byStatus: Record<RunStatus, number>;
  /** Units of work of those runs (users for provisionUsers, changes for syncs, steps otherwise). */
  attempted: number;
  succeeded: number;
  /** succeeded / attempted; null when nothing was attempted that day. */
  successRate: number | null;
}

export interface FailureTypeFigures {
  /** The failure's type (src/core/failures.ts), or `unclassified` when the run recorded none. */
  type: string;
  class?: FailureClass;
  runs: number;
  meaning?: string;
}

export interface RunRef {
  workflowType: string;
  workflowId: string;
  runId: string;
  tenant: string;
}

/** A decision on a sync's removals above the deletion threshold. */
export interface DecisionFigures extends RunRef {
  decision: DeletionDecision['decision'];
  by?: string;
  at: string;
  planHash: string;
  reason?: string;
  /** What the plan would remove: users (syncUsers), or groups and memberships (syncGroups). */
  removals: { users?: number; groups?: number; memberships?: number };
  /** Why the threshold was exceeded. */
  thresholdReason?: string;
}

/** What a run deactivated or removed. */
export interface DeactivationFigures extends RunRef {
  /** When the run completed (for a lifecycle workflow: its latest deactivation). */
  at: string;
  usersDeactivated: number;
  usersDeleted: number;
  groupsDeleted: number;
  membershipsRemoved: number;
  /** Who approved the removals, when they needed approval. */
  approvedBy?: string;
}

export interface AuditFigures {
  /** Over the runs that finish (entity workflows such as userLifecycle are reported apart). */
  totals: Omit<DayFigures, 'day'>;
  days: DayFigures[];
  failuresByType: FailureTypeFigures[];
  decisions: DecisionFigures[];
  deactivations: DeactivationFigures[];
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Beyond this many days, only the days with runs are listed (one bar a day would be unreadable anyway). */
const MAX_FILLED_DAYS = 370;

const dayOf = (iso: string) => iso.slice(0, 10);

function emptyDay(day: string): DayFigures {
  return {
    day,
    runs: 0,
    byStatus: Object.fromEntries(RUN_STATUSES.map((s) => [s, 0])) as Record<RunStatus, number>,
    attempted: 0,
    succeeded: 0,
    successRate: null,
  };
}

function addRun(figures: Omit<DayFigures, 'day'>, run: WorkflowReport): void {
  figures.runs++;
  figures.byStatus[run.status]++;
  figures.attempted += run.totals.attempted;
  figures.succeeded += run.totals.succeeded;
  figures.successRate = figures.attempted === 0 ? null : figures.succeeded / figures.attempted;
}

/** Every day from `from` to `to` (UTC dates, inclusive). */
function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += DAY_MS)
    days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

/** Runs per day; the days of the period without runs are listed too, so the chart shows the gaps. */
function perDay(runs: readonly WorkflowReport[], period: { since?: string; until?: string }): DayFigures[] {
  const byDay = new Map<string, DayFigures>();
  for (const run of runs) {
    const day = dayOf(run.startedAt);
    const figures = byDay.get(day) ?? emptyDay(day);
    addRun(figures, run);
    byDay.set(day, figures);
  }
  const seen = [...byDay.keys()].sort();
  const first = period.since ? dayOf(period.since) : seen[0];
  // `until` is exclusive: a run started at exactly midnight belongs to the next day, outside.
  const last = period.until ? dayOf(new Date(Date.parse(period.until) - 1).toISOString()) : seen.at(-1);
  if (first && last && first <= last && (Date.parse(last) - Date.parse(first)) / DAY_MS < MAX_FILLED_DAYS) {
    for (const day of daysBetween(first, last)) if (!byDay.has(day)) byDay.set(day, emptyDay(day));
  }
  return [...byDay.values()].sort((a, b) => a.day.localeCompare(b.day));
}

function failuresByType(runs: readonly WorkflowReport[]): FailureTypeFigures[] {
  const counts = new Map<string, number>();
  for (const run of runs) {
    if (run.status !== 'failed') continue;
    const type = run.errorType ?? 'unclassified';
    counts.set(type, (counts.get(type) ?? 0) + 1);
  }
  return [...counts]
    .map(([type, count]) => {
      const entry = failureEntry(type);
      return { type, runs: count, ...(entry ? { class: entry.class, meaning: entry.meaning } : {}) };
    })
    .sort((a, b) => b.runs - a.runs || a.type.localeCompare(b.type));
}

const refOf = (run: WorkflowReport): RunRef => ({
  workflowType: run.workflowType,
  workflowId: run.workflowId,
  runId: run.runId,
  tenant: run.tenant,
});

/** The removal figures of a sync's result: SyncUsersResult's and SyncGroupsResult's fields of that name. */
interface RemovalResult {
  deletionDecision?: DeletionDecision;
  /** syncUsers: deactivate, delete; syncGroups: deleted (groups), membersRemoved. */
  applied?: { deactivate?: number; delete?: number; deleted?: number; membersRemoved?: number };
  /** syncUsers: removals; syncGroups: groups, memberships. */
  threshold?: { reason?: string; removals?: number; groups?: number; memberships?: number };
}

function removalResult(run: WorkflowReport): RemovalResult | undefined {
  return run.result && typeof run.result === 'object' ? (run.result as RemovalResult) : undefined;
}

function decisionOf(run: WorkflowReport): DecisionFigures | undefined {
  const result = removalResult(run);
  const decision = result?.deletionDecision;
  if (!decision) return undefined;
  const t = result.threshold ?? {};
  return {
    ...refOf(run),
    decision: decision.decision,
    ...(decision.by ? { by: decision.by } : {}),
    at: decision.at,
    planHash: decision.planHash,
    ...(decision.reason ? { reason: decision.reason } : {}),
    removals: {
      ...(t.removals !== undefined ? { users: t.removals } : {}),
      ...(t.groups !== undefined ? { groups: t.groups } : {}),
      ...(t.memberships !== undefined ? { memberships: t.memberships } : {}),
    },
    ...(t.reason ? { thresholdReason: t.reason } : {}),
  };
}

// userLifecycle names the step of an event's IdP sync `<eventType> <eventId>: sync to IdP <tenant>`
// (src/workflows/user-lifecycle/machine.ts); its report keeps the latest steps only.
const LIFECYCLE_DEACTIVATION = /^USER_DEACTIVATED \S+: sync to IdP /;

function deactivationOf(run: WorkflowReport): DeactivationFigures | undefined {
  if (run.entity) {
    const synced = run.steps.filter((s) => s.outcome === 'succeeded' && LIFECYCLE_DEACTIVATION.test(s.step));
    if (synced.length === 0) return undefined;
    return {
      ...refOf(run),
      at: synced.at(-1)?.startedAt as string,
      usersDeactivated: synced.length,
      usersDeleted: 0,
      groupsDeleted: 0,
      membershipsRemoved: 0,
    };
  }
  const applied = removalResult(run)?.applied;
  if (!applied) return undefined;
  const figures = {
    usersDeactivated: applied.deactivate ?? 0,
    usersDeleted: applied.delete ?? 0,
    groupsDeleted: applied.deleted ?? 0,
    membershipsRemoved: applied.membersRemoved ?? 0,
  };
  if (Object.values(figures).every((n) => n === 0)) return undefined;
  const decision = removalResult(run)?.deletionDecision;
  return {
    ...refOf(run),
    at: run.completedAt ?? run.startedAt,
    ...figures,
    ...(decision?.decision === 'approved' && decision.by ? { approvedBy: decision.by } : {}),
  };
}

/** The audit figures of the gathered runs; `period` is the report's filter (`until` exclusive). */
export function auditFigures(
  runs: readonly WorkflowReport[],
  period: { since?: string; until?: string } = {},
): AuditFigures {
  const finishing = runs.filter((r) => !r.entity);
  const totals = emptyDay('');
  for (const run of finishing) addRun(totals, run);
  const { day: _day, ...totalFigures } = totals;
  const byTime = (a: { at: string }, b: { at: string }) => a.at.localeCompare(b.at);
  return {
    totals: totalFigures,
    days: perDay(finishing, period),
    failuresByType: failuresByType(finishing),
    decisions: runs.flatMap((r) => decisionOf(r) ?? []).sort(byTime),
    deactivations: runs.flatMap((r) => deactivationOf(r) ?? []).sort(byTime),
  };
}

/** Where the report's runs are seen in the Temporal UI. */
export interface TemporalUiTarget {
  namespace: string;
  /** The Temporal UI's address, e.g. http://localhost:8233. */
  uiUrl: string;
}

/** A run's page in the Temporal UI (its history). */
export function runUiUrl(target: TemporalUiTarget, run: Pick<RunRef, 'workflowId' | 'runId'>): string {
  const base = target.uiUrl.replace(/\/+$/, '');
  return `${base}/namespaces/${encodeURIComponent(target.namespace)}/workflows/${encodeURIComponent(run.workflowId)}/${encodeURIComponent(run.runId)}/history`;
}

/** `--until`: a time is taken as is (exclusive); a bare date (YYYY-MM-DD) includes that whole UTC day. */
export function untilInstant(until: string): string {
  const time = Date.parse(until);
  return new Date(/^\d{4}-\d{2}-\d{2}$/.test(until.trim()) ? time + DAY_MS : time).toISOString();
}
