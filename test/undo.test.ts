import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import { sandboxTenant } from '../src/cli/dev';
import { runCli } from '../src/cli/program';
import { planUndo, type JournalEntry } from '../src/scim/undo';
import type { TemporalEnvironment } from '../src/temporal/server';
import { syncUsers, undoProgressQuery, undoRun, type SyncUsersInput, type UndoRunInput } from '../src/workflows';
import { Capture, cliContext } from './helpers/cli';
import { historyText, startTestTemporal, startTestWorker, type TestWorker } from './helpers/temporal';
import { scimUser as user } from './helpers/users';

// undoRun end to end: a syncUsers run journals its writes; undoRun reverses them from that journal
// against the CXone sandbox, skipping (and naming) a user changed again since.

const SECRET = 'undo-test-secret';
/** The SDK's built-in query of a run's summary and current details (what the Temporal UI shows). */
const METADATA_QUERY = '__temporal_workflow_metadata';

describe('planUndo', () => {
  const entry = (over: Partial<JournalEntry>): JournalEntry => ({
    id: 'u1',
    userName: 'ana@corp.example',
    operation: 'update',
    before: { displayName: 'Ana' },
    after: { displayName: 'Ana B' },
    appliedAt: '2026-01-01T00:00:00Z',
    ...over,
  });
  it('restores what is still as written, names what changed since or is gone, never undoes a delete', () => {
    const now: Record<string, Record<string, unknown>> = {
      u1: { id: 'u1', displayName: 'Ana B', active: true },
      u2: { id: 'u2', displayName: 'Someone else', active: true },
      u3: { id: 'u3', active: false },
      u5: { id: 'u5', active: true },
    };
    const plan = planUndo(
      [
        entry({}),
        entry({ id: 'u2', userName: 'bo@corp.example' }),
        entry({ id: 'u3', operation: 'deactivate', before: { active: true }, after: { active: false } }),
        entry({ id: 'u4', userName: 'gone@corp.example' }),
        entry({ id: 'u5', operation: 'delete', before: {}, after: {} }),
        entry({ id: 'u5', operation: 'create', before: {}, after: { active: true } }),
      ],
      (e) => (e.id ? now[e.id] : undefined),
      { includeCreated: true },
    );
    assert.deepEqual(plan.counts, { reactivate: 1, restore: 1, 'deactivate-created': 1, skipped: 3 });
    assert.deepEqual(plan.changes[0].changes, [{ op: 'replace', path: 'displayName', value: 'Ana' }]);
    assert.deepEqual(plan.changes[1].changes, [{ op: 'replace', path: 'active', value: true }]);
    assert.deepEqual(
      plan.skipped.map((s) => [s.userName, s.reason]),
      [
        ['bo@corp.example', 'changed again since: displayName is now "Someone else"'],
        ['gone@corp.example', 'no longer exists at the provider'],
        ['ana@corp.example', 'deleted by the run: a deleted resource cannot be undone'],
      ],
    );
    const withoutCreated = planUndo([entry({ operation: 'create', after: { active: true } })], () => now.u1, {
      includeCreated: false,
    });
    assert.equal(withoutCreated.counts.skipped, 1);
    assert.match(withoutCreated.skipped[0].reason, /created by the run/);
  });
});

