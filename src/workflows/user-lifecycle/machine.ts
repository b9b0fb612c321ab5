// userLifecycle's decisions as a pure state machine: (machine, event) → new machine + actions.
// No Temporal, no clock, no I/O: the workflow (./workflow.ts) feeds it what happened (a signal, an
// accepted update, "apply the next event", the IdP call's result) with the workflow clock's time,
// and carries out the actions it returns (report steps, logs, the ScimOutcome search attribute,
// the IdP activity). Every transition is unit-tested in test/lifecycle-machine.test.ts.
import { formatIssues } from '../../core/decode';
import { FailureType } from '../../core/failures';
import { idpPatchOperations, type ScimUser } from '../../scim/idp-user';
import type { PatchOperation } from '../../scim/patch';
import { parseLifecycleEvent, type LifecycleEvent } from '../../scim/lifecycle-events';
import type { IdpSyncOutcome, IdpUserChange } from '../../activities/idp';

/** Where a user's changes go. `none` keeps the state in Temporal only. */
export type IdpTarget = { type: 'scim'; tenant: string } | { type: 'none' };

export const DEFAULT_MAX_EVENTS_PER_RUN = 500;
export const DEFAULT_SEEN_EVENT_IDS = 1000;
/** How many events `recent` and `rejected` keep. */
export const RECENT_LIMIT = 50;
/** How many sync latency and lag samples are kept (and carried). */
export const LATENCY_SAMPLES = 200;

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

/** What a userLifecycle run counts (part of its `state` query). */
export interface LifecycleCounts {
  received: number;
  applied: number;
  duplicates: number;
  outOfOrder: number;
  rejected: number;
  synced: number;
  syncFailed: number;
}

/** `failed` after an IdP call that failed for good: the next event re-syncs the full snapshot. */
export type IdpSyncState = 'disabled' | 'pending' | 'in-sync' | 'failed';

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

export interface LifecycleEventAck {
  eventId: string;
  /** The run (1-based, +1 per continue-as-new) that queued it. */
  run: number;
  /** Events waiting to be applied, this one included. */
  pending: number;
}

/** The ScimOutcome search attribute of a userLifecycle run. */
export type LifecycleOutcome = 'running' | 'attention';

/** Everything one run of userLifecycle knows. Never mutated: every transition returns a new one. */
export interface LifecycleMachine {
  readonly settings: { userId: string; idp: IdpTarget; maxEventsPerRun: number; seenLimit: number };
  readonly state: UserLifecycleState;
  /** Oldest first, at most `seenLimit`. */
  readonly seenEventIds: readonly string[];
  readonly syncLatenciesMs: readonly number[];
  readonly syncLagsMs: readonly number[];
  /** Received, not applied yet, in arrival order (the event being applied is not here). */
  readonly queue: readonly QueuedEvent[];
  /** Events taken off the queue by this run (applied or out of order): continue-as-new counts these. */
  readonly appliedThisRun: number;
  /** ScimOutcome as last written by this run (the report recorder writes `running` at start). */
  readonly outcome: LifecycleOutcome;
  /** Set between `apply-next` and the IdP call's result. */
  readonly inFlight?: InFlight;
}

interface InFlight {
  queued: QueuedEvent;
  user: ScimUser | undefined;
}

/** What the machine is told. `at` is the workflow clock (epoch ms) when it happened. */
export type LifecycleInput =
  /** A lifecycleEvent signal, anything the sender put in it. */
  | { type: 'signal'; raw: unknown; at: number }
  /** A lifecycleEvent update that passed `validateUpdate`. */
  | { type: 'update'; raw: unknown; at: number }
  /** The main loop takes the next queued event (only when `nextStep` says `apply`). */
  | { type: 'apply-next'; at: number }
  /** The IdP activity asked for by `sync-idp` succeeded. */
  | { type: 'idp-synced'; outcome: IdpSyncOutcome; at: number }
  /** The IdP activity failed for good (its retries are over); `error` is the innermost message. */
  | { type: 'idp-sync-failed'; error: string; at: number };

/** One IdP activity call: which one and its arguments. */
export type IdpCall =
  | { activity: 'idpCreateUser'; tenant: string; change: IdpUserChange }
  | { activity: 'idpPatchUser'; tenant: string; idpUserId: string; change: IdpUserChange; operations: PatchOperation[] }
  | {
      activity: 'idpDeactivateUser';
      tenant: string;
      target: { cxoneUserId: string; idpUserId?: string; userName?: string };
    };

