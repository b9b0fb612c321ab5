import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import {
  WithStartWorkflowOperation,
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { sandboxTenant } from '../src/cli/dev';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import type { TemporalEnvironment } from '../src/temporal/server';
import type { LifecycleEvent } from '../src/scim/lifecycle-events';
import { formatReport, gatherReport } from '../src/cli/report';
import { reportQuery } from '../src/workflows/report';
import {
  DUPLICATE_EVENT,
  INVALID_EVENT,
  lifecycleEventSignal,
  lifecycleEventUpdate,
  stateQuery,
  userLifecycle,
  userLifecycleWorkflowId,
  type UserLifecycleInput,
  type UserLifecycleState,
} from '../src/workflows/user-lifecycle/workflow';
import { historyText, startTestTemporal, startTestWorker, type TestWorker } from './helpers/temporal';

// userLifecycle driven directly (client signal-with-start and the Temporal CLI), with a second
// sandbox standing in for the external IdP.

const CXONE = 'acme';
const IDP = 'idp';
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

let clock = Date.parse('2025-03-01T09:00:00.000Z');
function event(eventType: string, userId: string, user?: Record<string, unknown>, timestamp?: string): LifecycleEvent {
  clock += 1000;
  return {
    eventId: randomUUID(),
    eventType: eventType as LifecycleEvent['eventType'],
    userId,
    timestamp: timestamp ?? new Date(clock).toISOString(),
    tenantId: 'sandbox-tenant',
    ...(user ? { user: { schemas: [USER_SCHEMA], id: userId, ...user } } : {}),
  };
}

/** The activity types a run called, as activity tasks and as local activities (from their markers). */
async function idpCallsOf(handle: {
  fetchHistory(): Promise<{ events?: temporal.api.history.v1.IHistoryEvent[] | null }>;
}): Promise<{ activities: string[]; localActivities: string[] }> {
  const events = (await handle.fetchHistory()).events ?? [];
  const activities = events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
  const localActivities = events.flatMap((e) => {
    const marker = e.markerRecordedEventAttributes;
    const data = marker?.markerName === 'core_local_activity' ? marker.details?.data?.payloads?.[0]?.data : undefined;
    return data
      ? [String((JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: unknown }).activity_type)]
      : [];
  });
  return { activities, localActivities };
}

async function waitFor<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
}

