// A fleet of workers on "several hosts": each worker is a process of its own, in its own empty
// working directory with its own CXONE_SCIM_DATA_DIR, and shares nothing with the others but
// Temporal and the object store (versitygw on loopback). The sources live in s3://, what a run
// leaves for its later activities in the claim store (CXONE_SCIM_CLAIM_STORE). Real Temporal dev
// server, real CXone sandbox; every process this file starts is stopped by its PID.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { SandboxClient, startSandbox, type Sandbox } from 'cxone-sandbox';
import type { TemporalEnvironment } from '../src/temporal/server';
import {
  approveDeletionsUpdate,
  provisionUsers,
  syncGroups,
  syncGroupsProgressQuery,
  syncProgressQuery,
  syncUsers,
} from '../src/workflows';
import { startObjectStore, type ObjectStore } from './helpers/object-store';
import { startTestTemporal } from './helpers/temporal';

const ROOT = path.join(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const MAPPING = JSON.parse(
  fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'provision', 'mapping.json'), 'utf8'),
) as unknown;
const CSV_HEADER = 'employee_id,email,first_name,last_name,department,enabled,phone';
const USERS = 20_000;

function csv(prefix: string, from: number, to: number): string {
  const rows: string[] = [CSV_HEADER];
  for (let i = from; i < to; i++) {
    const id = String(i).padStart(5, '0');
    rows.push(`${prefix}${id},${prefix}.${id}@fleet.example,Given${id},Family${id},Dept${i % 7},true,+1 555 ${id}`);
  }
  return `${rows.join('\n')}\n`;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface FleetWorker {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Its working directory and its data dir: empty temporary folders nobody else uses. */
  dirs: string[];
  stderr: string[];
}

type HistoryEvent = NonNullable<
  Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>['events']
>[number];

/** Every run of a workflow, newest first (continue-as-new chains walked back to the first run). */
async function historiesOf(client: Client, workflowId: string): Promise<HistoryEvent[][]> {
  const runs: HistoryEvent[][] = [];
  let runId: string | undefined;
  for (;;) {
    const events = (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
    runs.push(events);
    const previous = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
    if (!previous) return runs;
    runId = previous;
  }
}

/** Completed activities of a history: activity type and the identity of the worker that completed it. */
function completedActivities(events: HistoryEvent[]): Array<{ type: string; identity: string }> {
  const scheduled = new Map<string, string>();
  const completed: Array<{ type: string; identity: string }> = [];
  for (const event of events) {
    const s = event.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(event.eventId), s.activityType?.name ?? '');
    const c = event.activityTaskCompletedEventAttributes;
    if (c) completed.push({ type: scheduled.get(String(c.scheduledEventId)) ?? '', identity: c.identity ?? '' });
  }
  return completed;
}

/** The activities the batch child workflows of a provisionUsers run completed (its chunks), per worker identity. */
async function chunkActivitiesByWorker(client: Client, workflowId: string): Promise<Map<string, number>> {
  const children = new Set<string>();
  for (const run of await historiesOf(client, workflowId)) {
    for (const event of run) {
      const started = event.childWorkflowExecutionStartedEventAttributes;
      if (started?.workflowExecution?.workflowId) children.add(started.workflowExecution.workflowId);
    }
  }
  const byWorker = new Map<string, number>();
  for (const child of children) {
    for (const run of await historiesOf(client, child)) {
      for (const { identity } of completedActivities(run)) byWorker.set(identity, (byWorker.get(identity) ?? 0) + 1);
    }
  }
  return byWorker;
}

/** The plan slices a sync run's apply activities were given (their claim references), in schedule order. */
function sliceRefs(events: HistoryEvent[], activityType: string): Array<{ location: string; sha256: string }> {
  return events.flatMap((event) => {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name !== activityType) return [];
    const input = JSON.parse(Buffer.from(scheduled.input?.payloads?.[0]?.data ?? []).toString('utf8')) as {
      slice: { location: string; sha256: string };
    };
    return [input.slice];
  });
}

/** Waits until a sync run waits for the approval of its removals; returns the plan hash it shows. */
async function awaitingApproval(
  read: () => Promise<{ phase: string; awaitingApproval?: { planHash: string } }>,
): Promise<string> {
  for (let i = 0; i < 600; i++) {
    const progress = await read();
    if (progress.phase === 'awaitingApproval' && progress.awaitingApproval) return progress.awaitingApproval.planHash;
    await pause(100);
  }
  assert.fail('the run never waited for an approval');
}

