// The state of one user's dated actions (datedUserActions), and how a new plan from the source, an
// operator's cancellation and a fired action change it. Pure and deterministic: the workflow feeds
// it and carries out what it says; the unit tests drive it directly.
import type { DatedAction, DatedActionKind, DatedPlan } from '../../scim/dated-actions';

export type { DatedPlan } from '../../scim/dated-actions';

/**
 * - `pending`: waiting for its instant;
 * - `held`: cancelled by an operator; remembered until its instant, so that the same date in a later export stays cancelled;
 * - `done` / `failed`: fired; `removed`: the source no longer asks for it; `cancelled`: an operator's hold that ended.
 */
export type DatedEntryStatus = 'pending' | 'held' | 'done' | 'failed' | 'removed' | 'cancelled';

export interface DatedEntry extends DatedAction {
  status: DatedEntryStatus;
  /** Earlier instants of this action, oldest first: the dates HR moved it from. */
  movedFrom?: string[];
  /** Workflow time the timer fired (done, failed). */
  firedAt?: string;
  /** What the provider call found (`deactivated`, `already inactive`, …) or why it failed. */
  outcome?: string;
  /** Who cancelled it and why (held, cancelled). */
  cancelled?: { by: string; reason?: string; at: string };
}

export interface DatedUserState {
  tenant: string;
  userName: string;
  /** Pending and held entries, earliest first: at most one per kind. */
  live: DatedEntry[];
  /** Finished entries, newest last (the last RECENT_LIMIT). */
  recent: DatedEntry[];
  plansApplied: number;
  plansIgnored: number;
  lastPlannedAt?: string;
  lastSource?: string;
  /** Runs of the workflow so far (continue-as-new). */
  run: number;
}

/** The query `state` answers: the state, each live entry with the id `pending cancel` takes. */
export interface DatedUserView extends DatedUserState {
  live: Array<DatedEntry & { id: string }>;
}

export const RECENT_LIMIT = 20;

export function initialState(tenant: string, userName: string): DatedUserState {
  return { tenant, userName, live: [], recent: [], plansApplied: 0, plansIgnored: 0, run: 1 };
}

/** The id of a user's action for `cxone-scim pending cancel`: tenant, userName and kind. */
export function datedActionId(tenant: string, userName: string, kind: DatedActionKind): string {
  return `${tenant}/${userName}/${kind}`;
}

/** The inverse of datedActionId, or undefined when `id` is not one. */
export function parseDatedActionId(
  id: string,
): { tenant: string; userName: string; kind: DatedActionKind } | undefined {
  const first = id.indexOf('/');
  const last = id.lastIndexOf('/');
  if (first <= 0 || last <= first + 1) return undefined;
  const kind = id.slice(last + 1);
  if (kind !== 'create' && kind !== 'activate' && kind !== 'deactivate') return undefined;
  return { tenant: id.slice(0, first), userName: id.slice(first + 1, last), kind };
}

/** State is plain JSON; a copy keeps every transition a pure function (structuredClone is not in every workflow sandbox). */
const copy = (state: DatedUserState): DatedUserState => JSON.parse(JSON.stringify(state)) as DatedUserState;

const byInstant = (a: DatedEntry, b: DatedEntry) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0);

function finish(state: DatedUserState, entry: DatedEntry): void {
  state.recent.push(entry);
  if (state.recent.length > RECENT_LIMIT) state.recent.splice(0, state.recent.length - RECENT_LIMIT);
}

/** What a plan changed, one line each, for the report and the log. */
export type PlanChange = string;

/**
 * Applies a plan: a new kind is scheduled, a moved date moves the action (one timer per action,
 * never two), a kind the plan lacks is removed. An operator's hold on the same instant stays. A plan
 * read before the last one applied is ignored (two overlapping syncs).
 */
