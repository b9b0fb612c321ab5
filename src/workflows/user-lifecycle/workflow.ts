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
  setWorkflowOptions,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { IdpSyncOutcome } from '../../activities/idp';
import { formatIssues } from '../../core/decode';
import { FailureType } from '../../core/failures';
import { SCIM_OUTCOME } from '../../temporal/search-attributes';
import { parseLifecycleEvent, type LifecycleEvent } from '../../scim/lifecycle-events';
import { idpPatchOperations, type ScimUser } from '../../scim/idp-user';
import { PROVIDER_CALL } from '../activity-options';
import { messageOf } from '../failures';
import { ReportRecorder } from '../report';
import { entityFigures, syncTotals, type IdpSyncState, type LifecycleCounts } from './report';

// IdP calls retry longer than other provider calls: while they retry, later events wait in the
// queue, so that the IdP still sees the changes in order.
const { idpCreateUser, idpPatchUser, idpDeactivateUser } = proxyActivities<Activities>({
  ...PROVIDER_CALL,
  retry: { ...PROVIDER_CALL.retry, maximumInterval: '60 seconds', maximumAttempts: 20 },
});

/** Where a user's changes go. `none` keeps the state in Temporal only. */
export type IdpTarget = { type: 'scim'; tenant: string } | { type: 'none' };

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

export interface LifecycleEventAck {
  eventId: string;
  /** The run (1-based, +1 per continue-as-new) that queued it. */
  run: number;
  /** Events waiting to be applied, this one included. */
  pending: number;
}
export const stateQuery = defineQuery<UserLifecycleState>('state');

/** One workflow per tenant and CXone user: the receiver and the Temporal CLI must both use this id. */
export function userLifecycleWorkflowId(tenant: string, userId: string): string {
  // ':' cannot occur in an encoded part, so tenant "acme" + user "eu-1" and tenant "acme-eu" +
  // user "1" never share a workflow.
  return `user-lifecycle:${encodeURIComponent(tenant)}:${encodeURIComponent(userId)}`;
}

export const DEFAULT_MAX_EVENTS_PER_RUN = 500;
export const DEFAULT_SEEN_EVENT_IDS = 1000;
const RECENT_LIMIT = 50;
const REPORT_STEP_LIMIT = 200;
const LATENCY_SAMPLES = 200;

export interface UserLifecycleInput {
  /** The CXone tenant (TenantRegistry id) the events come from. */
  tenant: string;
  /** The CXone user id. */
  userId: string;
  /** Default `{ type: 'none' }`. */
  idp?: IdpTarget;
  /** Continue-as-new after this many events (default 500), or sooner when Temporal suggests it. */
  maxEventsPerRun?: number;
  /** How many recent eventIds are remembered for deduplication (default 1000). */
  seenEventIdLimit?: number;
  /** Set by continue-as-new only: everything the previous run knew. */
  carried?: CarriedState;
}

export type EventOutcome = 'applied' | 'duplicate' | 'out-of-order' | 'rejected' | 'sync-failed';

export interface EventRecord {
  eventId: string;
  eventType: string;
  timestamp?: string;
  receivedAt: string;
  outcome: EventOutcome;
  detail?: string;
  idpOperation?: string;
}

export interface UserLifecycleState {
  tenant: string;
  userId: string;
  idp: IdpTarget;
  /** From CXone's point of view, after the last applied event. */
  status: 'unknown' | 'active' | 'inactive';
  /** CXone's snapshot of the user after the last applied event. */
  user?: ScimUser;
  lastApplied?: { eventId: string; eventType: string; timestamp: string; appliedAt: string };
  idpUserId?: string;
  idpSync: IdpSyncState;
  lastSyncError?: string;
  counts: LifecycleCounts;
  /** The most recent events and what became of them (newest last). */
  recent: EventRecord[];
  /** Recent rejected signals with the reason (unknown event type, malformed, wrong user). */
  rejected: EventRecord[];
  /** Events received but not yet applied (the one being applied included). */
  pending: number;
  /** The event being applied right now (its IdP sync may be retrying). */
  applying?: string;
  /** 1 for the first run, +1 per continue-as-new. */
  run: number;
}

