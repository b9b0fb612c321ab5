import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IdpSyncOutcome } from '../src/activities/idp';
import { FailureType } from '../src/core/failures';
import type { LifecycleEvent } from '../src/scim/lifecycle-events';
import {
  carriedState,
  nextStep,
  RECENT_LIMIT,
  startMachine,
  stateView,
  syncStepFacts,
  transition,
  validateUpdate,
  type IdpTarget,
  type LifecycleAction,
  type LifecycleInput,
  type LifecycleMachine,
  type Transition,
  type UserLifecycleInput,
} from '../src/workflows/user-lifecycle/machine';

// userLifecycle's decisions without a Temporal server: every input in every state the workflow
// can be in. The workflow-level tests (lifecycle-workflow, webhook-e2e) check that the workflow
// carries the actions out; these check which actions and which state.

const USER = 'u-1';
const SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const SCIM: IdpTarget = { type: 'scim', tenant: 'idp' };
const T0 = Date.parse('2026-01-05T09:00:00.000Z');

let serial = 0;
function ev(
  eventType: LifecycleEvent['eventType'] | string,
  minute: number,
  user?: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): LifecycleEvent {
  serial++;
  return {
    eventId: `ev-${serial}`,
    eventType: eventType as LifecycleEvent['eventType'],
    userId: USER,
    timestamp: new Date(T0 + minute * 60_000).toISOString(),
    ...(user ? { user: { schemas: [SCHEMA], id: USER, userName: 'ada@example.com', ...user } } : {}),
    ...extra,
  };
}

function start(input: Partial<UserLifecycleInput> = {}): Transition {
  return startMachine({ tenant: 'acme', userId: USER, ...input });
}
const at = (minute: number) => T0 + 3_600_000 + minute * 60_000;

/** Feeds inputs in order; returns the last transition and every action seen. */
function run(machine: LifecycleMachine, ...inputs: LifecycleInput[]): Transition & { all: LifecycleAction[] } {
  let last: Transition = { machine, actions: [] };
  const all: LifecycleAction[] = [];
  for (const input of inputs) {
    last = transition(last.machine, input);
    all.push(...last.actions);
  }
  return { ...last, all };
}
const signal = (raw: unknown, minute = 0): LifecycleInput => ({ type: 'signal', raw, at: at(minute) });
const applyNext = (minute = 0): LifecycleInput => ({ type: 'apply-next', at: at(minute) });
const synced = (outcome: Partial<IdpSyncOutcome>, minute = 0): LifecycleInput => ({
  type: 'idp-synced',
  outcome: { operation: 'created', requests: ['POST /Users 201'], durationMs: 7, ...outcome },
  at: at(minute),
});
const syncFailed = (error: string, minute = 0): LifecycleInput => ({ type: 'idp-sync-failed', error, at: at(minute) });
const types = (actions: LifecycleAction[]) => actions.map((a) => a.type);

/** Signal + apply (+ a successful sync when the machine asks for one). */
function deliver(machine: LifecycleMachine, event: LifecycleEvent, outcome?: Partial<IdpSyncOutcome>) {
  const applied = run(machine, signal(event), applyNext());
  const wantsSync = applied.actions.some((a) => a.type === 'sync-idp');
  return wantsSync ? run(applied.machine, synced(outcome ?? {})) : applied;
}