const CLAIM_LOCATION = /^s3:\/\/scim-claims\/handoff\/plans\/[0-9a-f]{64}\.json$/;

/** The worker's identity in history: the SDK's default, `<pid>@<host>`. */
const isWorker = (identity: string, worker: FleetWorker) => identity.startsWith(`${worker.pid}@`);

describe('a fleet of worker processes sharing only Temporal and the object store', () => {
  let store: ObjectStore;
  let temporal: TemporalEnvironment;
  let sandbox: Sandbox;
  const started: FleetWorker[] = [];

  before(async () => {
    store = await startObjectStore();
    await store.createBucket('hr-exports');
    await store.createBucket('scim-claims');
    sandbox = await startSandbox({ port: 0 });
    temporal = await startTestTemporal();
  });

  after(async () => {
    for (const worker of started) {
      if (worker.child.exitCode === null && worker.child.signalCode === null) {
        const exited = new Promise((resolve) => worker.child.once('exit', resolve));
        process.kill(worker.pid, 'SIGKILL');
        await exited;
      }
      for (const dir of worker.dirs) fs.rmSync(dir, { recursive: true, force: true });
    }
    await temporal?.stop();
    await sandbox?.close();
    await store?.stop();
  });

  /** `cxone-scim worker` in an empty directory of its own, with only the environment a pod would get. */
  function startWorker(
    name: string,
    taskQueue: string,
    target: Sandbox,
    claimStore: string | undefined,
    files: Record<string, string> = {},
  ): FleetWorker {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), `fleet-${name}-cwd-`));
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `fleet-${name}-data-`));
    for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(cwd, file), text);
    const child = spawn(process.execPath, [MAIN, 'worker'], {
      cwd,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: cwd,
        TEMPORAL_ADDRESS: temporal.address,
        TEMPORAL_NAMESPACE: temporal.namespace,
        TEMPORAL_TASK_QUEUE: taskQueue,
        CXONE_BASE_URL: target.url,
        CXONE_CLIENT_ID: target.clientId,
        CXONE_CLIENT_SECRET: target.clientSecret,
        CXONE_SCOPES: 'scim:write',
        CXONE_TENANT_ID: 'fleet',
        CXONE_SCIM_DATA_DIR: dataDir,
        ...(claimStore ? { CXONE_SCIM_CLAIM_STORE: claimStore } : {}),
        ...store.env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    assert.ok(child.pid, `worker ${name} did not start`);
    const worker: FleetWorker = { name, child, pid: child.pid, dirs: [cwd, dataDir], stderr: [] };
    child.stderr?.on('data', (chunk: Buffer) => worker.stderr.push(chunk.toString()) > 50 && worker.stderr.shift());
    started.push(worker);
    return worker;
  }

  /** Waits until each worker polls the task queue for activities (it has connected and bundled its workflows). */
  async function polling(taskQueue: string, workers: FleetWorker[]): Promise<void> {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const { pollers } = await temporal.testEnv.client.workflowService.describeTaskQueue({
        namespace: temporal.namespace,
        taskQueue: { name: taskQueue },
        taskQueueType: 2, // TASK_QUEUE_TYPE_ACTIVITY
      });
      const identities = (pollers ?? []).map((p) => p.identity ?? '');
      if (workers.every((w) => identities.some((id) => isWorker(id, w)))) return;
      for (const w of workers) assert.equal(w.child.exitCode, null, `worker ${w.name} exited: ${w.stderr.join('')}`);
      assert.ok(Date.now() < deadline, `workers not polling after 90 s: ${workers.map((w) => w.name).join(', ')}`);
      await pause(250);
    }
  }

  async function stop(worker: FleetWorker, signal: NodeJS.Signals): Promise<void> {
    if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
    const exited = new Promise((resolve) => worker.child.once('exit', resolve));
    process.kill(worker.pid, signal);
    await exited;
  }

  it(`provisions ${USERS} users from s3:// on three workers, one SIGKILLed mid-run and replaced: exact count, no duplicates, every worker did chunks`, {
    timeout: 240_000,
  }, async (t) => {
    const client = temporal.testEnv.client;
    await store.put('hr-exports', 'exports/fleet.csv', csv('flt', 0, USERS));
    const taskQueue = `fleet-${Date.now()}`;
    const workers = ['w1', 'w2', 'w3'].map((name) => startWorker(name, taskQueue, sandbox, 's3://scim-claims/fleet'));
    await polling(taskQueue, workers);

    const handle = await client.workflow.start(provisionUsers, {
      taskQueue,
      workflowId: `fleet-provision-${Date.now()}`,
      args: [
        {
          tenant: 'fleet',
          source: { path: 's3://hr-exports/exports/fleet.csv', mapping: MAPPING },
          maxOperationsPerRequest: 100,
          chunksPerBatch: 4,
          maxChunksInFlight: 6,
        },
      ],
    });
    // The victim is killed once every worker has completed a chunk, so its share is in history.
    const victim = workers[2];
    const deadline = Date.now() + 120_000;
    for (;;) {
      const done = await chunkActivitiesByWorker(client, handle.workflowId);
      if (workers.every((w) => [...done.keys()].some((id) => isWorker(id, w)))) break;
      assert.ok(Date.now() < deadline, `not every worker completed a chunk within 120 s: ${JSON.stringify([...done])}`);
      await pause(300);
    }
    // A slow provider while the replacement starts, so that work is left for it however busy the machine.
    sandbox.setSwitches({ latencyMs: 3000 });
    await stop(victim, 'SIGKILL');
    const atKill = sandbox.listUsers().length;
    assert.ok(atKill < USERS, `all ${USERS} users existed before the kill: nothing was left mid-run`);
    const replacement = startWorker('w4', taskQueue, sandbox, 's3://scim-claims/fleet');
    await polling(taskQueue, [replacement]);
    sandbox.setSwitches({ latencyMs: 0 });

    const result = await handle.result();
    const users = sandbox.listUsers().filter((u) => String(u.userName).endsWith('@fleet.example'));
    assert.equal(users.length, USERS, 'exactly the source users exist');
    assert.equal(new Set(users.map((u) => String(u.userName).toLowerCase())).size, USERS, 'no duplicates');
    assert.deepEqual([result.mode, result.totals.succeeded, result.totals.failed], ['bulk', USERS, 0]);

    const byWorker = await chunkActivitiesByWorker(client, handle.workflowId);
    const fleet = [...workers, replacement];
    const counts = fleet.map((w) => [...byWorker].filter(([id]) => isWorker(id, w)).reduce((n, [, c]) => n + c, 0));
    const unknown = [...byWorker.keys()].filter((id) => !fleet.some((w) => isWorker(id, w)));
    assert.deepEqual(unknown, [], 'only the fleet ran chunks');
    fleet.forEach((w, i) =>
      assert.ok(counts[i] > 0, `worker ${w.name}${w === victim ? ' (killed)' : ''} completed no chunk activity`),
    );
    t.diagnostic(
      `${USERS} users in ${result.chunks.planned} chunks (${result.chunks.requests} Bulk requests); killed ${victim.name} with ${atKill} created; ` +
        `chunk activities completed per worker: ${fleet.map((w, i) => `${w.name}${w === victim ? ' (killed)' : ''} ${counts[i]}`).join(', ')}`,
    );
    for (const w of fleet) await stop(w, 'SIGTERM');
  });

  it("applies sync plans (users, then groups) on workers that cannot see the planner's data dir or source file", {
    timeout: 180_000,
  }, async () => {
    const client = temporal.testEnv.client;
    const provider = await startSandbox({ port: 0 });
    try {
      const keepers = csv('hand', 0, 5).trim().split('\n').slice(1);
      const joiners = csv('hand', 5, 35).trim().split('\n').slice(1);
      // Five users stay, six leave (above the threshold of 2: the run waits for an approval), thirty join.
      for (const line of keepers)
        provider.adminCreateUser({
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
          userName: line.split(',')[1],
          active: true,
        });
      for (let i = 0; i < 6; i++)
        provider.adminCreateUser({
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
          userName: `leaver${i}@fleet.example`,
          active: true,
        });
      const source = [CSV_HEADER, ...keepers, ...joiners].join('\n');
      const taskQueue = `fleet-sync-${Date.now()}`;
      const planner = startWorker('planner', taskQueue, provider, 's3://scim-claims/handoff', { 'hr.csv': source });
      await polling(taskQueue, [planner]);
      const handle = await client.workflow.start(syncUsers, {
        taskQueue,
        workflowId: `fleet-sync-${Date.now()}`,
        args: [
          {
            tenant: 'fleet',
            source: { path: 'hr.csv', mapping: MAPPING },
            orphans: 'leavers',
            sliceSize: 2,
            deletionThreshold: { maxCount: 2 },
          },
        ],
      });
      const planHash = await awaitingApproval(() => handle.query(syncProgressQuery));
      // The planner's host is gone, with its working directory (the source) and its data dir.
      await stop(planner, 'SIGTERM');
      for (const dir of planner.dirs) fs.rmSync(dir, { recursive: true, force: true });
      const applier = startWorker('applier', taskQueue, provider, 's3://scim-claims/handoff');
      await polling(taskQueue, [applier]);
      await handle.executeUpdate(approveDeletionsUpdate, { args: [{ planHash }] });
      const result = await handle.result();
      assert.deepEqual(
        [result.outcome, result.applied.create, result.applied.deactivate, result.failed],
        ['succeeded', 30, 6, 0],
      );
      for (let i = 0; i < 6; i++)
        assert.equal(provider.listUsers().find((u) => u.userName === `leaver${i}@fleet.example`)?.active, false);

      const [history] = await historiesOf(client, handle.workflowId);
      const slices = sliceRefs(history, 'applySyncSlice');
      // The keepers' names and e-mails differ from the source's mapping: they are updated too.
      const writeSlices = Math.ceil((result.applied.create + result.applied.update) / 2);
      assert.equal(slices.length, writeSlices + 3, 'one apply activity per stored slice of 2 changes');
      for (const ref of slices) assert.match(ref.location, CLAIM_LOCATION);
      const applied = completedActivities(history).filter((a) => a.type === 'applySyncSlice');
      assert.equal(
        applied.filter((a) => isWorker(a.identity, planner)).length,
        writeSlices,
        'the planner applied the writes before the approval',
      );
      assert.equal(
        applied.filter((a) => isWorker(a.identity, applier)).length,
        3,
        'the other worker applied the removals',
      );

      // syncGroups the same way: planned by the worker that applied the users' removals, whose
      // host then goes; the removals of its plan are applied by yet another worker.
      const id = (userName: string) => String(provider.listUsers().find((u) => u.userName === userName)?.id);
      const created = await new SandboxClient(provider).scim('POST', '/Groups', {
        body: {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
          displayName: 'Fleet old',
          members: [{ value: id('hand.00000@fleet.example') }],
        },
      });
      assert.equal(created.status, 201, created.text);
      const groupsHandle: WorkflowHandle<typeof syncGroups> = await client.workflow.start(syncGroups, {
        taskQueue,
        workflowId: `fleet-groups-${Date.now()}`,
        args: [
          {
            tenant: 'fleet',
            groups: [{ displayName: 'Fleet new', members: ['hand.00001@fleet.example', 'hand.00002@fleet.example'] }],
            scope: { displayNamePrefix: 'Fleet ' },
            groupsPerActivity: 1,
          },
        ],
      });
      const groupsPlanHash = await awaitingApproval(() => groupsHandle.query(syncGroupsProgressQuery));
      await stop(applier, 'SIGTERM');
      for (const dir of applier.dirs) fs.rmSync(dir, { recursive: true, force: true });
      const groupApplier = startWorker('group-applier', taskQueue, provider, 's3://scim-claims/handoff');
      await polling(taskQueue, [groupApplier]);
      await groupsHandle.executeUpdate(approveDeletionsUpdate, { args: [{ planHash: groupsPlanHash }] });
      const groups = await groupsHandle.result();
      assert.deepEqual(
        [
          groups.outcome,
          groups.applied.created,
          groups.applied.membersAdded,
          groups.applied.membersRemoved,
          groups.failed,
        ],
        ['succeeded', 1, 2, 1, 0],
      );
      const old = await new SandboxClient(provider).scim(
        'GET',
        `/Groups/${String((created.body as { id?: unknown }).id)}`,
      );
      assert.deepEqual(
        (old.body as { members?: unknown[] }).members ?? [],
        [],
        'the group gone from the source was emptied',
      );
      const [groupsHistory] = await historiesOf(client, groupsHandle.workflowId);
      const groupSlices = sliceRefs(groupsHistory, 'applyGroupChanges');
      assert.equal(groupSlices.length, 2, 'one stored slice per phase (a group each)');
      for (const ref of groupSlices) assert.match(ref.location, CLAIM_LOCATION);
      const groupApplies = completedActivities(groupsHistory).filter((a) => a.type === 'applyGroupChanges');
      assert.deepEqual(
        groupApplies.map((a) =>
          isWorker(a.identity, applier) ? 'planner' : isWorker(a.identity, groupApplier) ? 'other' : a.identity,
        ),
        ['planner', 'other'],
      );
      await stop(groupApplier, 'SIGTERM');
    } finally {
      await provider.close();
    }
  });
});
