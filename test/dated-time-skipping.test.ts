import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import { datedUserWorkflowId } from '../src/activities/dated';
import { planDatedRecords } from '../src/cli/pending';
import { sandboxTenant } from '../src/cli/dev';
import { TenantRegistry } from '../src/config/tenants';
import { endOfLocalDay, startOfLocalDay } from '../src/scim/dated-actions';
import { SCIM_SEARCH_ATTRIBUTES } from '../src/temporal/search-attributes';
import { startTimeSkippingTemporal } from '../src/temporal/server';
import { createProjectWorker } from '../src/worker';
import { datedPlanSignal, datedStateQuery, datedUserActions } from '../src/workflows';
import type { DatedPlan } from '../src/workflows/dated/schedule';
import { workflowBundle } from './helpers/temporal';
import { scimUser } from './helpers/users';

// Future-dated joiners and leavers on the time-skipping test server: months of durable timers pass
// in virtual time, while the provider (the CXone sandbox) answers real HTTP on loopback.
describe('dated actions on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  let sandbox: Sandbox;
  let worker: Worker;
  let running: Promise<void>;
  let taskQueue: string;
  const DAY = 86_400_000;

  before(async () => {
    [env, sandbox] = await Promise.all([startTimeSkippingTemporal(), startSandbox({ port: 0 })]);
    await env.connection.operatorService.addSearchAttributes({
      namespace: env.namespace ?? 'default',
      searchAttributes: Object.fromEntries(
        SCIM_SEARCH_ATTRIBUTES.map((key) => [
          key.name,
          temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        ]),
      ),
    });
    taskQueue = `ts-dated-${randomUUID()}`;
    worker = await createProjectWorker({
      settings: { address: env.address, namespace: env.namespace ?? 'default', taskQueue },
      tenants: new TenantRegistry([sandboxTenant(sandbox)]),
      connection: env.nativeConnection,
      workflowBundle: await workflowBundle(),
    });
    running = worker.run();
  });

  after(async () => {
    if (worker?.getState() === 'RUNNING') worker.shutdown();
    await running;
    await env?.teardown();
    await sandbox?.close();
  });

  const tenant = 'sandbox';
  const byName = (userName: string) => sandbox.listUsers().find((u) => String(u.userName).toLowerCase() === userName);
  /** The plan a planner reading this export at virtual time `now` sends. */
  const planOf = (fields: Record<string, unknown>, now: number, leadTime = 'none'): DatedPlan => {
    const [planned] = planDatedRecords(
      [{ where: 'line 2', fields }],
      { start: 'start_date', lastDay: 'last_day', timeZone: 'tz', leadTime },
      now,
    );
    assert.ok('plan' in planned, JSON.stringify(planned));
    return planned.plan;
  };
  const signal = (userName: string, plan: DatedPlan) =>
    env.client.workflow.signalWithStart(datedUserActions, {
      workflowId: datedUserWorkflowId(tenant, userName),
      taskQueue,
      args: [{ tenant, userName }],
      signal: datedPlanSignal,
      signalArgs: [plan],
    });
  const activityCalls = async (workflowId: string) => {
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    return (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).length;
  };
  /**
   * A timer runs from when the server records it, a moment after the workflow task computed its
   * length from the task's time: so it fires at the instant or a few milliseconds after, never before.
   */
  const firedAt = (fired: string | undefined, instant: number) => {
    const ms = Date.parse(fired ?? '');
    assert.ok(ms >= instant && ms < instant + 1000, `fired at ${fired}, due ${new Date(instant).toISOString()}`);
  };
  const ymd = (ms: number) => new Date(ms).toISOString().slice(0, 10);

  it('deactivates a leaver whose last day moved twice once, at the final date’s local end of day', async () => {
    const userName = 'leaver@corp.example';
    const created = sandbox.adminCreateUser(scimUser(userName));
    const zone = 'Europe/Paris';
    const t0 = await env.currentTimeMs();
    // Export 1: last day in 10 days. Export 2 (two days later): pushed to 40 days. Export 3: back to 20 days.
    const first = ymd(t0 + 10 * DAY);
    const second = ymd(t0 + 40 * DAY);
    const final = ymd(t0 + 20 * DAY);
    const handle = await signal(userName, planOf({ userName, last_day: first, tz: zone }, t0));
    await env.sleep('2 days');
    await signal(userName, planOf({ userName, last_day: second, tz: zone }, await env.currentTimeMs()));
    await env.sleep('2 days');
    const planned = planOf({ userName, last_day: final, tz: zone }, await env.currentTimeMs());
    await signal(userName, planned);
    const view = await handle.query(datedStateQuery);
    assert.equal(view.live.length, 1, 'one pending action, not three');
    assert.equal(view.live[0].at, new Date(endOfLocalDay(final, zone)).toISOString());
    assert.deepEqual(view.live[0].movedFrom, [
      new Date(endOfLocalDay(first, zone)).toISOString(),
      new Date(endOfLocalDay(second, zone)).toISOString(),
    ]);
    // Still active past the first date's end: that timer was moved, not left to fire.
    await env.sleep(`${Math.ceil((endOfLocalDay(first, zone) - (await env.currentTimeMs())) / 3600_000) + 1} hours`);
    assert.equal(sandbox.getUser(created.id as string)?.active, true);

    const result = await handle.result(); // unlocks time skipping until the workflow completes
    assert.equal(sandbox.getUser(created.id as string)?.active, false);
    assert.equal(result.recent.length, 1);
    const done = result.recent[0];
    assert.equal(done.status, 'done');
    assert.equal(done.kind, 'deactivate');
    firedAt(done.firedAt, endOfLocalDay(final, zone));
    assert.match(done.outcome ?? '', /deactivated leaver@corp\.example/);
    assert.equal(await activityCalls(handle.workflowId), 1, 'exactly one deactivation');
  });

  it('creates a joiner inactive a week ahead and activates it at local midnight across a daylight-saving change', async () => {
    const userName = 'joiner@corp.example';
    const zone = 'Europe/Paris';
    // Day one is the Monday after the last Sunday of March 2027 (clocks go forward on the 28th): the
    // lead week starts in CET (+01:00), day one in CEST (+02:00).
    const start = '2027-03-29';
    const t0 = await env.currentTimeMs();
    assert.ok(
      t0 < startOfLocalDay('2027-03-22', zone),
      'the test runs before the lead week (virtual clock starts now)',
    );
    const plan = planOf({ ...scimUser(userName), start_date: start, tz: zone }, t0, '7 days');
    assert.deepEqual(
      plan.actions.map((a) => [a.kind, a.at, a.localAt]),
      [
        ['create', '2027-03-21T23:00:00.000Z', '2027-03-22T00:00:00+01:00'],
        ['activate', '2027-03-28T22:00:00.000Z', '2027-03-29T00:00:00+02:00'],
      ],
    );
    assert.equal(plan.user?.userName, userName);
    const handle = await signal(userName, plan);
    // Skip to one hour after the create.
    await env.sleep(
      `${Math.ceil((Date.parse('2027-03-21T23:00:00Z') - (await env.currentTimeMs())) / 3600_000) + 1} hours`,
    );
    const created = byName(userName);
    assert.ok(created, 'created at the start of the lead week');
    assert.equal(created.active, false, 'inactive until day one');
    const result = await handle.result();
    assert.equal(byName(userName)?.active, true);
    assert.deepEqual(
      result.recent.map((e) => [e.kind, e.status]),
      [
        ['create', 'done'],
        ['activate', 'done'],
      ],
    );
    firedAt(result.recent[0].firedAt, Date.parse('2027-03-21T23:00:00Z'));
    firedAt(result.recent[1].firedAt, Date.parse('2027-03-28T22:00:00Z'));
    assert.equal(await activityCalls(handle.workflowId), 2);
  });
});