describe('userLifecycle machine: start', () => {
  it('starts fresh: status unknown, IdP sync disabled without a target and pending with one, no action', () => {
    const none = start();
    assert.equal(none.machine.state.status, 'unknown');
    assert.equal(none.machine.state.idpSync, 'disabled');
    assert.equal(none.machine.state.run, 1);
    assert.deepEqual(none.actions, []);
    assert.equal(start({ idp: SCIM }).machine.state.idpSync, 'pending');
  });

  it('clamps maxEventsPerRun and seenEventIdLimit to at least 1 and defaults them', () => {
    assert.deepEqual(start().machine.settings, {
      userId: USER,
      idp: { type: 'none' },
      maxEventsPerRun: 500,
      seenLimit: 1000,
    });
    const tiny = start({ maxEventsPerRun: 0, seenEventIdLimit: -3 }).machine.settings;
    assert.deepEqual([tiny.maxEventsPerRun, tiny.seenLimit], [1, 1]);
  });

  it('resumes from carried state: run + 1, the queue kept, seen ids and samples cut to their limits', () => {
    const m0 = start({ idp: SCIM }).machine;
    const e1 = ev('USER_CREATED', 1, { displayName: 'Ada' });
    const e2 = ev('USER_UPDATED', 2, { displayName: 'Ada L' });
    const one = deliver(m0, e1, { idpUserId: 'idp-9' }).machine;
    const queued = run(one, signal(e2)).machine;
    const carried = carriedState(queued);
    assert.deepEqual(carried.seenEventIds, [e1.eventId, e2.eventId]);
    assert.equal(carried.queue.length, 1);
    assert.equal(carried.state.pending, 0);

    const next = startMachine({ tenant: 'acme', userId: USER, idp: SCIM, seenEventIdLimit: 1, carried });
    assert.equal(next.machine.state.run, 2);
    assert.equal(next.machine.state.idpUserId, 'idp-9');
    assert.deepEqual(next.machine.seenEventIds, [e2.eventId], 'only the newest seenEventIdLimit ids');
    assert.deepEqual(next.machine.queue, carried.queue);
    assert.equal(next.machine.appliedThisRun, 0);
    assert.deepEqual(next.actions, [], 'nothing needs attention');
    assert.equal(nextStep(next.machine, false), 'apply');

    const samples = Array.from({ length: 250 }, (_, i) => i);
    const long = startMachine({
      tenant: 'acme',
      userId: USER,
      carried: { ...carried, syncLatenciesMs: samples, syncLagsMs: samples },
    }).machine;
    assert.deepEqual([long.syncLatenciesMs.length, long.syncLatenciesMs[0]], [200, 50]);
    assert.deepEqual([long.syncLagsMs.length, long.syncLagsMs[0]], [200, 50]);
    const older = startMachine({ tenant: 'acme', userId: USER, carried: { ...carried, syncLagsMs: undefined } });
    assert.deepEqual(older.machine.syncLagsMs, [], 'runs continued before lags were kept');
  });

  it('resumes a run that needed attention by setting ScimOutcome=attention first', () => {
    const rejected = run(start().machine, signal({ eventId: 'x', userId: USER })).machine;
    const next = startMachine({ tenant: 'acme', userId: USER, carried: carriedState(rejected) });
    assert.deepEqual(next.actions, [{ type: 'set-outcome', value: 'attention' }]);
    assert.equal(next.machine.outcome, 'attention');
  });

  it('takes the IdP target of the new run, keeping the carried sync state', () => {
    const failed = run(start({ idp: SCIM }).machine, signal(ev('USER_CREATED', 1, {})), applyNext(), syncFailed('503'));
    const next = startMachine({
      tenant: 'acme',
      userId: USER,
      idp: { type: 'none' },
      carried: carriedState(failed.machine),
    });
    assert.deepEqual(next.machine.state.idp, { type: 'none' });
    assert.equal(next.machine.state.idpSync, 'failed');
  });
});

