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
  proxyLocalActivities,
  setHandler,
  setWorkflowOptions,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { IdpSyncOutcome } from '../../activities/idp';
import { FailureType } from '../../core/failures';
import { SCIM_OUTCOME } from '../../temporal/search-attributes';
import type { LifecycleEvent } from '../../scim/lifecycle-events';
import { PROVIDER_CALL } from '../activity-options';
import { messageOf } from '../failures';
import { ReportRecorder } from '../report';
import { countRecords, recordLifecycleLag } from '../business-metrics';
import type { RecordOutcome } from '../../temporal/business-metrics';
import {
  carriedState,
  nextStep,
  startMachine,
  stateView,
  syncStepFacts,
  transition,
  validateUpdate,
  type IdpCall,
  type LifecycleAction,
  type LifecycleEventAck,
  type LifecycleInput,
  type LifecycleMachine,
  type Refusal,
  type UserLifecycleInput,
  type UserLifecycleState,
} from './machine';
import { entityFigures, syncTotals } from './report';

export {
  DEFAULT_MAX_EVENTS_PER_RUN,
  DEFAULT_SEEN_EVENT_IDS,
  type CarriedState,
  type EventOutcome,
  type EventRecord,
  type IdpTarget,
  type LifecycleEventAck,
  type QueuedEvent,
  type UserLifecycleInput,
  type UserLifecycleState,
} from './machine';
import { patchedSince } from '../history-compat';

// IdP calls retry longer than other provider calls: while they retry, later events wait in the
// queue, so that the IdP still sees the changes in order.
const IDP_CALL = {
  ...PROVIDER_CALL,
  retry: { ...PROVIDER_CALL.retry, maximumInterval: '60 seconds', maximumAttempts: 20 },
} as const;
const idpActivities = proxyActivities<Activities>(IDP_CALL);
/**
 * The IdP call as a local activity: run by the worker that runs the workflow task, its result
 * recorded with that task's completion. No activity task to schedule, dispatch and report back,
 * and no second workflow task per event: bench:lifecycle measured that round trip as most of the
 * server's and worker's work per event. Safe here because every IdP call is idempotent and
 * at-least-once either way (a create retried after a lost answer finds its user: 409 → link; a
 * PATCH of snapshot values or `active` = false can be repeated), it is short (one or a few HTTP
 * requests, 60 s at most), and its retries past a minute wait on a durable timer, as an
 * activity's do on the server.
 */
const idpLocalActivities = proxyLocalActivities<Activities>(IDP_CALL);
// Runs whose history predates the patch keep calling the IdP from (remote) activities
// (history-compat: user-lifecycle-idp-local-activity).

export const lifecycleEventSignal = defineSignal<[LifecycleEvent]>('lifecycleEvent');
/**
 * The same event as an update (same name; signals and updates have separate name spaces). Its
 * validator refuses a malformed event and an eventId already received: a refused update is never
 * written to history, so a replayed delivery leaves no trace, and the caller learns the verdict.
 */
export const lifecycleEventUpdate = defineUpdate<LifecycleEventAck, [LifecycleEvent]>('lifecycleEvent');
/** ApplicationFailure types of the update's refusals (the failure list: src/core/failures.ts). */
export const DUPLICATE_EVENT = FailureType.DuplicateEvent;
export const INVALID_EVENT = FailureType.InvalidEvent;

export const stateQuery = defineQuery<UserLifecycleState>('state');

/** One workflow per tenant and CXone user: the receiver and the Temporal CLI must both use this id. */
export function userLifecycleWorkflowId(tenant: string, userId: string): string {
  // ':' cannot occur in an encoded part, so tenant "acme" + user "eu-1" and tenant "acme-eu" +
  // user "1" never share a workflow.
  return `user-lifecycle:${encodeURIComponent(tenant)}:${encodeURIComponent(userId)}`;
}

const REPORT_STEP_LIMIT = 200;