/** What the workflow must do, in this order. */
export type LifecycleAction =
  /** A skipped step in the `report` query (duplicate, out of order, no IdP). */
  | { type: 'report-skip'; step: string; detail: string }
  /** A failed step in the `report` query: a rejected event. */
  | { type: 'report-failed'; step: string; startedAt: string; detail: string }
  /** Keep only the last REPORT_STEP_LIMIT report steps. */
  | { type: 'trim-report' }
  | { type: 'log-error'; message: string; fields: Record<string, unknown> }
  /** Write the ScimOutcome search attribute (only when it changes). */
  | { type: 'set-outcome'; value: LifecycleOutcome }
  /** Run the IdP activity as a report step, then tell the machine `idp-synced` or `idp-sync-failed`. */
  | { type: 'sync-idp'; step: string; call: IdpCall };

export interface Transition {
  machine: LifecycleMachine;
  actions: LifecycleAction[];
  /** For an accepted `update`: what its caller gets back. */
  ack?: LifecycleEventAck;
  /** For an `update` the machine cannot take: the failure its caller gets (the machine is unchanged). */
  refusal?: Refusal;
}

/** Why an update is refused: the ApplicationFailure type and message its caller gets. */
export interface Refusal {
  failureType: typeof FailureType.DuplicateEvent | typeof FailureType.InvalidEvent;
  reason: string;
}

/** The machine a run starts with (fresh, or from what the previous run carried) and what to do first. */
export function startMachine(input: UserLifecycleInput): Transition {
  const idp: IdpTarget = input.idp ?? { type: 'none' };
  const settings = {
    userId: input.userId,
    idp,
    maxEventsPerRun: Math.max(1, input.maxEventsPerRun ?? DEFAULT_MAX_EVENTS_PER_RUN),
    seenLimit: Math.max(1, input.seenEventIdLimit ?? DEFAULT_SEEN_EVENT_IDS),
  };
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
  const machine: LifecycleMachine = {
    settings,
    state,
    seenEventIds: carried?.seenEventIds.slice(-settings.seenLimit) ?? [],
    syncLatenciesMs: carried?.syncLatenciesMs.slice(-LATENCY_SAMPLES) ?? [],
    syncLagsMs: carried?.syncLagsMs?.slice(-LATENCY_SAMPLES) ?? [],
    queue: carried?.queue ? [...carried.queue] : [],
    appliedThisRun: 0,
    outcome: 'running',
  };
  return withOutcome(machine, []);
}

/** Event × machine → machine + actions. */
export function transition(machine: LifecycleMachine, input: LifecycleInput): Transition {
  switch (input.type) {
    case 'signal':
      return onSignal(machine, input.raw, iso(input.at));
    case 'update':
      return onUpdate(machine, input.raw, iso(input.at));
    case 'apply-next':
      return onApplyNext(machine, input.at);
    case 'idp-synced':
    case 'idp-sync-failed':
      return onSyncResult(machine, input);
    default:
      throw new Error(`userLifecycle machine: unknown input ${JSON.stringify((input as { type?: unknown }).type)}`);
  }
}

/**
 * The lifecycleEvent update's validator: a malformed event, an unknown type, another user's event
 * or a seen eventId is refused (before anything is written to history); undefined accepts it.
 */
export function validateUpdate(machine: LifecycleMachine, raw: unknown): Refusal | undefined {
  const checked = check(machine, raw);
  if (!checked.ok) return { failureType: FailureType.InvalidEvent, reason: checked.reason };
  if (machine.seenEventIds.includes(checked.event.eventId)) {
    return {
      failureType: FailureType.DuplicateEvent,
      reason: `event ${checked.event.eventId} was already received; nothing changed`,
    };
  }
  return undefined;
}

/** What the main loop does next: take the next event, continue as new, or wait for a signal. */
export function nextStep(
  machine: LifecycleMachine,
  continueAsNewSuggested: boolean,
): 'apply' | 'continue-as-new' | 'wait' {
  if (machine.appliedThisRun >= machine.settings.maxEventsPerRun || continueAsNewSuggested) return 'continue-as-new';
  return machine.queue.length > 0 ? 'apply' : 'wait';
}