describe('userLifecycle machine: signal', () => {
  for (const type of ['USER_CREATED', 'USER_UPDATED', 'USER_DEACTIVATED'] as const) {
    it(`queues a new ${type}: counted as received, its id remembered, no action yet`, () => {
      const m = start().machine;
      const e = ev(type, 1, { displayName: 'Ada' });
      const t = transition(m, signal(e));
      assert.deepEqual(t.actions, []);
      assert.equal(t.machine.state.counts.received, 1);
      assert.deepEqual(t.machine.seenEventIds, [e.eventId]);
      assert.deepEqual(t.machine.queue, [{ event: e, receivedAt: new Date(at(0)).toISOString() }]);
      assert.equal(stateView(t.machine).pending, 1);
      assert.equal(m.queue.length, 0, 'the machine given is not changed');
    });
  }

  it('queues a USER_DEACTIVATED without a user (the only type that may omit it)', () => {
    const e = ev('USER_DEACTIVATED', 1);
    assert.equal(transition(start().machine, signal(e)).machine.queue.length, 1);
  });

  it('keeps only the known members of the event it queues', () => {
    const e = { ...ev('USER_CREATED', 1, {}), extra: 'dropped' };
    const queued = transition(start().machine, signal(e)).machine.queue[0].event;
    assert.equal('extra' in queued, false);
  });

  it('counts a seen eventId as a duplicate: a skipped report step, nothing queued, ScimOutcome untouched', () => {
    const e = ev('USER_CREATED', 1, {});
    const t = run(start().machine, signal(e), signal({ ...e, timestamp: new Date(T0).toISOString() }, 1));
    assert.deepEqual(t.actions, [
      {
        type: 'report-skip',
        step: `USER_CREATED ${e.eventId}`,
        detail: 'duplicate eventId: already received, nothing changed',
      },
      { type: 'trim-report' },
    ]);
    assert.equal(t.machine.queue.length, 1);
    assert.deepEqual([t.machine.state.counts.received, t.machine.state.counts.duplicates], [2, 1]);
    assert.equal(t.machine.state.recent.at(-1)?.outcome, 'duplicate');
  });

  it('counts a duplicate of an event already applied', () => {
    const e = ev('USER_CREATED', 1, {});
    const applied = deliver(start().machine, e).machine;
    const t = transition(applied, signal(e));
    assert.equal(t.machine.state.counts.duplicates, 1);
    assert.equal(t.machine.queue.length, 0);
  });

  it('forgets the oldest eventId past seenEventIdLimit: it is taken again', () => {
    const [a, b] = [ev('USER_CREATED', 1, {}), ev('USER_UPDATED', 2, {})];
    const t = run(start({ seenEventIdLimit: 1 }).machine, signal(a), signal(b), signal(a));
    assert.deepEqual(t.machine.seenEventIds, [a.eventId]);
    assert.equal(t.machine.queue.length, 3);
    assert.equal(t.machine.state.counts.duplicates, 0);
  });

  const rejections: [string, unknown, RegExp, string, string][] = [
    [
      'an unknown event type',
      { ...ev('USER_CREATED', 1, {}), eventId: 'ev-x', eventType: 'USER_EXPLODED' },
      /^unknown event type: \$\.eventType: unknown event type "USER_EXPLODED"; expected one of USER_CREATED, USER_UPDATED, USER_DEACTIVATED/,
      'ev-x',
      'USER_EXPLODED',
    ],
    [
      'a missing eventType',
      { eventId: 'no-type', userId: USER },
      /^malformed event: .*\$\.eventType/,
      'no-type',
      '(no eventType)',
    ],
    ['a body that is no object', 'hello', /^malformed event/, '(no eventId)', '(no eventType)'],
    [
      'a bad timestamp',
      { ...ev('USER_UPDATED', 1, {}), eventId: 'ts', timestamp: 'yesterday' },
      /\$\.timestamp/,
      'ts',
      'USER_UPDATED',
    ],
    [
      'a USER_UPDATED without its user',
      { ...ev('USER_UPDATED', 1), eventId: 'nouser' },
      /\$\.user: required for USER_UPDATED/,
      'nouser',
      'USER_UPDATED',
    ],
    [
      "another user's event",
      { ...ev('USER_CREATED', 1, { id: 'u-2' }), eventId: 'other', userId: 'u-2' },
      /^event is for user "u-2", this workflow is for "u-1"$/,
      'other',
      'USER_CREATED',
    ],
  ];
  for (const [what, raw, reason, eventId, eventType] of rejections) {
    it(`rejects ${what}: kept with its reason, a failed report step, an error log, ScimOutcome=attention`, () => {
      const t = transition(start().machine, signal(raw));
      assert.equal(t.machine.queue.length, 0, 'never queued');
      assert.deepEqual(t.machine.seenEventIds, [], 'its id is not remembered: a corrected event is taken');
      assert.deepEqual([t.machine.state.counts.received, t.machine.state.counts.rejected], [1, 1]);
      const [record] = t.machine.state.rejected;
      assert.deepEqual([record.eventId, record.eventType, record.outcome], [eventId, eventType, 'rejected']);
      assert.match(record.detail ?? '', reason);
      assert.deepEqual(t.machine.state.recent, [record]);
      assert.deepEqual(types(t.actions), ['report-failed', 'trim-report', 'log-error', 'set-outcome']);
      assert.deepEqual(t.actions[0], {
        type: 'report-failed',
        step: `reject ${eventType} ${eventId}`,
        startedAt: record.receivedAt,
        detail: record.detail,
      });
      assert.deepEqual(t.actions[2], {
        type: 'log-error',
        message: 'userLifecycle rejected a lifecycleEvent signal',
        fields: { eventId, eventType, reason: record.detail },
      });
      assert.deepEqual(t.actions[3], { type: 'set-outcome', value: 'attention' });
    });
  }

  it('sets ScimOutcome only once: a second rejection adds no set-outcome', () => {
    const t = run(start().machine, signal('a'), signal('b'));
    assert.deepEqual(types(t.actions), ['report-failed', 'trim-report', 'log-error']);
    assert.equal(t.machine.state.counts.rejected, 2);
  });

  it('cuts a long eventId or type to 200 characters in the rejection record', () => {
    const t = transition(start().machine, signal({ eventId: 'i'.repeat(300), eventType: 'T'.repeat(300) }));
    assert.equal(t.machine.state.rejected[0].eventId.length, 200);
    assert.equal(t.machine.state.rejected[0].eventType.length, 200);
  });

  it(`keeps the last ${RECENT_LIMIT} recent and rejected records`, () => {
    const inputs = Array.from({ length: RECENT_LIMIT + 5 }, (_, i) => signal({ eventId: `bad-${i}` }));
    const t = run(start().machine, ...inputs);
    assert.equal(t.machine.state.rejected.length, RECENT_LIMIT);
    assert.equal(t.machine.state.recent.length, RECENT_LIMIT);
    assert.equal(t.machine.state.rejected[0].eventId, 'bad-5');
    assert.equal(t.machine.state.counts.rejected, RECENT_LIMIT + 5);
  });
});