describe('undoRun', () => {
  let temporal: TemporalEnvironment;
  let sandbox: Sandbox;
  let worker: TestWorker;
  let seq = 0;

  before(async () => {
    temporal = await startTestTemporal();
    sandbox = await startSandbox({ port: 0, clientSecret: SECRET });
    worker = await startTestWorker(temporal, [sandboxTenant(sandbox, 'undo')]);
  });
  after(async () => {
    await worker?.stop();
    await sandbox?.close();
    await temporal?.stop();
  });

  const start = <I, R>(workflow: (input: I) => Promise<R>, args: I, id: string) =>
    temporal.testEnv.client.workflow.start(workflow as (input: I) => Promise<R>, {
      taskQueue: worker.settings.taskQueue,
      workflowId: id,
      args: [args],
    });
  const sync = (input: Omit<SyncUsersInput, 'tenant'>) =>
    start(syncUsers, { tenant: 'undo', orphans: 'leavers', ...input }, `sync-${++seq}`);
  const undo = (input: Omit<UndoRunInput, 'tenant'>) => start(undoRun, { tenant: 'undo', ...input }, `undo-${++seq}`);
  const byName = (userName: string) => sandbox.listUsers().find((u) => u.userName === userName);

  it('reactivates the 50 users a sync deactivated and restores 19 of 20 display names; names the one changed since', async () => {
    const renamed = Array.from({ length: 20 }, (_, i) => `stay${i}@corp.example`);
    const leavers = Array.from({ length: 50 }, (_, i) => `leaver${i}@corp.example`);
    for (const [i, name] of renamed.entries()) sandbox.adminCreateUser(user(name, { displayName: `Old name ${i}` }));
    for (const name of leavers) sandbox.adminCreateUser(user(name, { displayName: 'Leaver' }));

    const syncHandle = await sync({
      users: renamed.map((name, i) => user(name, { displayName: `New name ${i}` })),
      deletionThreshold: { maxCount: 1000, maxShare: 1 },
      sliceSize: 16,
    });
    const synced = await syncHandle.result();
    const syncId = syncHandle.workflowId;
    assert.equal(synced.outcome, 'succeeded');
    assert.equal(synced.applied.deactivate, 50);
    assert.equal(synced.applied.update, 20);
    // The latest journals, each naming those before it: at most one per slice in flight.
    assert.ok(
      (synced.journals?.length ?? 0) >= 1 && (synced.journals?.length ?? 0) <= 4,
      JSON.stringify(synced.journals),
    );
    assert.doesNotMatch(await historyText(syncHandle), /Old name/, 'previous values stay out of history');

    // Someone changes one of the renamed users again after the sync.
    const changedAgain = byName('stay7@corp.example');
    sandbox.adminUpdateUser(String(changedAgain?.id), { displayName: 'Changed by the help desk' });

    const dry = await (await undo({ workflowId: syncId })).result();
    assert.equal(dry.outcome, 'dry-run');
    assert.deepEqual(dry.counts, { reactivate: 50, restore: 19, 'deactivate-created': 0, skipped: 1 });
    assert.match(dry.planHash, /^[0-9a-f]{64}$/);
    assert.deepEqual(
      dry.skipped.map((s) => [s.userName, s.reason]),
      [['stay7@corp.example', 'changed again since: displayName is now "Changed by the help desk"']],
    );
    assert.equal(byName('leaver0@corp.example')?.active, false, 'a dry run writes nothing');

    // The same dry run through the CLI: counts, hash and the skipped user, exit 0.
    const stdout = new Capture();
    const code = await runCli(
      ['undo', syncId, '--tenant', 'undo'],
      cliContext(temporal.testEnv.client, worker.settings.taskQueue, { stdout, stderr: new Capture() }),
    );
    assert.equal(code, 0);
    assert.match(stdout.text, /outcome: dry-run/);
    assert.ok(
      stdout.text.includes(`plan ${dry.planHash}: 50 reactivate, 19 restore, 0 deactivate created, 1 skipped`),
      stdout.text,
    );
    assert.ok(
      stdout.text.includes(
        'skipped: stay7@corp.example (update): changed again since: displayName is now "Changed by the help desk"',
      ),
      stdout.text,
    );

    // 69 compensating writes exceed a threshold of 10: the undo waits for the approval of its hash.
    const handle = await undo({ workflowId: syncId, apply: true, deletionThreshold: { maxCount: 10 } });
    let progress = await handle.query(undoProgressQuery);
    for (let i = 0; i < 300 && progress.phase !== 'awaitingApproval'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      progress = await handle.query(undoProgressQuery);
    }
    assert.equal(progress.phase, 'awaitingApproval');
    assert.equal(progress.awaitingApproval?.planHash, dry.planHash, 'the same journal and provider give the same plan');
    // The UI names the undo's own approval command, which approves it.
    const { currentDetails } = await handle.query<{ currentDetails: string }>(METADATA_QUERY);
    assert.ok(
      currentDetails.includes(`cxone-scim undo approve ${handle.workflowId} --plan-hash ${dry.planHash}`),
      currentDetails,
    );
    const approved = new Capture();
    assert.equal(
      await runCli(
        ['undo', 'approve', handle.workflowId, '--plan-hash', dry.planHash, '--by', 'jane.admin'],
        cliContext(temporal.testEnv.client, worker.settings.taskQueue, { stdout: approved, stderr: new Capture() }),
      ),
      0,
    );
    assert.match(approved.text, /^approved undo plan [0-9a-f]{64} by jane\.admin/);
    const applied = await handle.result();
    assert.equal(applied.outcome, 'succeeded');
    assert.deepEqual(applied.applied, { reactivate: 50, restore: 19, 'deactivate-created': 0 });
    assert.equal(applied.failed, 0);
    for (const name of leavers) assert.equal(byName(name)?.active, true, `${name} reactivated`);
    for (const [i, name] of renamed.entries())
      assert.equal(
        byName(name)?.displayName,
        i === 7 ? 'Changed by the help desk' : `Old name ${i}`,
        `${name}: restored unless changed since`,
      );
    assert.doesNotMatch(await historyText(handle), /Old name/, 'restored values stay out of the undo history');

    // Undone again: everything already holds its previous value, or was changed since.
    const again = await (await undo({ workflowId: syncId })).result();
    assert.equal((again.counts.reactivate ?? 0) + (again.counts.restore ?? 0), 0);
    assert.equal(again.counts.skipped, 70);
  });

  it('refuses a run that is not a finished syncUsers run, naming it', async () => {
    const handle = await undo({ workflowId: 'no-such-run' });
    await assert.rejects(handle.result(), (err: unknown) => {
      // The planning activity refuses it: the run fails with that activity's failure as its cause.
      assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ActivityFailure, String(err));
      const cause = err.cause.cause;
      assert.ok(cause instanceof ApplicationFailure);
      assert.equal(cause.type, 'InvalidSyncInput');
      assert.match(cause.message, /no run no-such-run is known to Temporal/);
      return true;
    });
  });
});