/** What the next run starts from: state, seen eventIds, samples and still-queued events. */
export function carriedState(machine: LifecycleMachine): CarriedState {
  return {
    state: { ...machine.state, pending: 0 },
    seenEventIds: [...machine.seenEventIds],
    syncLatenciesMs: [...machine.syncLatenciesMs],
    syncLagsMs: [...machine.syncLagsMs],
    queue: [...machine.queue],
  };
}

/** The `state` query's answer. */
export function stateView(machine: LifecycleMachine): UserLifecycleState {
  return { ...machine.state, pending: pendingOf(machine) };
}

/** The report step's HTTP facts for a successful IdP sync. */
export function syncStepFacts(outcome: IdpSyncOutcome): {
  httpStatus?: number;
  payloadSha256?: string;
  detail: string;
} {
  return {
    httpStatus: outcome.httpStatus,
    payloadSha256: outcome.payloadSha256,
    detail: `${outcome.operation}: ${outcome.requests.join(', ') || 'no request needed'}`,
  };
}

export function needsAttention(state: UserLifecycleState): boolean {
  return state.counts.rejected > 0 || state.idpSync === 'failed';
}

// --- transitions ---

/**
 * A signal: rejected (malformed, unknown type, other user: kept, reported, logged, ScimOutcome
 * attention), a duplicate (counted, nothing else), or queued.
 */
function onSignal(machine: LifecycleMachine, raw: unknown, receivedAt: string): Transition {
  const counted = { ...machine.state.counts, received: machine.state.counts.received + 1 };
  const checked = check(machine, raw);
  if (!checked.ok) {
    const record: EventRecord = {
      eventId: member(raw, 'eventId'),
      eventType: member(raw, 'eventType'),
      receivedAt,
      outcome: 'rejected',
      detail: checked.reason,
    };
    const state: UserLifecycleState = {
      ...machine.state,
      counts: { ...counted, rejected: counted.rejected + 1 },
      rejected: keepLast(machine.state.rejected, record, RECENT_LIMIT),
      recent: keepLast(machine.state.recent, record, RECENT_LIMIT),
    };
    return withOutcome({ ...machine, state }, [
      {
        type: 'report-failed',
        step: `reject ${record.eventType} ${record.eventId}`,
        startedAt: receivedAt,
        detail: checked.reason,
      },
      { type: 'trim-report' },
      {
        type: 'log-error',
        message: 'userLifecycle rejected a lifecycleEvent signal',
        fields: { eventId: record.eventId, eventType: record.eventType, reason: record.detail },
      },
    ]);
  }
  const { event } = checked;
  if (machine.seenEventIds.includes(event.eventId)) {
    const record: EventRecord = {
      eventId: event.eventId,
      eventType: event.eventType,
      timestamp: event.timestamp,
      receivedAt,
      outcome: 'duplicate',
    };
    const state: UserLifecycleState = {
      ...machine.state,
      counts: { ...counted, duplicates: counted.duplicates + 1 },
      recent: keepLast(machine.state.recent, record, RECENT_LIMIT),
    };
    return {
      machine: { ...machine, state },
      actions: [
        {
          type: 'report-skip',
          step: `${event.eventType} ${event.eventId}`,
          detail: 'duplicate eventId: already received, nothing changed',
        },
        { type: 'trim-report' },
      ],
    };
  }
  return {
    machine: enqueue({ ...machine, state: { ...machine.state, counts: counted } }, event, receivedAt),
    actions: [],
  };
}

/** An update its validator accepted: queued, and acknowledged with the run and the queue length. */
function onUpdate(machine: LifecycleMachine, raw: unknown, receivedAt: string): Transition {
  const checked = check(machine, raw);
  // The validator ran first; this guards the handler all the same (a replay does not run validators).
  if (!checked.ok)
    return { machine, actions: [], refusal: { failureType: FailureType.InvalidEvent, reason: checked.reason } };
  const counts = { ...machine.state.counts, received: machine.state.counts.received + 1 };
  const next = enqueue({ ...machine, state: { ...machine.state, counts } }, checked.event, receivedAt);
  return {
    machine: next,
    actions: [],
    ack: { eventId: checked.event.eventId, run: next.state.run, pending: pendingOf(next) },
  };
}

/**
 * The head of the queue: ignored when older than the last applied event (its snapshot is stale),
 * else applied: synced to the IdP first (the machine waits for the result), or at once without one.
 */