describe('userLifecycle machine: update', () => {
  it('validates: accepts a new event, refuses a seen eventId as DuplicateEvent and a bad one as InvalidEvent', () => {
    const e = ev('USER_CREATED', 1, {});
    const m = start().machine;
    assert.equal(validateUpdate(m, e), undefined);
    const after = transition(m, { type: 'update', raw: e, at: at(0) }).machine;
    assert.deepEqual(validateUpdate(after, e), {
      failureType: FailureType.DuplicateEvent,
      reason: `event ${e.eventId} was already received; nothing changed`,
    });
    const unknown = validateUpdate(m, { ...e, eventType: 'USER_EXPLODED' });
    assert.equal(unknown?.failureType, FailureType.InvalidEvent);
    assert.match(unknown?.reason ?? '', /^unknown event type/);
    assert.match(validateUpdate(m, { eventId: 'x' })?.reason ?? '', /^malformed event/);
    assert.match(validateUpdate(m, { ...ev('USER_DEACTIVATED', 1), userId: 'u-2' })?.reason ?? '', /is for user "u-2"/);
  });

  it('queues an accepted update and acknowledges it with the run and the events pending', () => {
    const first = ev('USER_CREATED', 1, {});
    const second = ev('USER_UPDATED', 2, {});
    const applying = run(start({ idp: SCIM }).machine, signal(first), applyNext()).machine;
    const t = transition(applying, { type: 'update', raw: second, at: at(0) });
    assert.deepEqual(t.ack, { eventId: second.eventId, run: 1, pending: 2 });
    assert.deepEqual(t.actions, []);
    assert.equal(t.machine.state.counts.received, 2);
    assert.deepEqual(t.machine.seenEventIds, [first.eventId, second.eventId]);
  });

  it('refuses an invalid update that reached the handler, changing nothing (a refused update counts for nothing)', () => {
    const m = start().machine;
    const t = transition(m, { type: 'update', raw: { eventId: 'x' }, at: at(0) });
    assert.equal(t.refusal?.failureType, FailureType.InvalidEvent);
    assert.equal(t.machine, m);
    assert.equal(t.ack, undefined);
  });
});