export function applyPlan(
  previous: DatedUserState,
  plan: DatedPlan,
): { state: DatedUserState; changes: PlanChange[]; ignored: boolean } {
  const state: DatedUserState = copy(previous);
  if (state.lastPlannedAt !== undefined && plan.plannedAt < state.lastPlannedAt) {
    state.plansIgnored++;
    return {
      state,
      changes: [`plan of ${plan.plannedAt} ignored: older than the one of ${state.lastPlannedAt}`],
      ignored: true,
    };
  }
  const changes: PlanChange[] = [];
  const wanted = new Map<DatedActionKind, DatedAction>();
  for (const action of plan.actions) wanted.set(action.kind, action);
  const live: DatedEntry[] = [];
  for (const entry of state.live) {
    const next = wanted.get(entry.kind);
    if (!next) {
      finish(state, { ...entry, status: entry.status === 'held' ? 'cancelled' : 'removed' });
      changes.push(`${entry.kind} at ${entry.at} removed: the source no longer asks for it`);
      continue;
    }
    wanted.delete(entry.kind);
    if (next.at === entry.at) {
      live.push({ ...entry, ...next, status: entry.status });
      continue;
    }
    if (entry.status === 'held') finish(state, { ...entry, status: 'cancelled' });
    live.push({ ...next, status: 'pending', movedFrom: [...(entry.movedFrom ?? []), entry.at] });
    changes.push(`${entry.kind} moved from ${entry.at} to ${next.at}`);
  }
  for (const next of wanted.values()) {
    live.push({ ...next, status: 'pending' });
    changes.push(`${next.kind} scheduled at ${next.at}`);
  }
  state.live = live.sort(byInstant);
  state.plansApplied++;
  state.lastPlannedAt = plan.plannedAt;
  if (plan.source !== undefined) state.lastSource = plan.source;
  return { state, changes, ignored: false };
}

/** An operator's cancellation: the pending entry becomes a hold until its instant; why not, when it cannot. */
export function cancelAction(
  previous: DatedUserState,
  kind: DatedActionKind,
  by: string,
  reason: string | undefined,
  now: number,
): { state: DatedUserState; entry?: DatedEntry; refusal?: string } {
  const entry = previous.live.find((e) => e.kind === kind);
  if (!entry) return { state: previous, refusal: `${previous.userName} has no pending ${kind}` };
  if (entry.status === 'held')
    return { state: previous, refusal: `${previous.userName}'s ${kind} at ${entry.at} is cancelled already` };
  const state: DatedUserState = copy(previous);
  const held: DatedEntry = {
    ...entry,
    status: 'held',
    cancelled: { by, ...(reason ? { reason } : {}), at: new Date(now).toISOString() },
  };
  state.live = state.live.map((e) => (e.kind === kind ? held : e));
  return { state, entry: held };
}

/** The earliest live entry, if any: what the workflow's timer waits for. */
export function nextEntry(state: DatedUserState): DatedEntry | undefined {
  return state.live[0];
}

/** The entry is due: a pending one is to be carried out, a hold simply ends. */
export function takeDue(
  previous: DatedUserState,
  now: number,
): { state: DatedUserState; due?: DatedEntry; ended?: DatedEntry } {
  const first = previous.live[0];
  if (!first || Date.parse(first.at) > now) return { state: previous };
  const state: DatedUserState = copy(previous);
  state.live.shift();
  if (first.status === 'held') {
    finish(state, { ...first, status: 'cancelled' });
    return { state, ended: first };
  }
  return { state, due: { ...first, firedAt: new Date(now).toISOString() } };
}

/** Records the outcome of a fired entry. */
export function recordOutcome(
  previous: DatedUserState,
  entry: DatedEntry,
  ok: boolean,
  outcome: string,
): DatedUserState {
  const state: DatedUserState = copy(previous);
  finish(state, { ...entry, status: ok ? 'done' : 'failed', outcome });
  return state;
}

export function stateView(state: DatedUserState): DatedUserView {
  return {
    ...state,
    live: state.live.map((e) => ({ ...e, id: datedActionId(state.tenant, state.userName, e.kind) })),
  };
}