function onApplyNext(machine: LifecycleMachine, at: number): Transition {
  const [queued, ...rest] = machine.queue;
  if (!queued) throw new Error('userLifecycle machine: apply-next with an empty queue');
  if (machine.inFlight) throw new Error('userLifecycle machine: apply-next while an IdP sync is in flight');
  const { event, receivedAt } = queued;
  const taken = { ...machine, queue: rest };
  const last = machine.state.lastApplied;
  if (last && Date.parse(event.timestamp) < Date.parse(last.timestamp)) {
    const record: EventRecord = {
      eventId: event.eventId,
      eventType: event.eventType,
      timestamp: event.timestamp,
      receivedAt,
      outcome: 'out-of-order',
      detail: `older than the last applied event ${last.eventId} (${last.timestamp})`,
    };
    const state: UserLifecycleState = {
      ...machine.state,
      counts: { ...machine.state.counts, outOfOrder: machine.state.counts.outOfOrder + 1 },
      recent: keepLast(machine.state.recent, record, RECENT_LIMIT),
    };
    return {
      machine: { ...taken, state, appliedThisRun: machine.appliedThisRun + 1 },
      actions: [
        {
          type: 'report-skip',
          step: `${event.eventType} ${event.eventId}`,
          detail: `out of order: older than ${last.eventId} (${last.timestamp}); ignored`,
        },
      ],
    };
  }

  const previous = machine.state.user;
  const user = event.user ?? previous;
  const applying: LifecycleMachine = {
    ...taken,
    state: { ...machine.state, applying: event.eventId },
    inFlight: { queued, user },
  };
  const { idp } = machine.settings;
  if (idp.type === 'scim') {
    // After a failed sync, `previous` is treated as unknown: the IdP gets the full snapshot.
    const since = machine.state.idpSync === 'failed' ? undefined : previous;
    return {
      machine: applying,
      actions: [
        {
          type: 'sync-idp',
          step: `${event.eventType} ${event.eventId}: sync to IdP ${idp.tenant}`,
          call: idpCall(machine, idp.tenant, event, since, user),
        },
      ],
    };
  }
  const skip: LifecycleAction = {
    type: 'report-skip',
    step: `${event.eventType} ${event.eventId}: sync to IdP`,
    detail: 'no IdP target configured',
  };
  const done = finishApply(
    applying,
    { eventId: event.eventId, eventType: event.eventType, timestamp: event.timestamp, receivedAt, outcome: 'applied' },
    at,
  );
  return { machine: done.machine, actions: [skip, ...done.actions] };
}

/** The IdP call's result: the event is applied to the state either way (the IdP catches up at the next event). */
function onSyncResult(
  machine: LifecycleMachine,
  input: Extract<LifecycleInput, { type: 'idp-synced' | 'idp-sync-failed' }>,
): Transition {
  const inFlight = machine.inFlight;
  if (!inFlight) throw new Error(`userLifecycle machine: ${input.type} without an IdP sync in flight`);
  const { event, receivedAt } = inFlight.queued;
  const record: EventRecord = {
    eventId: event.eventId,
    eventType: event.eventType,
    timestamp: event.timestamp,
    receivedAt,
    outcome: 'applied',
  };
  const counts = machine.state.counts;
  if (input.type === 'idp-synced') {
    const { outcome } = input;
    let idpUserId = machine.state.idpUserId;
    if (outcome.idpUserId !== undefined) idpUserId = outcome.idpUserId;
    if (outcome.operation === 'not-found') idpUserId = undefined;
    const synced: LifecycleMachine = {
      ...machine,
      state: {
        ...machine.state,
        idpUserId,
        idpSync: 'in-sync',
        lastSyncError: undefined,
        counts: { ...counts, synced: counts.synced + 1 },
      },
      syncLatenciesMs: keepLast(machine.syncLatenciesMs, outcome.durationMs, LATENCY_SAMPLES),
      syncLagsMs: keepLast(machine.syncLagsMs, Math.max(0, input.at - Date.parse(event.timestamp)), LATENCY_SAMPLES),
    };
    return finishApply(synced, { ...record, idpOperation: outcome.operation }, input.at);
  }
  const failed: LifecycleMachine = {
    ...machine,
    state: {
      ...machine.state,
      idpSync: 'failed',
      lastSyncError: input.error,
      counts: { ...counts, syncFailed: counts.syncFailed + 1 },
    },
  };
  const done = finishApply(failed, { ...record, outcome: 'sync-failed', detail: input.error }, input.at);
  return {
    machine: done.machine,
    actions: [
      {
        type: 'log-error',
        message: 'userLifecycle could not sync a change to the IdP',
        fields: { eventId: event.eventId, error: input.error },
      },
      ...done.actions,
    ],
  };
}