describe('userLifecycle machine: applying events without an IdP', () => {
  // status after the event, from each status before it.
  const cases: [string, () => LifecycleEvent, 'active' | 'inactive'][] = [
    ['USER_CREATED', () => ev('USER_CREATED', 10, { active: true }), 'active'],
    ['USER_UPDATED', () => ev('USER_UPDATED', 10, { active: true }), 'active'],
    ['USER_UPDATED with active false', () => ev('USER_UPDATED', 10, { active: false }), 'inactive'],
    ['USER_DEACTIVATED with its user', () => ev('USER_DEACTIVATED', 10, { active: false }), 'inactive'],
    ['USER_DEACTIVATED without a user', () => ev('USER_DEACTIVATED', 10), 'inactive'],
  ];
  const from: Record<string, () => LifecycleMachine> = {
    unknown: () => start().machine,
    active: () => deliver(start().machine, ev('USER_CREATED', 1, { title: 'before' })).machine,
    inactive: () => deliver(start().machine, ev('USER_DEACTIVATED', 1, { title: 'before', active: false })).machine,
  };
  for (const [status, make] of Object.entries(from)) {
    for (const [what, event, expected] of cases) {
      it(`${status} + ${what} → ${expected}`, () => {
        const before = make();
        assert.equal(before.state.status, status);
        const e = event();
        const t = run(before, signal(e), applyNext(5));
        assert.equal(t.machine.state.status, expected);
        assert.deepEqual(t.machine.state.user, e.user ?? before.state.user, 'the snapshot, or the previous one');
        assert.deepEqual(t.machine.state.lastApplied, {
          eventId: e.eventId,
          eventType: e.eventType,
          timestamp: e.timestamp,
          appliedAt: new Date(at(5)).toISOString(),
        });
        assert.equal(t.machine.state.counts.applied, before.state.counts.applied + 1);
        assert.equal(t.machine.state.idpSync, 'disabled');
        assert.equal(t.machine.state.applying, undefined);
        assert.equal(t.machine.inFlight, undefined);
        assert.deepEqual(t.actions, [
          { type: 'report-skip', step: `${e.eventType} ${e.eventId}: sync to IdP`, detail: 'no IdP target configured' },
          { type: 'trim-report' },
        ]);
        assert.equal(t.machine.state.recent.at(-1)?.outcome, 'applied');
      });
    }
  }

  it('ignores an event older than the last applied one: out of order, a skipped step, its snapshot not taken', () => {
    const newer = ev('USER_UPDATED', 10, { title: 'new' });
    const older = ev('USER_UPDATED', 5, { title: 'old' });
    const applied = deliver(start().machine, newer).machine;
    const t = run(applied, signal(older), applyNext());
    assert.equal(t.machine.state.user?.title, 'new');
    assert.equal(t.machine.state.lastApplied?.eventId, newer.eventId);
    assert.deepEqual([t.machine.state.counts.applied, t.machine.state.counts.outOfOrder], [1, 1]);
    assert.deepEqual(t.actions, [
      {
        type: 'report-skip',
        step: `USER_UPDATED ${older.eventId}`,
        detail: `out of order: older than ${newer.eventId} (${newer.timestamp}); ignored`,
      },
    ]);
    assert.equal(t.machine.state.recent.at(-1)?.outcome, 'out-of-order');
    assert.equal(t.machine.appliedThisRun, 2, 'an ignored event counts towards continue-as-new');
    assert.equal(t.machine.queue.length, 0);
  });

  it('ignores an out-of-order event even when the IdP is configured: no IdP call', () => {
    const applied = deliver(start({ idp: SCIM }).machine, ev('USER_CREATED', 10, {})).machine;
    const t = run(applied, signal(ev('USER_UPDATED', 5, {})), applyNext());
    assert.deepEqual(types(t.actions), ['report-skip']);
    assert.equal(t.machine.inFlight, undefined);
  });

  it('applies an event with the same timestamp as the last applied one, and compares instants, not strings', () => {
    const first = ev('USER_CREATED', 10, { title: 'a' });
    const same = { ...ev('USER_UPDATED', 0, { title: 'b' }), timestamp: first.timestamp };
    const m = deliver(start().machine, first).machine;
    assert.equal(deliver(m, same).machine.state.user?.title, 'b');
    // 10:10+01:00 is 09:10Z: older than 09:10Z + anything, though it sorts later as text.
    const offset = { ...ev('USER_UPDATED', 0, { title: 'c' }), timestamp: '2026-01-05T10:09:00.000+01:00' };
    assert.equal(deliver(m, offset).machine.state.counts.outOfOrder, 1);
  });

  it('applies in arrival order, not timestamp order, when the later arrival is newer', () => {
    const a = ev('USER_CREATED', 1, { title: 'a' });
    const b = ev('USER_UPDATED', 3, { title: 'b' });
    const t = run(start().machine, signal(a), signal(b), applyNext(), applyNext());
    assert.equal(t.machine.state.user?.title, 'b');
    assert.equal(t.machine.state.counts.applied, 2);
  });

  it('refuses apply-next on an empty queue, and idp results with no sync in flight', () => {
    const m = start().machine;
    assert.throws(() => transition(m, applyNext()), /empty queue/);
    assert.throws(() => transition(m, synced({})), /without an IdP sync in flight/);
    assert.throws(() => transition(m, syncFailed('x')), /without an IdP sync in flight/);
    assert.throws(() => transition(m, { type: 'nope', at: 0 } as never), /unknown input "nope"/);
  });
});

