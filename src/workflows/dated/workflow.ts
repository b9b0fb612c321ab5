import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { ApplyDatedActionResult } from '../../activities/dated';
import { FailureType } from '../../core/failures';
import { DATED_PLAN_SIGNAL, type DatedActionKind } from '../../scim/dated-actions';
import { messageOf } from '../failures';
import { ReportRecorder } from '../report';
import {
  applyPlan,
  cancelAction,
  initialState,
  nextEntry,
  recordOutcome,
  stateView,
  takeDue,
  type DatedEntry,
  type DatedPlan,
  type DatedUserState,
  type DatedUserView,
} from './schedule';

export type { DatedEntry, DatedPlan, DatedUserState, DatedUserView } from './schedule';

export interface DatedUserActionsInput {
  tenant: string;
  userName: string;
  /** The User endpoint, relative to the tenant's SCIM base. Default `/Users`. */
  endpoint?: string;
  /** Plans, cancellations and fired actions per run before continue-as-new. Default 100. */
  maxEventsPerRun?: number;
  /** Set by continue-as-new. */
  carried?: { state: DatedUserState; user?: Record<string, unknown> };
}

export interface DatedUserActionsResult {
  tenant: string;
  userName: string;
  /** The actions carried out, failed, removed or cancelled (the last 20). */
  recent: DatedEntry[];
}

export interface CancelDatedActionRequest {
  kind: DatedActionKind;
  /** Who (recorded, and shown by `cxone-scim pending`). */
  by: string;
  reason?: string;
}

/** A planner's new view of the user's dates: signal-with-start (see the CLI's `pending schedule`, and the sync). */
export const datedPlanSignal = defineSignal<[DatedPlan]>(DATED_PLAN_SIGNAL);
/** An operator's cancellation (`cxone-scim pending cancel`): refused, leaving no trace, when nothing is pending. */
export const cancelDatedActionUpdate = defineUpdate<DatedEntry, [CancelDatedActionRequest]>('cancelDatedAction');
/** The user's pending and recent dated actions. */
export const datedStateQuery = defineQuery<DatedUserView>('state');

export const DEFAULT_MAX_DATED_EVENTS_PER_RUN = 100;

