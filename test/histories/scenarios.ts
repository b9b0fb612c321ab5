import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import type { Sandbox } from 'cxone-sandbox';
import { startConfigure } from '../../src/cli/configure';
import {
  adoptProgressQuery,
  adoptUsers,
  approveLinksUpdate,
  discoverServiceProvider,
  approveDeletionsUpdate,
  lifecycleEventSignal,
  provisionUsers,
  registerWebhooks,
  stateQuery,
  syncAssignments,
  syncGroups,
  syncProgressQuery,
  syncUsers,
  undoProgressQuery,
  undoRun,
  userLifecycle,
  type ConfigureServiceProviderInput,
  type ProvisionUsersInput,
  type UserLifecycleInput,
} from '../../src/workflows';
import { userLifecycleWorkflowId } from '../../src/workflows/user-lifecycle/workflow';
import { startScriptedServer } from '../helpers/http';
import type { History } from '../helpers/history-files';

// The scenarios `npm run record:histories` records: every workflow type and the paths through it
// that produce different commands. Each one checks that it really took its path (a scenario that
// silently stopped continuing as new would leave that path unguarded). Keep them small: the files
// are committed. A new workflow type needs a scenario here (test/replay.test.ts insists).

export interface RecordingContext {
  client: Client;
  taskQueue: string;
  /** Tenant `sandbox`: the CXone stand-in. Tenant `idp`: the IdP userLifecycle syncs to. Tenant `lying`: 413s. */
  sandbox: Sandbox;
  idp: Sandbox;
  /** A scratch directory for source files. */
  workDir: string;
  /** Writes `<name>.json` from one run (the latest without runId). */
  save(name: string, workflowId: string, runId?: string): Promise<void>;
  /** Writes every run: `<name>-run1.json`, `<name>-run2.json`, … (just `<name>.json` for a single run). */
  saveRuns(name: string, workflowId: string, options?: { minRuns?: number }): Promise<History[]>;
}

export interface Scenario {
  name: string;
  record(context: RecordingContext): Promise<void>;
}

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const DESIRED_SPC = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', 'service-provider-config.json'), 'utf8')) as Record<string, unknown>;

const withBulkLimit = (maxOperations: number) => ({ ...DESIRED_SPC, bulk: { ...(DESIRED_SPC.bulk as object), maxOperations } });

function inlineUsers(prefix: string, n: number): Array<Record<string, unknown>> {
  return Array.from({ length: n }, (_, i) => {
    const userName = `${prefix}.${i}@example.com`;
    return { schemas: [CORE], userName, displayName: `User ${i}`, emails: [{ value: userName, type: 'work', primary: true }], active: true };
  });
}

/** Runs configureServiceProvider to its end; `failsWith`: the run must fail with a cause matching it. */
async function configure(c: RecordingContext, name: string, input: ConfigureServiceProviderInput, failsWith?: RegExp) {
  const handle = await startConfigure(c.client, c.taskQueue, input);
  const outcome = await handle.result().then(
    (result) => ({ result }),
    (error: unknown) => ({ error }),
  );
  if (failsWith) {
    const cause = 'error' in outcome && outcome.error instanceof WorkflowFailedError ? String(outcome.error.cause?.message) : 'no failure';
    assert.match(cause, failsWith, `${name}: expected the run to fail`);
  } else {
    assert.ok('result' in outcome, `${name}: ${String((outcome as { error: unknown }).error)}`);
  }
  await c.save(name, handle.workflowId, handle.firstExecutionRunId);
  return 'result' in outcome ? outcome.result : undefined;
}