describe('userLifecycle machine: applying events with a SCIM IdP', () => {
  const call = (t: Transition) => {
    const action = t.actions.find((a) => a.type === 'sync-idp');
    assert.ok(action && action.type === 'sync-idp', 'asks for an IdP sync');
    return action;
  };

  it('creates a user the IdP does not have yet (first event), then holds the event until the result', () => {
    const e = ev('USER_CREATED', 1, { displayName: 'Ada' });
    const t = run(start({ idp: SCIM }).machine, signal(e), applyNext());
    assert.deepEqual(t.actions, [
      {
        type: 'sync-idp',
        step: `USER_CREATED ${e.eventId}: sync to IdP idp`,
        call: { activity: 'idpCreateUser', tenant: 'idp', change: { cxoneUserId: USER, user: e.user } },
      },
    ]);
    assert.equal(t.machine.state.applying, e.eventId);
    assert.equal(stateView(t.machine).pending, 1, 'the event being applied is pending');
    assert.equal(t.machine.state.counts.applied, 0, 'applied when the IdP answers');
    assert.equal(t.machine.state.status, 'unknown');
    assert.throws(() => transition(t.machine, applyNext()), /in flight|empty queue/);
    assert.equal(nextStep(t.machine, false), 'wait');
  });

  it('a successful sync: applied, in sync, the IdP id kept, latency and lag sampled', () => {
    const e = ev('USER_CREATED', 1, { displayName: 'Ada' });
    const t = run(
      start({ idp: SCIM }).machine,
      signal(e),
      applyNext(),
      synced({ idpUserId: 'idp-1', durationMs: 42 }, 2),
    );
    assert.deepEqual(t.actions, [{ type: 'trim-report' }]);
    const { state } = t.machine;
    assert.deepEqual(
      [state.idpSync, state.idpUserId, state.status, state.counts.synced, state.counts.applied],
      ['in-sync', 'idp-1', 'active', 1, 1],
    );
    assert.equal(state.applying, undefined);
    assert.deepEqual(t.machine.syncLatenciesMs, [42]);
    assert.deepEqual(t.machine.syncLagsMs, [at(2) - Date.parse(e.timestamp)]);
    assert.equal(state.recent.at(-1)?.idpOperation, 'created');
    assert.equal(state.lastApplied?.appliedAt, new Date(at(2)).toISOString());
  });

  it('a lag is never negative (an event stamped in the future)', () => {
    const e = { ...ev('USER_CREATED', 0, {}), timestamp: '2030-01-01T00:00:00.000Z' };
    const t = run(start({ idp: SCIM }).machine, signal(e), applyNext(), synced({}));
    assert.deepEqual(t.machine.syncLagsMs, [0]);
  });

  it('PATCHes what changed once the IdP has the user', () => {
    const created = deliver(start({ idp: SCIM }).machine, ev('USER_CREATED', 1, { title: 'a' }), {
      idpUserId: 'idp-1',
    });
    const e = ev('USER_UPDATED', 2, { title: 'b' });
    const c = call(run(created.machine, signal(e), applyNext())).call;
    assert.equal(c.activity, 'idpPatchUser');
    assert.ok(c.activity === 'idpPatchUser');
    assert.equal(c.idpUserId, 'idp-1');
    assert.deepEqual(c.change, { cxoneUserId: USER, user: e.user });
    assert.deepEqual(c.operations, [{ op: 'replace', path: 'title', value: 'b' }]);
  });

  it('after a failed sync, sends the full snapshot (the previous one is treated as unknown)', () => {
    const created = deliver(start({ idp: SCIM }).machine, ev('USER_CREATED', 1, { title: 'a' }), {
      idpUserId: 'idp-1',
    });
    const failed = run(
      created.machine,
      signal(ev('USER_UPDATED', 2, { title: 'b' })),
      applyNext(),
      syncFailed('HTTP 503'),
    );
    const c = call(run(failed.machine, signal(ev('USER_UPDATED', 3, { title: 'c' })), applyNext())).call;
    assert.ok(c.activity === 'idpPatchUser');
    const paths = c.operations.map((o) => o.path);
    assert.ok(paths.includes('userName') && paths.includes('title'), `every attribute is set: ${paths}`);
  });

  it('deactivates with the IdP id and the userName of the snapshot, or of the previous one', () => {
    const created = deliver(start({ idp: SCIM }).machine, ev('USER_CREATED', 1, {}), { idpUserId: 'idp-1' });
    const withUser = ev('USER_DEACTIVATED', 2, { userName: 'grace@example.com', active: false });
    assert.deepEqual(call(run(created.machine, signal(withUser), applyNext())).call, {
      activity: 'idpDeactivateUser',
      tenant: 'idp',
      target: { cxoneUserId: USER, idpUserId: 'idp-1', userName: 'grace@example.com' },
    });
    const bare = ev('USER_DEACTIVATED', 2);
    assert.deepEqual(call(run(created.machine, signal(bare), applyNext())).call, {
      activity: 'idpDeactivateUser',
      tenant: 'idp',
      target: { cxoneUserId: USER, idpUserId: 'idp-1', userName: 'ada@example.com' },
    });
    const first = call(run(start({ idp: SCIM }).machine, signal(ev('USER_DEACTIVATED', 1)), applyNext())).call;
    assert.deepEqual(first, {
      activity: 'idpDeactivateUser',
      tenant: 'idp',
      target: { cxoneUserId: USER, idpUserId: undefined },
    });
  });

  it('forgets the IdP id when the IdP did not have the user (not-found), keeps it when the outcome has none', () => {
    const created = deliver(start({ idp: SCIM }).machine, ev('USER_CREATED', 1, {}), { idpUserId: 'idp-1' });
    const unchanged = deliver(created.machine, ev('USER_UPDATED', 2, {}), {
      operation: 'unchanged',
      idpUserId: undefined,
    });
    assert.equal(unchanged.machine.state.idpUserId, 'idp-1');
    const gone = deliver(unchanged.machine, ev('USER_DEACTIVATED', 3), {
      operation: 'not-found',
      idpUserId: 'ignored',
    });
    assert.equal(gone.machine.state.idpUserId, undefined);
    assert.equal(gone.machine.state.status, 'inactive');
    const again = call(run(gone.machine, signal(ev('USER_UPDATED', 4, { active: true })), applyNext())).call;
    assert.equal(again.activity, 'idpCreateUser', 'created again at the next change');
  });

  it('a failed sync: the event is applied anyway, the error kept and logged, ScimOutcome=attention', () => {
    const e = ev('USER_CREATED', 1, { title: 'a' });
    const t = run(start({ idp: SCIM }).machine, signal(e), applyNext(), syncFailed('HTTP 503 after retries'));
    assert.deepEqual(t.actions, [
      {
        type: 'log-error',
        message: 'userLifecycle could not sync a change to the IdP',
        fields: { eventId: e.eventId, error: 'HTTP 503 after retries' },
      },
      { type: 'trim-report' },
      { type: 'set-outcome', value: 'attention' },
    ]);
    const { state } = t.machine;
    assert.deepEqual(
      [state.idpSync, state.lastSyncError, state.counts.syncFailed, state.counts.applied],
      ['failed', 'HTTP 503 after retries', 1, 1],
    );
    assert.equal(state.user?.title, 'a');
    assert.equal(state.status, 'active');
    assert.deepEqual(state.recent.at(-1), {
      eventId: e.eventId,
      eventType: 'USER_CREATED',
      timestamp: e.timestamp,
      receivedAt: new Date(at(0)).toISOString(),
      outcome: 'sync-failed',
      detail: 'HTTP 503 after retries',
    });
    assert.deepEqual(t.machine.syncLatenciesMs, [], 'no latency sample for a failed sync');
  });

  it('a sync that succeeds after a failure clears the error and sets ScimOutcome back to running', () => {
    const failed = run(start({ idp: SCIM }).machine, signal(ev('USER_CREATED', 1, {})), applyNext(), syncFailed('x'));
    const t = run(failed.machine, signal(ev('USER_UPDATED', 2, {})), applyNext(), synced({ idpUserId: 'idp-2' }));
    assert.deepEqual(t.actions, [{ type: 'trim-report' }, { type: 'set-outcome', value: 'running' }]);
    assert.equal(t.machine.state.lastSyncError, undefined);
    assert.equal(t.machine.state.idpSync, 'in-sync');
  });

  it('a rejection keeps ScimOutcome=attention through later successful syncs (sticky)', () => {
    const rejected = run(start({ idp: SCIM }).machine, signal('junk')).machine;
    const t = deliver(rejected, ev('USER_CREATED', 1, {}));
    assert.deepEqual(types(t.actions), ['trim-report']);
    assert.equal(t.machine.outcome, 'attention');
  });

  it('signals arriving while the IdP call runs are queued behind the event being applied', () => {
    const [a, b] = [ev('USER_CREATED', 1, { title: 'a' }), ev('USER_UPDATED', 2, { title: 'b' })];
    const applying = run(start({ idp: SCIM }).machine, signal(a), applyNext(), signal(b), signal(a)).machine;
    assert.equal(applying.state.applying, a.eventId);
    assert.equal(stateView(applying).pending, 2);
    assert.equal(applying.state.counts.duplicates, 1, 'the in-flight event is a duplicate too');
    const done = run(applying, synced({ idpUserId: 'idp-1' }));
    assert.equal(nextStep(done.machine, false), 'apply');
    assert.equal(done.machine.queue[0].event.eventId, b.eventId);
  });

  it('reports a sync step with the HTTP facts of the outcome', () => {
    assert.deepEqual(
      syncStepFacts({
        operation: 'patched',
        requests: ['PATCH /Users/1 200'],
        httpStatus: 200,
        payloadSha256: 'ab',
        durationMs: 3,
      }),
      { httpStatus: 200, payloadSha256: 'ab', detail: 'patched: PATCH /Users/1 200' },
    );
    assert.equal(
      syncStepFacts({ operation: 'unchanged', requests: [], durationMs: 0 }).detail,
      'unchanged: no request needed',
    );
  });
});