// A dated action waits for its day, then retries for a day at most (a deadline, not an attempt count).
const { applyDatedAction } = proxyActivities<Activities>({
  startToCloseTimeout: '60 seconds',
  scheduleToCloseTimeout: '24 hours',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

const KINDS: readonly string[] = ['create', 'activate', 'deactivate'];

/** Why a signalled plan is malformed (it is then recorded and ignored), or undefined. */
function planProblem(plan: unknown): string | undefined {
  const p = plan as Partial<DatedPlan> | null;
  if (typeof p !== 'object' || p === null) return 'a plan must be an object';
  if (typeof p.plannedAt !== 'string' || Number.isNaN(Date.parse(p.plannedAt))) return 'plannedAt: not an ISO instant';
  if (!Array.isArray(p.actions)) return 'actions: must be an array';
  for (const [i, a] of p.actions.entries()) {
    if (!KINDS.includes(a?.kind)) return `actions[${i}].kind: must be create, activate or deactivate`;
    if (typeof a.at !== 'string' || Number.isNaN(Date.parse(a.at))) return `actions[${i}].at: not an ISO instant`;
  }
  return undefined;
}

// No userName: this is the timer's summary and the UI's current details (the workflow id names the user by a hash).
const describe = (e: DatedEntry) =>
  `${e.kind === 'create' ? `create${e.active ? '' : ' (inactive)'}` : e.kind} at ${e.kind === 'deactivate' ? 'end' : 'start'} of ${e.date} ${e.timeZone} (${e.localAt} = ${e.at})`;

/**
 * Future-dated joiners and leavers: one workflow per (tenant, user) holding that user's pending
 * dated actions — create (a lead time before the start), activate (local start of day one),
 * deactivate (local end of the last day) — with one durable timer for the earliest.
 *
 *   datedPlan signal (signal-with-start by the planner, whenever the source's dates are read)
 *     ├─ older than the last plan ─▶ ignored
 *     └─ per kind: new ─▶ scheduled │ other instant ─▶ moved │ absent ─▶ removed
 *        (the timer is cancelled and set again for the new earliest action: never two timers)
 *   cancelDatedAction update ─▶ the action is held (cancelled) until its instant, so that the same
 *     date in a later export stays cancelled; a new date schedules it again
 *   timer fires ─▶ applyDatedAction (verified lookup, then only what differs) ─▶ done │ failed
 *   nothing left ─▶ completes (the next plan starts a new run); every 100 events ─▶ continue-as-new
 *
 * The instants come computed (UTC) from the planner, which reads the time-zone database: workflow
 * code never does, so a replay on a Node with other tz data takes the same decisions.
 */
export async function datedUserActions(input: DatedUserActionsInput): Promise<DatedUserActionsResult> {
  const info = workflowInfo();
  const prefix = `dated-user:${encodeURIComponent(input.tenant)}:`;
  if (!info.workflowId.startsWith(prefix))
    throw ApplicationFailure.nonRetryable(
      `datedUserActions must run with the workflow id of its user (datedUserWorkflowId: "${prefix}<hash of userName>", got "${info.workflowId}")`,
      FailureType.WrongWorkflowId,
    );
  const { carried, ...request } = input;
  const report = new ReportRecorder<Omit<DatedUserActionsInput, 'carried'>, DatedUserActionsResult>(
    input.tenant,
    request,
  );
  let state: DatedUserState = carried?.state ?? initialState(input.tenant, input.userName);
  let user = carried?.user;
  /** Changes whenever a plan or a cancellation changed the live entries: wakes the timer. */
  let version = 0;
  let events = 0;
  const maxEvents = input.maxEventsPerRun ?? DEFAULT_MAX_DATED_EVENTS_PER_RUN;

  setHandler(datedStateQuery, () => stateView(state));
  setHandler(datedPlanSignal, (plan: DatedPlan) => {
    events++;
    const problem = planProblem(plan);
    if (problem) {
      report.steps.push({
        step: 'plan',
        startedAt: new Date(Date.now()).toISOString(),
        durationMs: 0,
        outcome: 'failed',
        detail: `malformed plan ignored: ${problem}`,
      });
      log.error('datedUserActions: malformed plan ignored', { problem });
      return;
    }
    const applied = applyPlan(state, plan);
    state = applied.state;
    if (!applied.ignored && plan.user) user = plan.user;
    if (applied.changes.length > 0) report.skip('plan', applied.changes.join('; '));
    version++;
  });
  setHandler(
    cancelDatedActionUpdate,
    (request: CancelDatedActionRequest): DatedEntry => {
      const result = cancelAction(state, request.kind, request.by, request.reason, Date.now());
      if (!result.entry) throw ApplicationFailure.nonRetryable(result.refusal ?? 'refused', FailureType.InvalidEvent);
      events++;
      state = result.state;
      report.skip(
        `cancel ${request.kind}`,
        `${result.entry.at} cancelled by ${request.by}${request.reason ? `: ${request.reason}` : ''}`,
      );
      version++;
      return result.entry;
    },
    {
      validator: (request: CancelDatedActionRequest) => {
        if (!KINDS.includes(request?.kind))
          throw ApplicationFailure.nonRetryable(
            'kind: must be create, activate or deactivate',
            FailureType.InvalidEvent,
          );
        const refusal = cancelAction(state, request.kind, String(request.by ?? ''), undefined, Date.now()).refusal;
        if (refusal) throw ApplicationFailure.nonRetryable(refusal, FailureType.InvalidEvent);
      },
    },
  );

  async function carryOut(entry: DatedEntry): Promise<void> {
    let result: ApplyDatedActionResult;
    try {
      result = await report.step(
        `${entry.kind} (${entry.date} ${entry.timeZone})`,
        () =>
          applyDatedAction({
            tenant: input.tenant,
            userName: input.userName,
            kind: entry.kind,
            ...(entry.kind === 'create' ? { user, active: entry.active === true } : {}),
            ...(input.endpoint ? { endpoint: input.endpoint } : {}),
          }),
        (r) => ({ detail: r.detail }),
      );
    } catch (err) {
      state = recordOutcome(state, entry, false, messageOf(err));
      return;
    }
    // An activation of a user who is not there is a problem (the joiner was never created); a deactivation is not.
    const ok = result.outcome !== 'not-found' || entry.kind === 'deactivate';
    state = recordOutcome(state, entry, ok, result.detail);
    if (!ok) log.error('datedUserActions: action found no user', { kind: entry.kind, detail: result.detail });
  }

  return report.complete(async () => {
    for (;;) {
      if (events >= maxEvents || workflowInfo().continueAsNewSuggested) {
        // History stays bounded: the state (and the user a create needs) travels to a new run.
        await condition(allHandlersFinished);
        log.info('datedUserActions continues as new', { run: state.run, events });
        await continueAsNew<typeof datedUserActions>({
          ...request,
          carried: { state: { ...state, run: state.run + 1 }, ...(user ? { user } : {}) },
        });
      }
      const next = nextEntry(state);
      if (!next) {
        // Nothing left: complete, unless a plan arrives while the handlers finish.
        report.details.set('next', 'next: nothing pending');
        await condition(allHandlersFinished);
        if (nextEntry(state)) continue;
        return { tenant: input.tenant, userName: input.userName, recent: state.recent };
      }
      const wait = Date.parse(next.at) - Date.now();
      if (wait > 0) {
        const seen = version;
        const what = `${next.status === 'held' ? 'cancelled: ' : ''}${describe(next)}`;
        report.details.set('next', `next: ${what}`);
        // One durable timer, for the earliest action; a plan or a cancellation cancels it and sets the next one.
        if (await condition(() => version !== seen, wait, { summary: what })) continue;
      }
      const taken = takeDue(state, Date.now());
      state = taken.state;
      if (taken.due) await carryOut(taken.due);
      events++;
    }
  });
}