/** What each IdP operation did to the user's record at the IdP, as the records metric counts it. */
const IDP_RECORD_OUTCOMES: Record<IdpSyncOutcome['operation'], RecordOutcome> = {
  created: 'created',
  recreated: 'created',
  'linked-existing': 'updated',
  patched: 'updated',
  unchanged: 'unchanged',
  deactivated: 'deactivated',
  'not-found': 'unchanged',
};

// Under Worker Versioning a run never ends, so it could never drain from an old build: it moves to
// the current build at its next task, and changes to it are patched (README "Running a fleet").
// Only on a versioned worker: an unversioned one must not name a behaviour (the server refuses it).
setWorkflowOptions(
  () => (workflowInfo().currentDeploymentVersion?.deploymentName ? { versioningBehavior: 'AUTO_UPGRADE' } : {}),
  userLifecycle,
);

/**
 * Job 3b: one CXone user's lifecycle, kept in step with the external identity provider.
 *
 *   lifecycleEvent update (update-with-start, for callers who want a verdict): the validator refuses
 *     a malformed event or a seen eventId before anything is written; an accepted one is queued
 *   lifecycleEvent signal (the receiver's signal-with-start, whose request id Temporal dedupes within
 *   a run, or `temporal workflow signal-with-start`)
 *     ├─ malformed / unknown type / other user ─▶ rejected: kept in state.rejected, a failed report
 *     │                                            step, an error log and ScimOutcome=attention
 *     ├─ eventId seen before ────────────────────▶ duplicate: counted, nothing else
 *     └─ queued (arrival order)
 *   main loop, one event at a time:
 *     ├─ older than the last applied event ──────▶ out-of-order: ignored (its snapshot is stale)
 *     └─ apply to state ─▶ IdP sync activity: create (POST) │ PATCH (changed attributes) │ deactivate
 *   after maxEventsPerRun events (or when Temporal suggests it), once every handler finished
 *     ─▶ continue-as-new carrying state, seen eventIds, latency samples and still-queued events.
 *
 * Every decision above is made by the pure state machine in ./machine.ts; this function only feeds
 * it signals, updates and activity results and carries out the actions it returns.
 *
 * The workflow never completes: it is the user's record. Rejections and failed IdP syncs set
 * ScimOutcome=attention (sticky for rejections), so `ScimOutcome = "attention"` finds them.
 *
 * Ordering: events are applied in arrival order, except that an event whose timestamp is older
 * than the last applied one is ignored. Every event carries CXone's full snapshot of the user,
 * so the newest snapshot wins and a late retry of an older change cannot undo a newer one.
 */