describe('userLifecycle machine: the main loop and continue-as-new', () => {
  it('waits on an empty queue, applies a queued event, continues as new after maxEventsPerRun or when suggested', () => {
    const m = start({ maxEventsPerRun: 2 }).machine;
    assert.equal(nextStep(m, false), 'wait');
    assert.equal(nextStep(m, true), 'continue-as-new', 'Temporal suggested it');
    const queued = run(
      m,
      signal(ev('USER_CREATED', 1, {})),
      signal(ev('USER_UPDATED', 2, {})),
      signal(ev('USER_UPDATED', 3, {})),
    );
    assert.equal(nextStep(queued.machine, false), 'apply');
    const two = run(queued.machine, applyNext(), applyNext());
    assert.equal(two.machine.appliedThisRun, 2);
    assert.equal(nextStep(two.machine, false), 'continue-as-new', 'one still queued, but the run is full');
    const carried = carriedState(two.machine);
    assert.equal(carried.queue.length, 1);
    assert.equal(carried.state.counts.applied, 2);
    assert.equal(carried.seenEventIds.length, 3);
  });

  it('the state query reports pending as queued + the one being applied', () => {
    const m = run(
      start({ idp: SCIM }).machine,
      signal(ev('USER_CREATED', 1, {})),
      signal(ev('USER_UPDATED', 2, {})),
    ).machine;
    assert.equal(stateView(m).pending, 2);
    assert.equal(stateView(run(m, applyNext()).machine).pending, 2);
    assert.equal(m.state.pending, 0, 'the stored state keeps 0; the view computes it');
  });
});