/** The event's snapshot becomes the state; the counters and lastApplied move. */
function finishApply(machine: LifecycleMachine, record: EventRecord, at: number): Transition {
  const { queued, user } = machine.inFlight as InFlight;
  const { event } = queued;
  const state: UserLifecycleState = {
    ...machine.state,
    user,
    status: event.eventType === 'USER_DEACTIVATED' || user?.active === false ? 'inactive' : 'active',
    lastApplied: { eventId: event.eventId, eventType: event.eventType, timestamp: event.timestamp, appliedAt: iso(at) },
    counts: { ...machine.state.counts, applied: machine.state.counts.applied + 1 },
    applying: undefined,
    recent: keepLast(machine.state.recent, record, RECENT_LIMIT),
  };
  return withOutcome({ ...machine, state, inFlight: undefined, appliedThisRun: machine.appliedThisRun + 1 }, [
    { type: 'trim-report' },
  ]);
}

// --- helpers ---

/** The event, or why this workflow cannot take it. */
function check(
  machine: LifecycleMachine,
  raw: unknown,
): { ok: true; event: LifecycleEvent } | { ok: false; reason: string } {
  const parsed = parseLifecycleEvent(raw);
  if (!parsed.ok)
    return {
      ok: false,
      reason: `${parsed.kind === 'unknown-type' ? 'unknown event type' : 'malformed event'}: ${formatIssues(parsed.issues)}`,
    };
  const { userId } = machine.settings;
  if (parsed.event.userId !== userId) {
    return {
      ok: false,
      reason: `event is for user ${JSON.stringify(parsed.event.userId)}, this workflow is for ${JSON.stringify(userId)}`,
    };
  }
  return parsed;
}

/** Queued, and its eventId remembered (the oldest forgotten past `seenLimit`). */
function enqueue(machine: LifecycleMachine, event: LifecycleEvent, receivedAt: string): LifecycleMachine {
  return {
    ...machine,
    seenEventIds: keepLast(machine.seenEventIds, event.eventId, machine.settings.seenLimit),
    queue: [...machine.queue, { event, receivedAt }],
  };
}

/** create (POST) for a user the IdP does not have yet, PATCH of what changed, or deactivate. */
function idpCall(
  machine: LifecycleMachine,
  tenant: string,
  event: LifecycleEvent,
  previous: ScimUser | undefined,
  user: ScimUser | undefined,
): IdpCall {
  const cxoneUserId = machine.settings.userId;
  const { idpUserId } = machine.state;
  if (event.eventType === 'USER_DEACTIVATED') {
    const userName = typeof user?.userName === 'string' ? user.userName : undefined;
    return {
      activity: 'idpDeactivateUser',
      tenant,
      target: { cxoneUserId, idpUserId, ...(userName ? { userName } : {}) },
    };
  }
  // USER_CREATED / USER_UPDATED always carry the user (the codec requires it).
  const snapshot = user ?? {};
  if (idpUserId === undefined) return { activity: 'idpCreateUser', tenant, change: { cxoneUserId, user: snapshot } };
  return {
    activity: 'idpPatchUser',
    tenant,
    idpUserId,
    change: { cxoneUserId, user: snapshot },
    operations: idpPatchOperations(cxoneUserId, previous, snapshot),
  };
}

/** Adds `set-outcome` when the machine's ScimOutcome changes. */
function withOutcome(machine: LifecycleMachine, actions: LifecycleAction[]): Transition {
  const value: LifecycleOutcome = needsAttention(machine.state) ? 'attention' : 'running';
  if (value === machine.outcome) return { machine, actions };
  return { machine: { ...machine, outcome: value }, actions: [...actions, { type: 'set-outcome', value }] };
}

function pendingOf(machine: LifecycleMachine): number {
  return machine.queue.length + (machine.state.applying ? 1 : 0);
}

function keepLast<T>(items: readonly T[], item: T, limit: number): T[] {
  const next = [...items, item];
  return next.length > limit ? next.slice(next.length - limit) : next;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A member of a raw signal for the rejection record, or `(no eventId)`. */
function member(raw: unknown, key: string): string {
  const value = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>)[key] : undefined;
  return typeof value === 'string' && value !== '' ? value.slice(0, 200) : `(no ${key})`;
}