export async function userLifecycle(input: UserLifecycleInput): Promise<never> {
  const info = workflowInfo();
  const expectedId = userLifecycleWorkflowId(input.tenant, input.userId);
  if (info.workflowId !== expectedId) {
    throw ApplicationFailure.nonRetryable(
      `userLifecycle must run with workflow id "${expectedId}" so that every event for this user reaches one workflow ` +
        `(got "${info.workflowId}")`,
      FailureType.WrongWorkflowId,
    );
  }
  // Decided once per run (its first task), so that a run replays the same kind of call throughout.
  const { idpCreateUser, idpPatchUser, idpDeactivateUser } = patchedSince('user-lifecycle-idp-local-activity')
    ? idpLocalActivities
    : idpActivities;
  const { carried: _omitted, ...request } = input;
  const report = new ReportRecorder<Omit<UserLifecycleInput, 'carried'>>(input.tenant, request);
  const started = startMachine(input);
  let machine: LifecycleMachine = started.machine;
  report.useTotals(() => syncTotals(machine.state, machine.syncLatenciesMs));
  report.useEntity(() => entityFigures(machine.state, machine.syncLagsMs));
  perform(started.actions);

  /** Carries out the machine's actions but the IdP call, which it returns for the caller to await. */
  function perform(actions: LifecycleAction[]): Extract<LifecycleAction, { type: 'sync-idp' }> | undefined {
    let sync: Extract<LifecycleAction, { type: 'sync-idp' }> | undefined;
    for (const action of actions) {
      switch (action.type) {
        case 'report-skip':
          report.skip(action.step, action.detail);
          break;
        case 'report-failed':
          report.steps.push({
            step: action.step,
            startedAt: action.startedAt,
            durationMs: 0,
            outcome: 'failed',
            detail: action.detail,
          });
          break;
        case 'trim-report':
          if (report.steps.length > REPORT_STEP_LIMIT) report.steps.splice(0, report.steps.length - REPORT_STEP_LIMIT);
          break;
        case 'log-error':
          log.error(action.message, action.fields);
          break;
        case 'set-outcome':
          // ScimOutcome: `running`, or `attention` after a rejected event or a failed IdP sync. The
          // machine asks only when it changes, so that a busy user's history is not one upsert per event.
          upsertSearchAttributes([{ key: SCIM_OUTCOME, value: action.value }]);
          break;
        case 'sync-idp':
          sync = action;
          break;
      }
    }
    return sync;
  }
  const feed = (event: LifecycleInput) => {
    const next = transition(machine, event);
    machine = next.machine;
    return { ...next, sync: perform(next.actions) };
  };
  const refuse = (refusal: Refusal) => ApplicationFailure.nonRetryable(refusal.reason, refusal.failureType);

  setHandler(stateQuery, () => stateView(machine));
  setHandler(
    lifecycleEventUpdate,
    (raw: LifecycleEvent): LifecycleEventAck => {
      const { ack, refusal } = feed({ type: 'update', raw, at: Date.now() });
      if (refusal || !ack) throw refuse(refusal ?? { failureType: INVALID_EVENT, reason: 'not acknowledged' });
      return ack;
    },
    {
      // Runs before anything is written: a refusal leaves the history untouched.
      validator: (raw: LifecycleEvent) => {
        const refusal = validateUpdate(machine, raw);
        if (refusal) throw refuse(refusal);
      },
    },
  );
  setHandler(lifecycleEventSignal, (raw: unknown) => {
    feed({ type: 'signal', raw, at: Date.now() });
  });

  /** The next queued event: applied (and synced to the IdP), or ignored as out of order. */
  async function applyNext(): Promise<void> {
    const { sync } = feed({ type: 'apply-next', at: Date.now() });
    if (!sync) return;
    let outcome: IdpSyncOutcome;
    try {
      outcome = await report.step(sync.step, () => callIdp(sync.call), syncStepFacts);
    } catch (err) {
      feed({ type: 'idp-sync-failed', error: messageOf(err), at: Date.now() });
      countRecords(input.tenant, { failed: 1 });
      return;
    }
    feed({ type: 'idp-synced', outcome, at: Date.now() });
    countRecords(input.tenant, { [IDP_RECORD_OUTCOMES[outcome.operation]]: 1 });
    // The lag the machine just sampled for this change.
    const lag = machine.syncLagsMs[machine.syncLagsMs.length - 1];
    if (lag !== undefined) recordLifecycleLag(input.tenant, lag);
  }

  function callIdp(call: IdpCall): Promise<IdpSyncOutcome> {
    switch (call.activity) {
      case 'idpCreateUser':
        return idpCreateUser(call.tenant, call.change);
      case 'idpPatchUser':
        return idpPatchUser(call.tenant, call.idpUserId, call.change, call.operations);
      case 'idpDeactivateUser':
        return idpDeactivateUser(call.tenant, call.target);
    }
  }

  const next = () => nextStep(machine, workflowInfo().continueAsNewSuggested);
  for (;;) {
    await condition(() => next() !== 'wait');
    while (next() === 'apply') await applyNext();
    if (next() === 'continue-as-new') {
      // Events still queued travel with the new run, as do the state, the seen eventIds and the
      // latency samples. A signal that reaches Temporal while this completes makes Temporal refuse
      // the continue-as-new; the task is retried with that signal queued first.
      await condition(allHandlersFinished);
      log.info('userLifecycle continues as new', {
        run: machine.state.run,
        appliedThisRun: machine.appliedThisRun,
        queued: machine.queue.length,
        historyLength: workflowInfo().historyLength,
      });
      await continueAsNew<typeof userLifecycle>({ ...request, carried: carriedState(machine) });
    }
  }
}