async function provision(c: RecordingContext, scenario: string, input: ProvisionUsersInput, minRuns = { parent: 1, batch: 1 }) {
  const workflowId = `provision-${scenario}`;
  const result = await c.client.workflow.execute(provisionUsers, { taskQueue: c.taskQueue, workflowId, args: [input] });
  assert.equal(result.totals.failed, 0, `${scenario}: ${JSON.stringify(result.failures)}`);
  const runs = await c.saveRuns(`provisionUsers-${scenario}`, workflowId, { minRuns: minRuns.parent });
  // The first batch, by the id the parent gave it (whatever the naming scheme).
  const batchId = runs[0].events?.find((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)?.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
  assert.ok(batchId, `${scenario}: the parent started a batch`);
  await c.saveRuns(`provisionUsersBatch-${scenario}`, batchId, { minRuns: minRuns.batch });
  return result;
}

/** The event the lifecycleEvent signal carries (wherever its codec lives). */
type LifecycleEvent = typeof lifecycleEventSignal extends SignalDefinition<[infer E]> ? E : never;

let clock = Date.parse('2026-01-05T09:00:00.000Z');
function lifecycleEvent(eventType: string, userId: string, eventId: string, user?: Record<string, unknown>): LifecycleEvent {
  clock += 60_000;
  return {
    eventId,
    eventType: eventType as LifecycleEvent['eventType'],
    userId,
    timestamp: new Date(clock).toISOString(),
    tenantId: 'sandbox-tenant',
    ...(user ? { user: { schemas: [CORE], id: userId, ...user } } : {}),
  };
}

async function waitUntil<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'discoverServiceProvider',
    async record(c) {
      const workflowId = 'discover-sandbox';
      const result = await c.client.workflow.execute(discoverServiceProvider, { taskQueue: c.taskQueue, workflowId, args: [{ tenant: 'sandbox' }] });
      assert.equal(result.httpStatus, 200);
      await c.save('discoverServiceProvider-sandbox', workflowId);
    },
  },
  {
    name: 'configureServiceProvider apply, verify, read-only',
    async record(c) {
      const notify = await startNotifyReceiver();
      try {
        const applied = await configure(c, 'configureServiceProvider-apply', { tenant: 'sandbox', desired: DESIRED_SPC, notifyUrl: notify.url });
        assert.ok(applied?.changed && applied.notified, 'apply: PUT, verified and notified');
      } finally {
        await notify.close();
      }
      const verified = await configure(c, 'configureServiceProvider-verify', { tenant: 'sandbox', desired: withBulkLimit(400), mode: 'verify' });
      assert.ok(verified && !verified.inSync && verified.differences.length > 0, 'verify: drift reported');
      c.sandbox.setSwitches({ readOnlySpc: true });
      try {
        await configure(c, 'configureServiceProvider-read-only', { tenant: 'sandbox', desired: withBulkLimit(300) }, /read-only/);
      } finally {
        c.sandbox.setSwitches({ readOnlySpc: false });
      }
    },
  },
  {
    name: 'provisionUsers sync (CSV file with mapping)',
    async record(c) {
      const fixtures = path.join(ROOT, 'test', 'fixtures', 'provision');
      const file = path.join(c.workDir, 'users.csv');
      fs.copyFileSync(path.join(fixtures, 'users.csv'), file);
      const mapping = JSON.parse(fs.readFileSync(path.join(fixtures, 'mapping.json'), 'utf8')) as unknown;
      const result = await provision(c, 'sync', { tenant: 'sandbox', source: { path: file, mapping }, maxOperationsPerRequest: 3, chunksPerBatch: 2, maxChunksInFlight: 2 });
      assert.ok(result.batches >= 2 && result.totals.created > 0, `sync: ${result.batches} batches, ${result.totals.created} created`);
      assert.ok(result.chunks.outcomes.every((o) => o.mode === 'sync'));
    },
  },
  {
    name: 'provisionUsers plan pages (CSV file, the plan read a page at a time across continue-as-new)',
    async record(c) {
      const fixtures = path.join(ROOT, 'test', 'fixtures', 'provision');
      const file = path.join(c.workDir, 'paged.csv');
      const rows = Array.from({ length: 24 }, (_, i) => `P${i},paged.user${i}@example.com,Paged,User${i},Dept,true,+1 555 ${1000 + i}`);
      fs.writeFileSync(file, `employee_id,email,first_name,last_name,department,enabled,phone\n${rows.join('\n')}\n`);
      const mapping = JSON.parse(fs.readFileSync(path.join(fixtures, 'mapping.json'), 'utf8')) as unknown;
      const result = await provision(
        c,
        'plan-pages',
        { tenant: 'sandbox', source: { path: file, mapping }, maxOperationsPerRequest: 2, chunksPerPage: 3, chunksPerBatch: 2, maxChunksInFlight: 1, historyEventLimit: 25 },
        { parent: 2, batch: 1 },
      );
      assert.equal(result.totals.created, 24);
      assert.equal(result.chunks.planned, 12);
    },
  },
  {
    name: 'provisionUsers manager links (a manager created by the run, linked by its last pass)',
    async record(c) {
      const file = path.join(c.workDir, 'managed.csv');
      fs.writeFileSync(file, 'emp_id,email,manager_id\nML1,ml.report@example.com,ML2\nML2,ml.manager@example.com,\n');
      const mapping = {
        attributes: { externalId: 'emp_id', userName: 'email', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager': { source: 'manager_id' } },
      };
      const result = await provision(c, 'manager-links', { tenant: 'sandbox', source: { path: file, mapping } });
      assert.equal(result.totals.created, 2);
      assert.equal((result as { managerLinks?: { linked: number } }).managerLinks?.linked, 1, 'manager-links: the last pass linked the report');
    },
  },
  {
    name: 'provisionUsers async',
    async record(c) {
      const result = await provision(c, 'async', { tenant: 'sandbox', users: inlineUsers('async', 6), preferAsync: true, maxOperationsPerRequest: 3, chunksPerBatch: 2 });
      assert.equal(result.totals.created, 6);
      assert.ok(result.chunks.outcomes.every((o) => o.mode === 'async'), 'async: 202 + polling');
    },
  },
  {
    name: 'provisionUsers continue-as-new',
    async record(c) {
      const result = await provision(
        c,
        'continue-as-new',
        { tenant: 'sandbox', users: inlineUsers('can', 48), maxOperationsPerRequest: 4, chunksPerBatch: 6, maxChunksInFlight: 1, historyEventLimit: 20 },
        { parent: 2, batch: 2 },
      );
      assert.equal(result.totals.created, 48);
    },
  },
  {
    name: 'provisionUsers per resource',
    async record(c) {
      const result = await provision(c, 'per-resource', { tenant: 'sandbox', users: inlineUsers('per-resource', 8), mode: 'per-resource', maxOperationsPerRequest: 3, maxChunksInFlight: 2 });
      assert.equal(result.totals.created, 8);
      assert.ok(result.chunks.outcomes.every((o) => o.mode === 'per-resource'), 'per-resource: one resource at a time');
    },
  },
  {
    name: 'provisionUsers 413 split',
    async record(c) {
      const result = await provision(c, '413-split', { tenant: 'lying', users: inlineUsers('split', 10) });
      assert.equal(result.totals.created, 10);
      assert.ok(result.chunks.outcomes.some((o) => o.httpStatus === 413), '413-split: the provider refused and the chunk was split');
    },
  },
  {
    name: 'userLifecycle continue-as-new',
    async record(c) {
      const userId = 'u-recorded-1';
      const workflowId = userLifecycleWorkflowId('sandbox', userId);
      const input: UserLifecycleInput = { tenant: 'sandbox', userId, idp: { type: 'scim', tenant: 'idp' }, maxEventsPerRun: 2 };
      const user = (displayName: string, active = true) => ({ userName: 'grace@example.com', displayName, active, emails: [{ value: 'grace@example.com', type: 'work', primary: true }] });
      const created = lifecycleEvent('USER_CREATED', userId, 'ev-1', user('Grace'));
      const updated = lifecycleEvent('USER_UPDATED', userId, 'ev-2', user('Grace Hopper'));
      const signals: unknown[] = [
        created,
        updated,
        updated, // a duplicate delivery
        { ...lifecycleEvent('USER_CREATED', userId, 'ev-x'), eventType: 'USER_EXPLODED' }, // rejected
        lifecycleEvent('USER_DEACTIVATED', userId, 'ev-3', user('Grace Hopper', false)),
      ];
      for (const signal of signals) {
        await c.client.workflow.signalWithStart(userLifecycle, {
          workflowId,
          taskQueue: c.taskQueue,
          args: [input],
          signal: lifecycleEventSignal,
          signalArgs: [signal as LifecycleEvent],
        });
      }
      const handle = c.client.workflow.getHandle(workflowId);
      const state = await waitUntil(() => handle.query(stateQuery), (s) => s.counts.applied === 3 && s.pending === 0, 'three events applied');
      assert.ok(state.run >= 2 && state.status === 'inactive' && state.counts.synced === 3, `userLifecycle: ${JSON.stringify(state.counts)} run ${state.run}`);
      // It never completes: wait until its last workflow task is recorded, so that the history ends cleanly.
      await waitUntil(
        async () => (await handle.fetchHistory()).events?.at(-1)?.workflowTaskCompletedEventAttributes,
        (done) => done !== undefined && done !== null,
        'the last workflow task completed',
      );
      await c.saveRuns('userLifecycle-continue-as-new', workflowId, { minRuns: 2 });
    },
  },
  {
    name: 'registerWebhooks create, unchanged',
    async record(c) {
      const url = `${c.idp.url}/hooks/cxone/sandbox`;
      for (const [scenario, changed] of [['create', true], ['unchanged', false]] as const) {
        const workflowId = `register-webhooks-${scenario}`;
        const result = await c.client.workflow.execute(registerWebhooks, { taskQueue: c.taskQueue, workflowId, args: [{ tenant: 'sandbox', url }] });
        assert.equal(result.changed, changed, `registerWebhooks-${scenario}`);
        await c.save(`registerWebhooks-${scenario}`, workflowId);
      }
    },
  },
  {
    name: 'syncGroups dry run, apply',
    async record(c) {
      for (const u of inlineUsers('grouped', 3)) c.sandbox.adminCreateUser({ ...u, name: { givenName: 'G', familyName: 'M' } });
      const groups = [{ displayName: 'Replay agents', members: ['grouped.0@example.com', 'grouped.1@example.com'] }, { displayName: 'Replay leads', members: ['grouped.2@example.com'] }];
      for (const [scenario, dryRun] of [['dry-run', true], ['apply', false]] as const) {
        const workflowId = `sync-groups-${scenario}`;
        const result = await c.client.workflow.execute(syncGroups, { taskQueue: c.taskQueue, workflowId, args: [{ tenant: 'sandbox', groups, dryRun, memberSliceSize: 1 }] });
        assert.equal(result.outcome, dryRun ? 'dry-run' : 'succeeded', `syncGroups-${scenario}: ${JSON.stringify(result.failures)}`);
        if (!dryRun) assert.equal(result.applied.membersAdded, 3);
        await c.save(`syncGroups-${scenario}`, workflowId);
      }
    },
  },
  {
    name: 'syncUsers dry run, removals awaiting and receiving approval',
    async record(c) {
      const person = (name: string, extra: Record<string, unknown> = {}) => ({
        schemas: [CORE], userName: `${name}@sync.example`, name: { givenName: name, familyName: 'Sync' }, emails: [{ value: `${name}@sync.example`, type: 'work', primary: true }], active: true, ...extra,
      });
      for (const u of [person('keep'), person('change', { title: 'Agent' }), person('leaver')]) c.sandbox.adminCreateUser(u);
      const users = [person('keep'), person('change', { title: 'Lead' }), person('joiner')];
      const scope = { userNameSuffixes: ['@sync.example'] };
      const dry = await c.client.workflow.execute(syncUsers, { taskQueue: c.taskQueue, workflowId: 'sync-dry-run', args: [{ tenant: 'sandbox', users, scope, orphans: 'leavers', dryRun: true }] });
      assert.equal(dry.outcome, 'dry-run');
      await c.save('syncUsers-dry-run', 'sync-dry-run');
      const handle = await c.client.workflow.start(syncUsers, { taskQueue: c.taskQueue, workflowId: 'sync-approved', args: [{ tenant: 'sandbox', users, scope, orphans: 'leavers', deletionThreshold: { maxCount: 0 } }] });
      const progress = await waitUntil(() => handle.query(syncProgressQuery), (p) => p.phase === 'awaitingApproval', 'syncUsers awaiting approval');
      await handle.executeUpdate(approveDeletionsUpdate, { args: [{ planHash: progress.awaitingApproval?.planHash ?? '' }] });
      const result = await handle.result();
      assert.deepEqual([result.outcome, result.applied.create, result.applied.update, result.applied.deactivate], ['succeeded', 1, 1, 1], `syncUsers-approved: ${JSON.stringify(result.failures)}`);
      await c.save('syncUsers-approved', 'sync-approved');
    },
  },
  {
    name: 'syncUsers manager links (a manager created by the sync, linked after its writes)',
    async record(c) {
      const file = path.join(c.workDir, 'managed-sync.csv');
      fs.writeFileSync(file, 'emp_id,email,manager_id\nMS1,ms.report@mlsync.example,MS2\nMS2,ms.manager@mlsync.example,\n');
      const mapping = {
        attributes: { externalId: 'emp_id', userName: 'email', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager': { source: 'manager_id' } },
      };
      const result = await c.client.workflow.execute(syncUsers, {
        taskQueue: c.taskQueue,
        workflowId: 'sync-manager-links',
        args: [{ tenant: 'sandbox', source: { path: file, mapping }, scope: { userNameSuffixes: ['@mlsync.example'] } }],
      });
      assert.deepEqual([result.outcome, result.applied.create], ['succeeded', 2], `syncUsers-manager-links: ${JSON.stringify(result.failures)}`);
      assert.equal(result.managerLinks?.linked, 1, 'syncUsers-manager-links: the pass after the writes linked the report');
      await c.save('syncUsers-manager-links', 'sync-manager-links');
    },
  },
  {
    name: 'undoRun of a finished syncUsers run: dry run, then applied after approval',
    async record(c) {
      // Undoes sync-approved (the scenario before): reactivates its leaver, restores its title change.
      const dry = await c.client.workflow.execute(undoRun, { taskQueue: c.taskQueue, workflowId: 'undo-dry-run', args: [{ tenant: 'sandbox', workflowId: 'sync-approved' }] });
      assert.deepEqual([dry.outcome, dry.counts.reactivate, dry.counts.restore], ['dry-run', 1, 1], `undoRun-dry-run: ${JSON.stringify(dry)}`);
      await c.save('undoRun-dry-run', 'undo-dry-run');
      const handle = await c.client.workflow.start(undoRun, { taskQueue: c.taskQueue, workflowId: 'undo-approved', args: [{ tenant: 'sandbox', workflowId: 'sync-approved', apply: true, deletionThreshold: { maxCount: 0 } }] });
      const progress = await waitUntil(() => handle.query(undoProgressQuery), (p) => p.phase === 'awaitingApproval', 'undoRun awaiting approval');
      await handle.executeUpdate(approveDeletionsUpdate, { args: [{ planHash: progress.awaitingApproval?.planHash ?? '' }] });
      const result = await handle.result();
      assert.deepEqual([result.outcome, result.applied.reactivate, result.applied.restore], ['succeeded', 1, 1], `undoRun-approved: ${JSON.stringify(result)}`);
      await c.save('undoRun-approved', 'undo-approved');
    },
  },
  {
    name: 'adoptUsers dry run, links awaiting and receiving approval',
    async record(c) {
      const person = (userName: string, extra: Record<string, unknown> = {}) => ({
        schemas: [CORE], userName, name: { givenName: 'A', familyName: 'Dopt' }, emails: [{ value: userName, type: 'work', primary: true }], active: true, ...extra,
      });
      for (const u of [person('exact@adopt.example'), person('mail@adopt.example'), person('orphan@adopt.example')]) c.sandbox.adminCreateUser(u);
      const users = [person('exact@adopt.example', { externalId: 'A1' }), person('renamed@adopt.example', { externalId: 'A2', emails: [{ value: 'mail@adopt.example', type: 'work' }] })];
      const dry = await c.client.workflow.execute(adoptUsers, { taskQueue: c.taskQueue, workflowId: 'adopt-dry-run', args: [{ tenant: 'sandbox', users }] });
      assert.equal(dry.outcome, 'dry-run');
      await c.save('adoptUsers-dry-run', 'adopt-dry-run');
      const handle = await c.client.workflow.start(adoptUsers, { taskQueue: c.taskQueue, workflowId: 'adopt-approved', args: [{ tenant: 'sandbox', users, apply: true }] });
      const progress = await waitUntil(() => handle.query(adoptProgressQuery), (p) => p.phase === 'awaitingApproval', 'adoptUsers awaiting approval');
      await handle.executeUpdate(approveLinksUpdate, { args: [{ planHash: progress.awaitingApproval?.planHash ?? '' }] });
      const result = await handle.result();
      assert.deepEqual([result.outcome, result.linked, result.plan.counts.weak], ['succeeded', 2, 1], `adoptUsers-approved: ${JSON.stringify(result.failures)}`);
      await c.save('adoptUsers-approved', 'adopt-approved');
    },
  },
  {
    name: 'syncAssignments unsupported (no skills API)',
    async record(c) {
      const file = path.join(c.workDir, 'assignments.csv');
      fs.writeFileSync(file, 'userName,skills,team\nagent.0@example.com,Sales:5,Sales\n');
      const workflowId = 'sync-assignments-unsupported';
      const result = await c.client.workflow.execute(syncAssignments, { taskQueue: c.taskQueue, workflowId, args: [{ tenant: 'sandbox', source: { path: file } }] });
      assert.equal(result.outcome, 'unsupported', `syncAssignments-unsupported: ${result.note ?? ''}`);
      await c.save('syncAssignments-unsupported', workflowId);
    },
  },
];

/** Takes the signed scim.config.updated notification configureServiceProvider sends after a change. */
async function startNotifyReceiver() {
  const server = await startScriptedServer((_req, _body, res) => {
    res.writeHead(204);
    res.end();
  });
  return { url: `${server.url}/hooks/config`, close: server.close };
}