export interface QueuedEvent {
  event: LifecycleEvent;
  receivedAt: string;
}

export interface CarriedState {
  state: UserLifecycleState;
  seenEventIds: string[];
  syncLatenciesMs: number[];
  /** Change-to-IdP lag of recent syncs (absent in runs continued before it was kept). */
  syncLagsMs?: number[];
  /** Events received but not applied yet when the previous run continued as new. */
  queue: QueuedEvent[];
}

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
  const idp: IdpTarget = input.idp ?? { type: 'none' };
  const maxEventsPerRun = Math.max(1, input.maxEventsPerRun ?? DEFAULT_MAX_EVENTS_PER_RUN);
  const seenLimit = Math.max(1, input.seenEventIdLimit ?? DEFAULT_SEEN_EVENT_IDS);
  const carried = input.carried;

  const state: UserLifecycleState = carried
    ? { ...carried.state, idp, run: carried.state.run + 1, pending: 0 }
    : {
        tenant: input.tenant,
        userId: input.userId,
        idp,
        status: 'unknown',
        idpSync: idp.type === 'none' ? 'disabled' : 'pending',
        counts: { received: 0, applied: 0, duplicates: 0, outOfOrder: 0, rejected: 0, synced: 0, syncFailed: 0 },
        recent: [],
        rejected: [],
        pending: 0,
        run: 1,
      };
  const seen = carried?.seenEventIds.slice(-seenLimit) ?? [];
  const seenSet = new Set(seen);
  const latencies = carried?.syncLatenciesMs.slice(-LATENCY_SAMPLES) ?? [];
  const lags = carried?.syncLagsMs?.slice(-LATENCY_SAMPLES) ?? [];
  const queue: QueuedEvent[] = carried?.queue ? [...carried.queue] : [];

  const { carried: _omitted, ...request } = input;
  const report = new ReportRecorder<Omit<UserLifecycleInput, 'carried'>>(input.tenant, request);
  report.useTotals(() => syncTotals(state, latencies));
  report.useEntity(() => entityFigures(state, lags));
  // ScimOutcome: `running`, or `attention` after a rejected event or a failed IdP sync. Written only
  // when it changes, so that a busy user's history is not one upsert per event.
  let outcome = 'running';
  const setOutcome = (value: 'running' | 'attention') => {
    if (value === outcome) return;
    outcome = value;
    upsertSearchAttributes([{ key: SCIM_OUTCOME, value }]);
  };
  setOutcome(needsAttention(state) ? 'attention' : 'running');

  const now = () => new Date(Date.now()).toISOString();
  const remember = (record: EventRecord) => {
    state.recent.push(record);
    if (state.recent.length > RECENT_LIMIT) state.recent.splice(0, state.recent.length - RECENT_LIMIT);
  };
  const boundReport = () => {
    if (report.steps.length > REPORT_STEP_LIMIT) report.steps.splice(0, report.steps.length - REPORT_STEP_LIMIT);
  };

  setHandler(stateQuery, () => ({ ...state, pending: queue.length + (state.applying ? 1 : 0) }));
  /** The event, or why this workflow cannot take it. */
  function check(raw: unknown): { ok: true; event: LifecycleEvent } | { ok: false; reason: string } {
    const parsed = parseLifecycleEvent(raw);
    if (!parsed.ok)
      return {
        ok: false,
        reason: `${parsed.kind === 'unknown-type' ? 'unknown event type' : 'malformed event'}: ${formatIssues(parsed.issues)}`,
      };
    if (parsed.event.userId !== input.userId) {
      return {
        ok: false,
        reason: `event is for user ${JSON.stringify(parsed.event.userId)}, this workflow is for ${JSON.stringify(input.userId)}`,
      };
    }
    return parsed;
  }
  function enqueue(event: LifecycleEvent, receivedAt: string): void {
    seenSet.add(event.eventId);
    seen.push(event.eventId);
    while (seen.length > seenLimit) seenSet.delete(seen.shift()!);
    queue.push({ event, receivedAt });
  }

  setHandler(
    lifecycleEventUpdate,
    (raw: LifecycleEvent): LifecycleEventAck => {
      const checked = check(raw);
      if (!checked.ok) throw ApplicationFailure.nonRetryable(checked.reason, INVALID_EVENT); // the validator ran first
      state.counts.received++;
      enqueue(checked.event, now());
      return { eventId: checked.event.eventId, run: state.run, pending: queue.length + (state.applying ? 1 : 0) };
    },
    {
      // Runs before anything is written: a refusal leaves the history untouched.
      validator: (raw: LifecycleEvent) => {
        const checked = check(raw);
        if (!checked.ok) throw ApplicationFailure.nonRetryable(checked.reason, INVALID_EVENT);
        if (seenSet.has(checked.event.eventId)) {
          throw ApplicationFailure.nonRetryable(
            `event ${checked.event.eventId} was already received; nothing changed`,
            DUPLICATE_EVENT,
          );
        }
      },
    },
  );
  setHandler(lifecycleEventSignal, (raw: unknown) => {
    state.counts.received++;
    const receivedAt = now();
    const checked = check(raw);
    if (!checked.ok) {
      reject({ eventId: idOf(raw), eventType: typeOf(raw), receivedAt, outcome: 'rejected', detail: checked.reason });
      return;
    }
    const { event } = checked;
    if (seenSet.has(event.eventId)) {
      state.counts.duplicates++;
      remember({
        eventId: event.eventId,
        eventType: event.eventType,
        timestamp: event.timestamp,
        receivedAt,
        outcome: 'duplicate',
      });
      report.skip(`${event.eventType} ${event.eventId}`, 'duplicate eventId: already received, nothing changed');
      boundReport();
      return;
    }
    enqueue(event, receivedAt);
  });

  /** Not silently dropped: kept with its reason, a failed report step, an error log, a search attribute. */
  function reject(record: EventRecord): void {
    state.counts.rejected++;
    state.rejected.push(record);
    if (state.rejected.length > RECENT_LIMIT) state.rejected.splice(0, state.rejected.length - RECENT_LIMIT);
    remember(record);
    report.steps.push({
      step: `reject ${record.eventType} ${record.eventId}`,
      startedAt: record.receivedAt,
      durationMs: 0,
      outcome: 'failed',
      detail: record.detail,
    });
    boundReport();
    log.error('userLifecycle rejected a lifecycleEvent signal', {
      eventId: record.eventId,
      eventType: record.eventType,
      reason: record.detail,
    });
    setOutcome('attention');
  }

  /** Applies one event: state first, then the IdP; the counters and lastApplied move when both are done. */
  async function apply({ event, receivedAt }: QueuedEvent): Promise<void> {
    const record: EventRecord = {
      eventId: event.eventId,
      eventType: event.eventType,
      timestamp: event.timestamp,
      receivedAt,
      outcome: 'applied',
    };
    const last = state.lastApplied;
    if (last && Date.parse(event.timestamp) < Date.parse(last.timestamp)) {
      state.counts.outOfOrder++;
      remember({
        ...record,
        outcome: 'out-of-order',
        detail: `older than the last applied event ${last.eventId} (${last.timestamp})`,
      });
      report.skip(
        `${event.eventType} ${event.eventId}`,
        `out of order: older than ${last.eventId} (${last.timestamp}); ignored`,
      );
      return;
    }

    const previous = state.user;
    const user = event.user ?? previous;
    state.applying = event.eventId;

    if (idp.type === 'scim') {
      const previousSyncFailed = state.idpSync === 'failed';
      try {
        const outcome = await report.step(
          `${event.eventType} ${event.eventId}: sync to IdP ${idp.tenant}`,
          () => syncToIdp(idp.tenant, event, previousSyncFailed ? undefined : previous, user),
          (o) => ({
            httpStatus: o.httpStatus,
            payloadSha256: o.payloadSha256,
            detail: `${o.operation}: ${o.requests.join(', ') || 'no request needed'}`,
          }),
        );
        if (outcome.idpUserId !== undefined) state.idpUserId = outcome.idpUserId;
        if (outcome.operation === 'not-found') state.idpUserId = undefined;
        state.idpSync = 'in-sync';
        state.lastSyncError = undefined;
        state.counts.synced++;
        latencies.push(outcome.durationMs);
        if (latencies.length > LATENCY_SAMPLES) latencies.shift();
        lags.push(Math.max(0, Date.now() - Date.parse(event.timestamp)));
        if (lags.length > LATENCY_SAMPLES) lags.shift();
        record.idpOperation = outcome.operation;
      } catch (err) {
        // The event is applied to the state anyway; the IdP catches up at the next event, which
        // sends the full snapshot (previous is treated as unknown after a failure).
        state.idpSync = 'failed';
        state.lastSyncError = messageOf(err);
        state.counts.syncFailed++;
        record.outcome = 'sync-failed';
        record.detail = state.lastSyncError;
        log.error('userLifecycle could not sync a change to the IdP', {
          eventId: event.eventId,
          error: state.lastSyncError,
        });
      }
    } else {
      report.skip(`${event.eventType} ${event.eventId}: sync to IdP`, 'no IdP target configured');
    }
    state.user = user;
    state.status = event.eventType === 'USER_DEACTIVATED' || user?.active === false ? 'inactive' : 'active';
    state.lastApplied = {
      eventId: event.eventId,
      eventType: event.eventType,
      timestamp: event.timestamp,
      appliedAt: now(),
    };
    state.counts.applied++;
    state.applying = undefined;
    remember(record);
    boundReport();
    setOutcome(needsAttention(state) ? 'attention' : 'running');
  }

  async function syncToIdp(
    idpTenant: string,
    event: LifecycleEvent,
    previous: ScimUser | undefined,
    user: ScimUser | undefined,
  ): Promise<IdpSyncOutcome> {
    const cxoneUserId = input.userId;
    if (event.eventType === 'USER_DEACTIVATED') {
      const userName = typeof user?.userName === 'string' ? user.userName : undefined;
      return idpDeactivateUser(idpTenant, {
        cxoneUserId,
        idpUserId: state.idpUserId,
        ...(userName ? { userName } : {}),
      });
    }
    // USER_CREATED / USER_UPDATED always carry the user (the codec requires it).
    const snapshot = user ?? {};
    if (state.idpUserId === undefined) return idpCreateUser(idpTenant, { cxoneUserId, user: snapshot });
    return idpPatchUser(
      idpTenant,
      state.idpUserId,
      { cxoneUserId, user: snapshot },
      idpPatchOperations(cxoneUserId, previous, snapshot),
    );
  }

  let appliedThisRun = 0;
  const timeToContinue = () => appliedThisRun >= maxEventsPerRun || workflowInfo().continueAsNewSuggested;
  for (;;) {
    await condition(() => queue.length > 0 || timeToContinue());
    while (queue.length > 0 && !timeToContinue()) {
      await apply(queue.shift()!);
      appliedThisRun++;
    }
    if (timeToContinue()) {
      // Events still queued travel with the new run, as do the state, the seen eventIds and the
      // latency samples. A signal that reaches Temporal while this completes makes Temporal refuse
      // the continue-as-new; the task is retried with that signal queued first.
      await condition(allHandlersFinished);
      log.info('userLifecycle continues as new', {
        run: state.run,
        appliedThisRun,
        queued: queue.length,
        historyLength: workflowInfo().historyLength,
      });
      await continueAsNew<typeof userLifecycle>({
        ...request,
        carried: {
          state: { ...state, pending: 0 },
          seenEventIds: seen,
          syncLatenciesMs: latencies,
          syncLagsMs: lags,
          queue,
        },
      });
    }
  }
}

function needsAttention(state: UserLifecycleState): boolean {
  return state.counts.rejected > 0 || state.idpSync === 'failed';
}

function member(raw: unknown, key: string): string {
  const value = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>)[key] : undefined;
  return typeof value === 'string' && value !== '' ? value.slice(0, 200) : `(no ${key})`;
}
const idOf = (raw: unknown) => member(raw, 'eventId');
const typeOf = (raw: unknown) => member(raw, 'eventType');