describe('userLifecycle workflow', () => {
  let temporal: TemporalEnvironment;
  let idp: Sandbox;
  let worker: TestWorker;
  let client: Client;

  before(async () => {
    idp = await startSandbox({ port: 0, webhookSecret: 'idp-secret' });
    temporal = await startTestTemporal();
    worker = await startTestWorker(temporal, [sandboxTenant(idp, IDP)]);
    client = temporal.testEnv.client;
  });

  after(async () => {
    await worker?.stop();
    await temporal?.stop();
    await idp?.close();
  });

  async function send(
    input: Omit<UserLifecycleInput, 'tenant'> & { tenant?: string },
    ev: LifecycleEvent | Record<string, unknown>,
  ) {
    const tenant = input.tenant ?? CXONE;
    return client.workflow.signalWithStart(userLifecycle, {
      workflowId: userLifecycleWorkflowId(tenant, input.userId),
      taskQueue: worker.settings.taskQueue,
      args: [{ ...input, tenant }],
      signal: lifecycleEventSignal,
      signalArgs: [ev as LifecycleEvent],
    });
  }
  const stateOf = (handle: WorkflowHandle) => handle.query(stateQuery);
  const idpUser = (externalId: string) => idp.listUsers().find((u) => u.externalId === externalId);

  it('applies create, update and deactivate in order and syncs each to the SCIM IdP', async () => {
    const userId = `u-${randomUUID()}`;
    const input = { userId, idp: { type: 'scim' as const, tenant: IDP } };
    const created = event('USER_CREATED', userId, {
      userName: `${userId}@example.com`,
      displayName: 'Ada',
      active: true,
      emails: [{ value: `${userId}@example.com`, type: 'work', primary: true }],
    });
    const handle = await send(input, created);
    let state = await waitFor(
      () => stateOf(handle),
      (s) => s.counts.applied === 1,
      'create applied',
    );
    assert.equal(state.status, 'active');
    assert.equal(state.idpSync, 'in-sync');
    const atIdp = idpUser(userId);
    assert.ok(atIdp, 'the IdP has the user, externalId = CXone id');
    assert.equal(state.idpUserId, atIdp.id);
    assert.equal(atIdp.displayName, 'Ada');
    assert.equal(atIdp.userName, `${userId}@example.com`);

    idp.clearRequestLog();
    const updated = event('USER_UPDATED', userId, {
      userName: `${userId}@example.com`,
      displayName: 'Ada Lovelace',
      active: true,
      emails: [{ value: `${userId}@example.com`, type: 'work', primary: true }],
    });
    await send(input, updated);
    state = await waitFor(
      () => stateOf(handle),
      (s) => s.counts.applied === 2,
      'update applied',
    );
    assert.equal(idpUser(userId)?.displayName, 'Ada Lovelace');
    assert.deepEqual(
      idp.requestLog.map((r) => `${r.method} ${r.status}`).filter((r) => !r.startsWith('POST 200')),
      ['PATCH 200'],
      'one PATCH, no POST',
    );

    const deactivated = event('USER_DEACTIVATED', userId, {
      userName: `${userId}@example.com`,
      displayName: 'Ada Lovelace',
      active: false,
    });
    await send(input, deactivated);
    state = await waitFor(
      () => stateOf(handle),
      (s) => s.counts.applied === 3,
      'deactivation applied',
    );
    assert.equal(state.status, 'inactive');
    assert.equal(idpUser(userId)?.active, false);

    // A duplicate delivery and a late retry of an older change change nothing.
    idp.clearRequestLog();
    await send(input, updated);
    await send(
      input,
      event(
        'USER_UPDATED',
        userId,
        { userName: `${userId}@example.com`, displayName: 'Stale', active: true },
        created.timestamp,
      ),
    );
    state = await waitFor(
      () => stateOf(handle),
      (s) => s.counts.duplicates === 1 && s.counts.outOfOrder === 1,
      'duplicate and stale counted',
    );
    assert.equal(state.counts.applied, 3);
    assert.equal(state.status, 'inactive');
    assert.equal(state.lastApplied?.eventId, deactivated.eventId);
    assert.equal(
      idp.requestLog.filter((r) => r.path.includes('/Users')).length,
      0,
      'no IdP call for a duplicate or stale event',
    );
    assert.equal(idpUser(userId)?.displayName, 'Ada Lovelace');
    assert.deepEqual(
      state.recent.map((r) => r.outcome),
      ['applied', 'applied', 'applied', 'duplicate', 'out-of-order'],
    );

    const report = await handle.query(reportQuery);
    assert.equal(report.workflowType, 'userLifecycle');
    assert.equal(report.totals.attempted, 3);
    assert.equal(report.totals.succeeded, 3);
    assert.ok(report.steps.some((s) => s.step.includes('sync to IdP') && s.httpStatus === 201));
    const history = await historyText(handle);
    // The IdP calls are local activities (patch user-lifecycle-idp-local-activity): markers, not activity tasks.
    assert.deepEqual(await idpCallsOf(handle), {
      activities: [],
      localActivities: ['idpCreateUser', 'idpPatchUser', 'idpDeactivateUser'],
    });
    assert.ok(!history.includes('sandbox-secret'), 'no client secret in history');
  });

  it('links a user the IdP already has (POST 409 → look up → PATCH)', async () => {
    const userId = `u-${randomUUID()}`;
    const userName = `${userId}@example.com`;
    const existing = idp.adminCreateUser({ userName, displayName: 'Old name' });
    const handle = await send(
      { userId, idp: { type: 'scim', tenant: IDP } },
      event('USER_CREATED', userId, { userName, displayName: 'New name', active: true }),
    );
    const state = await waitFor(
      () => stateOf(handle),
      (s) => s.counts.applied === 1,
      'create applied',
    );
    assert.equal(state.idpUserId, existing.id);
    assert.equal(state.recent[0].idpOperation, 'linked-existing');
    const users = idp.listUsers().filter((u) => u.userName === userName);
    assert.equal(users.length, 1, 'no duplicate at the IdP');
    assert.equal(users[0].displayName, 'New name');
    assert.equal(users[0].externalId, userId);
  });

  it('PATCHes the IdP with what changed only: replaced, removed, extension attributes one by one', async () => {
    const userId = `u-${randomUUID()}`;
    const input = { userId, idp: { type: 'scim' as const, tenant: IDP } };
    const userName = `${userId}@example.com`;
    const handle = await send(
      input,
      event('USER_CREATED', userId, {
        schemas: [USER_SCHEMA, ENTERPRISE],
        userName,
        displayName: 'Ada',
        title: 'Countess',
        active: true,
        [ENTERPRISE]: { department: 'R&D', costCenter: 'C1' },
      }),
    );
    await waitFor(
      () => stateOf(handle),
      (s) => s.counts.applied === 1,
      'create applied',
    );
    assert.deepEqual(idpUser(userId)?.[ENTERPRISE], { department: 'R&D', costCenter: 'C1' });

    idp.clearRequestLog();
    await send(
      input,
      event('USER_UPDATED', userId, {
        schemas: [USER_SCHEMA, ENTERPRISE],
        userName,
        displayName: 'Ada',
        active: true,
        [ENTERPRISE]: { department: 'Research' },
      }),
    );
    const state = await waitFor(
      () => stateOf(handle),
      (s) => s.counts.applied === 2,
      'update applied',
    );
    assert.equal(state.idpSync, 'in-sync');
    assert.deepEqual(
      idp.requestLog.filter((r) => r.path.includes('/Users')).map((r) => `${r.method} ${r.status}`),
      ['PATCH 200'],
      'one PATCH',
    );
    const atIdp = idpUser(userId);
    assert.equal(atIdp?.title, undefined, 'title removed at the IdP');
    assert.equal(atIdp?.displayName, 'Ada', 'an unchanged attribute stays');
    assert.deepEqual(atIdp?.[ENTERPRISE], { department: 'Research' });
  });

  it('retries the IdP through its 503s, holding later events back so the IdP still sees them in order', async () => {
    const userId = `u-${randomUUID()}`;
    const input = { userId, idp: { type: 'scim' as const, tenant: IDP } };
    idp.setSwitches({ failNext: 3, failStatus: 503, retryAfterSeconds: 1 });
    try {
      const handle = await send(
        input,
        event('USER_CREATED', userId, { userName: `${userId}@example.com`, displayName: 'v1', active: true }),
      );
      await send(
        input,
        event('USER_UPDATED', userId, { userName: `${userId}@example.com`, displayName: 'v2', active: true }),
      );
      const state = await waitFor(
        () => stateOf(handle),
        (s) => s.counts.applied === 2,
        'both applied',
      );
      assert.equal(state.idpSync, 'in-sync');
      assert.deepEqual(
        state.recent.map((r) => r.idpOperation),
        ['created', 'patched'],
      );
      assert.equal(idpUser(userId)?.displayName, 'v2');
      assert.equal(idp.switches.failNext, 0, 'the injected faults were hit');
    } finally {
      idp.setSwitches({ failNext: 0, retryAfterSeconds: 1 });
    }
  });

  it('rejects an unknown event type signalled directly: recorded, reported, never silently dropped', async () => {
    const userId = `u-${randomUUID()}`;
    const handle = await send(
      { userId },
      { ...event('USER_CREATED', userId, { userName: 'x@example.com' }), eventType: 'USER_EXPLODED' },
    );
    await send({ userId }, { eventId: 'no-type', userId });
    const state = await waitFor(
      () => stateOf(handle),
      (s) => s.counts.rejected === 2,
      'rejections recorded',
    );
    assert.equal(state.counts.applied, 0);
    assert.match(state.rejected[0].detail ?? '', /unknown event type "USER_EXPLODED"/);
    assert.equal(state.rejected[0].eventType, 'USER_EXPLODED');
    assert.match(state.rejected[1].detail ?? '', /malformed event: .*\$\.eventType/);
    const report = await handle.query(reportQuery);
    assert.ok(report.steps.some((s) => s.outcome === 'failed' && /USER_EXPLODED/.test(s.step)));
    const attrs = (await handle.describe()).typedSearchAttributes;
    assert.equal(attrs.get({ name: 'ScimOutcome', type: 'KEYWORD' } as never), 'attention');
  });

  it('answers the lifecycleEvent update synchronously; a seen eventId or a malformed event is refused without a trace', async () => {
    const userId = `u-${randomUUID()}`;
    const workflowId = userLifecycleWorkflowId(CXONE, userId);
    const update = (ev: LifecycleEvent | Record<string, unknown>) =>
      client.workflow.executeUpdateWithStart(lifecycleEventUpdate, {
        args: [ev as LifecycleEvent],
        startWorkflowOperation: new WithStartWorkflowOperation(userLifecycle, {
          workflowId,
          taskQueue: worker.settings.taskQueue,
          args: [{ tenant: CXONE, userId }],
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      });
    const created = event('USER_CREATED', userId, { userName: `${userId}@x.test` });
    const ack = await update(created);
    assert.equal(ack.eventId, created.eventId);
    assert.equal(ack.run, 1);
    const handle = client.workflow.getHandle(workflowId);
    await waitFor(
      () => stateOf(handle),
      (s) => s.counts.applied === 1 && s.pending === 0,
      'applied',
    );
    const length = (await handle.fetchHistory()).events?.length;
    const refusal = (type: string) => (err: unknown) =>
      err instanceof WorkflowUpdateFailedError && (err.cause as ApplicationFailure)?.type === type;
    await assert.rejects(update(created), refusal(DUPLICATE_EVENT));
    await assert.rejects(
      update({ ...created, eventId: randomUUID(), eventType: 'USER_EXPLODED' }),
      refusal(INVALID_EVENT),
    );
    assert.equal((await handle.fetchHistory()).events?.length, length, 'refused updates leave history untouched');
    const state = await stateOf(handle);
    assert.deepEqual([state.counts.received, state.counts.duplicates, state.counts.rejected], [1, 0, 0]);
  });

  it('continues as new every N events, losing neither state nor seen eventIds', async () => {
    const userId = `u-${randomUUID()}`;
    const input = { userId, maxEventsPerRun: 3 };
    const events = Array.from({ length: 8 }, (_, i) =>
      i === 0
        ? event('USER_CREATED', userId, { userName: `${userId}@x.test`, title: 't0' })
        : event('USER_UPDATED', userId, { userName: `${userId}@x.test`, title: `t${i}` }),
    );
    const first = await send(input, events[0]);
    const firstRunId = first.signaledRunId;
    const handle = client.workflow.getHandle(userLifecycleWorkflowId(CXONE, userId));
    for (const ev of events.slice(1)) await send(input, ev);
    let state: UserLifecycleState = await waitFor(
      () => stateOf(handle),
      (s) => s.counts.applied === 8,
      'all applied',
    );
    assert.ok(state.run >= 3, `continued as new at least twice (run ${state.run})`);
    assert.equal(state.user?.title, 't7');
    assert.equal(state.lastApplied?.eventId, events[7].eventId);
    const description = await handle.describe();
    assert.notEqual(description.runId, firstRunId, 'a new run');
    // The first event's id was seen two runs ago: still a duplicate.
    await send(input, events[0]);
    state = await waitFor(
      () => stateOf(handle),
      (s) => s.counts.duplicates === 1,
      'duplicate across continue-as-new',
    );
    assert.equal(state.counts.applied, 8);
    assert.equal(state.counts.received, 9);
  });

  it('refuses to run under another workflow id than user-lifecycle:{tenant}:{userId}', async () => {
    const handle = await client.workflow.start(userLifecycle, {
      workflowId: `not-the-right-id-${randomUUID()}`,
      taskQueue: worker.settings.taskQueue,
      args: [{ tenant: CXONE, userId: 'u-1' }],
    });
    await assert.rejects(
      handle.result(),
      (err: unknown) =>
        err instanceof WorkflowFailedError &&
        /WrongWorkflowId|must run with workflow id/.test(String(err.cause?.message ?? err.cause)),
    );
  });

  it('is driven the same way by `temporal workflow signal-with-start`', async (t) => {
    if (temporal.source.kind !== 'executable')
      return t.skip('no Temporal CLI binary (server from TEMPORAL_ADDRESS or SDK download)');
    const userId = `cli-${randomUUID()}`;
    const ev = event('USER_CREATED', userId, { userName: `${userId}@example.com`, active: true });
    const workflowId = userLifecycleWorkflowId(CXONE, userId);
    await promisify(execFile)(temporal.source.path, [
      'workflow',
      'signal-with-start',
      '--address',
      temporal.address,
      '--namespace',
      temporal.namespace,
      '--workflow-id',
      workflowId,
      '--type',
      'userLifecycle',
      '--task-queue',
      worker.settings.taskQueue,
      '--input',
      JSON.stringify({ tenant: CXONE, userId, idp: { type: 'scim', tenant: IDP } }),
      '--signal-name',
      'lifecycleEvent',
      '--signal-input',
      JSON.stringify(ev),
    ]);
    const state = await waitFor(
      () => stateOf(client.workflow.getHandle(workflowId)),
      (s) => s.counts.applied === 1,
      'CLI event applied',
    );
    assert.equal(state.status, 'active');
    assert.ok(idpUser(userId), 'synced to the IdP');
  });

  it('`report` shows userLifecycle as entity workflows: open runs, events, IdP syncs and lag — not as finished runs', async () => {
    const userId = `report-${randomUUID()}`;
    const handle = await send(
      { userId, idp: { type: 'scim', tenant: IDP } },
      event('USER_CREATED', userId, { userName: `${userId}@x.test` }, new Date().toISOString()),
    );
    await send({ userId, idp: { type: 'scim', tenant: IDP } }, { eventId: 'malformed', userId });
    await waitFor(
      () => stateOf(handle),
      (s) => s.counts.synced === 1 && s.counts.rejected === 1,
      'synced and rejected',
    );
    const own = (await handle.query(reportQuery)).entity;
    assert.deepEqual(own?.events, { received: 2, applied: 1, ignored: 0, failed: 1 });
    assert.equal(own?.idpSync.succeeded, 1);
    assert.equal(own?.idpSync.lagMs.samples, 1);
    assert.ok((own?.idpSync.lagMs.max ?? -1) >= 0);

    const gathered = await gatherReport(client, { tenant: CXONE, type: 'userLifecycle' });
    assert.deepEqual(gathered.summaries, [], 'not reported as finished runs');
    const [entity] = gathered.entities;
    assert.equal(entity.workflowType, 'userLifecycle');
    const open = gathered.runs.filter((r) => r.status === 'running').length;
    assert.equal(entity.openRuns, open);
    assert.ok(open >= 2, `open workflows: ${open}`);
    const total = (pick: (e: NonNullable<typeof own>) => number) =>
      gathered.runs.reduce((n, r) => n + (r.entity ? pick(r.entity) : 0), 0);
    assert.equal(
      entity.events.applied,
      total((e) => e.events.applied),
    );
    assert.equal(
      entity.events.failed,
      total((e) => e.events.failed),
    );
    assert.equal(
      entity.idpSync.succeeded,
      total((e) => e.idpSync.succeeded),
    );
    const md = formatReport(gathered, 'md');
    assert.match(md, /## Entity workflows/);
    assert.doesNotMatch(md, /runs succeeded/);
    assert.match(
      md,
      new RegExp(`\\| userLifecycle \\| ${open} \\| ${entity.events.received} \\| ${entity.events.applied} \\|`),
    );
  });
});
