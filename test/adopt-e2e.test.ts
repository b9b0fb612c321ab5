import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import { readAdoption } from '../src/activities/adoption';
import { sandboxTenant } from '../src/cli/dev';
import { runCli } from '../src/cli/program';
import type { TemporalEnvironment } from '../src/temporal/server';
import {
  syncUsers,
  adoptProgressQuery,
  adoptUsers,
  approveLinksUpdate,
  rejectLinksUpdate,
  type AdoptUsersInput,
} from '../src/workflows';
import { Capture, cliContext } from './helpers/cli';
import { startTestTemporal, startTestWorker, type TestWorker } from './helpers/temporal';
import { scimUser as user, type Attrs } from './helpers/users';

// adoptUsers end to end: a real Temporal dev server and worker against the CXone sandbox, seeded
// with accounts made "by hand": one that matches the source exactly, one already linked, one that
// matches only by email, two that match one record ambiguously, and an orphan.

const SECRET = 'adopt-test-secret';

/** The provider's hand-made accounts (no externalId, except the one linked before). */
const PROVIDER: Attrs[] = [
  user('alice@corp.example'),
  user('robert@corp.example', { externalId: 'E2' }),
  user('carol@corp.example'),
  user('d.one@corp.example', { emails: [{ value: 'dave@corp.example', type: 'work' }] }),
  user('d.two@corp.example', { emails: [{ value: 'dave@corp.example', type: 'work' }] }),
  user('admin@corp.example'),
];

/** The HR source: alice (exact by userName), bob (exact by externalId), carol (email only), dave (ambiguous), erin (new). */
const SOURCE: Attrs[] = [
  user('alice@corp.example', { externalId: 'E1' }),
  user('bob@corp.example', { externalId: 'E2' }),
  user('carol.new@corp.example', { externalId: 'E3', emails: [{ value: 'Carol@corp.example', type: 'work' }] }),
  user('dave.new@corp.example', { externalId: 'E4', emails: [{ value: 'dave@corp.example', type: 'work' }] }),
  user('erin@corp.example', { externalId: 'E5' }),
];

const EXPECTED_COUNTS = {
  exact: 2,
  weak: 1,
  ambiguousRecords: 1,
  ambiguousProviderUsers: 2,
  providerOnly: 1,
  sourceOnly: 1,
  alreadyLinked: 1,
  toLink: 2,
};

describe('adoptUsers', () => {
  let temporal: TemporalEnvironment;
  let sandbox: Sandbox;
  let worker: TestWorker;
  let dir: string;
  let sourceFile: string;
  let ids: Map<string, string>;
  let seq = 0;
  const previousDataDir = process.env.CXONE_SCIM_DATA_DIR;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adopt-e2e-'));
    // Claims and the adoption record go here (the worker runs in this process).
    process.env.CXONE_SCIM_DATA_DIR = path.join(dir, 'data');
    sourceFile = path.join(dir, 'hr.json');
    fs.writeFileSync(sourceFile, JSON.stringify(SOURCE));
    temporal = await startTestTemporal();
    sandbox = await startSandbox({ port: 0, clientSecret: SECRET });
    worker = await startTestWorker(temporal, [sandboxTenant(sandbox, 'adopt')]);
  });

  after(async () => {
    await worker?.stop();
    await sandbox?.close();
    await temporal?.stop();
    if (previousDataDir === undefined) delete process.env.CXONE_SCIM_DATA_DIR;
    else process.env.CXONE_SCIM_DATA_DIR = previousDataDir;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh provider holding just the hand-made accounts, and no adoption record. */
  beforeEach(async () => {
    // Started again on the same port, so that the worker's tenant still points at it.
    const port = Number(new URL(sandbox.url).port);
    await sandbox.close();
    sandbox = await startSandbox({ port, clientSecret: SECRET });
    ids = new Map(PROVIDER.map((u) => [String(u.userName), String(sandbox.adminCreateUser(u).id)]));
    fs.rmSync(path.join(dir, 'data', 'adoptions'), { recursive: true, force: true });
    sandbox.clearRequestLog();
  });

  const start = (input: Omit<AdoptUsersInput, 'tenant' | 'source'>): Promise<WorkflowHandle<typeof adoptUsers>> =>
    temporal.testEnv.client.workflow.start(adoptUsers, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `adopt-${++seq}`,
      args: [{ tenant: 'adopt', source: { path: sourceFile }, weakKeys: ['email'], ...input }],
    });
  const writes = () => sandbox.requestLog.filter((r) => r.method !== 'GET' && r.path.includes('/Users'));
  const externalIdOf = (userName: string) => sandbox.getUser(ids.get(userName) as string)?.externalId;
  async function awaitingApproval(handle: WorkflowHandle<typeof adoptUsers>) {
    for (let i = 0; i < 200; i++) {
      const p = await handle.query(adoptProgressQuery).catch(() => undefined);
      if (p?.phase === 'awaitingApproval' && p.planHash) return p;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('the run never waited for approval');
  }

  it('counts every class on a dry run, writes the report, and writes nothing to the provider', async () => {
    const reportOut = path.join(dir, 'report.csv');
    const result = await (await start({ reportOut: { path: reportOut } })).result();
    assert.equal(result.outcome, 'dry-run');
    assert.deepEqual(result.plan.counts, EXPECTED_COUNTS);
    assert.equal(result.plan.records, 5);
    assert.equal(result.plan.providerUsers, 6);
    assert.match(result.plan.planHash, /^[0-9a-f]{64}$/);
    assert.deepEqual(writes(), []);
    assert.equal(externalIdOf('alice@corp.example'), undefined);
    assert.equal(await readAdoption('adopt'), undefined);
    const lines = fs.readFileSync(reportOut, 'utf8').trim().split('\n');
    assert.equal(lines[0].split(',')[0], 'class');
    const classes = lines.slice(1).map((l) => l.split(',')[0]);
    assert.deepEqual(
      classes.sort(),
      ['ambiguous', 'ambiguous', 'ambiguous', 'exact', 'exact', 'provider-only', 'source-only', 'weak'].sort(),
    );
    assert.ok(lines.some((l) => l.startsWith('weak,3,carol.new@corp.example,') && l.includes(',email,E3,,link,')));
    assert.ok(lines.some((l) => l.startsWith(`provider-only,,,${ids.get('admin@corp.example')},admin@corp.example`)));

    // The same inputs plan the same hash.
    const again = await (await start({})).result();
    assert.equal(again.plan.planHash, result.plan.planHash);
  });

  it('writes links only after approveLinks names the plan, through provider faults, then records the adoption', async () => {
    const handle = await start({ apply: true });
    const waiting = await awaitingApproval(handle);
    assert.deepEqual(waiting.counts, EXPECTED_COUNTS);
    assert.equal(waiting.awaitingApproval?.links, 2);
    await assert.rejects(
      handle.executeUpdate(approveLinksUpdate, { args: [{ planHash: 'f'.repeat(64) }] }),
      (err: unknown) =>
        err instanceof WorkflowUpdateFailedError && /is not the adoption plan shown/.test(String(err.cause)),
    );
    assert.deepEqual(writes(), [], 'nothing written while waiting, nor after a refused approval');
    // The next two requests fail with 503: the links are retried, not lost.
    sandbox.setSwitches({ failNext: 2, failStatus: 503 });
    const decision = await handle.executeUpdate(approveLinksUpdate, {
      args: [{ planHash: waiting.planHash as string, approvedBy: 'idm-team' }],
    });
    assert.equal(decision.decision, 'approved');
    const result = await handle.result();
    assert.equal(result.outcome, 'succeeded');
    assert.equal(result.linked, 2);
    assert.equal(result.failed, 0);
    assert.equal(externalIdOf('alice@corp.example'), 'E1');
    assert.equal(externalIdOf('carol@corp.example'), 'E3');
    assert.equal(externalIdOf('robert@corp.example'), 'E2');
    for (const untouched of ['d.one@corp.example', 'd.two@corp.example', 'admin@corp.example'])
      assert.equal(externalIdOf(untouched), undefined, untouched);
    const patched = writes().filter((r) => r.status < 300);
    assert.deepEqual(
      patched.map((r) => `${r.method} ${r.path.split('/').pop()}`).sort(),
      [`PATCH ${ids.get('alice@corp.example')}`, `PATCH ${ids.get('carol@corp.example')}`].sort(),
    );
    const record = await readAdoption('adopt');
    assert.equal(record?.planHash, waiting.planHash);
    assert.equal(record?.linkAttribute, 'externalId');

    // Adopted: a new report finds carol exactly now, and nothing left to link.
    const after = await (await start({})).result();
    assert.deepEqual(after.plan.counts, { ...EXPECTED_COUNTS, exact: 3, weak: 0, alreadyLinked: 3, toLink: 0 });
  });

  it('never writes to an account that changed since the plan, and then does not record the tenant as adopted', async () => {
    const handle = await start({ apply: true });
    const waiting = await awaitingApproval(handle);
    sandbox.adminUpdateUser(ids.get('carol@corp.example') as string, { userName: 'someone.else@corp.example' });
    await handle.executeUpdate(approveLinksUpdate, { args: [{ planHash: waiting.planHash as string }] });
    const result = await handle.result();
    assert.equal(result.outcome, 'partial');
    assert.equal(result.linked, 1);
    assert.equal(result.failed, 1);
    assert.match(result.failures[0].detail, /userName is now "someone.else@corp.example"/);
    assert.equal(externalIdOf('carol@corp.example'), undefined);
    assert.equal(externalIdOf('alice@corp.example'), 'E1');
    assert.equal(await readAdoption('adopt'), undefined);
  });

  it('writes nothing when the links are rejected', async () => {
    const handle = await start({ apply: true });
    await awaitingApproval(handle);
    await handle.executeUpdate(rejectLinksUpdate, { args: [{ rejectedBy: 'idm-team', reason: 'dave first' }] });
    const result = await handle.result();
    assert.equal(result.outcome, 'rejected');
    assert.equal(result.decision?.reason, 'dave first');
    assert.deepEqual(writes(), []);
    assert.equal(await readAdoption('adopt'), undefined);
  });

  it('a sync of a tenant never adopted keeps its orphans out of scope, with a warning; once adopted they are leavers', async () => {
    const sync = () =>
      temporal.testEnv.client.workflow.execute(syncUsers, {
        taskQueue: worker.settings.taskQueue,
        workflowId: `adopt-sync-${++seq}`,
        args: [{ tenant: 'adopt', source: { path: sourceFile }, matchKey: 'externalId', dryRun: true }],
      });
    const before = await sync();
    assert.equal(before.plan.counts.deactivate, 0);
    assert.equal(before.plan.orphansHeldBack, 5, 'alice and carol (not linked yet), the two daves and admin');
    assert.match(before.note ?? '', /^5 removals held back: this tenant was never adopted/);
    const handle = await start({ apply: true });
    const waiting = await awaitingApproval(handle);
    await handle.executeUpdate(approveLinksUpdate, { args: [{ planHash: waiting.planHash as string }] });
    assert.equal((await handle.result()).outcome, 'succeeded');
    const afterAdoption = await sync();
    // Linked by externalId: alice, bob, carol match; the two daves and admin are leavers now.
    assert.equal(afterAdoption.plan.counts.deactivate, 3);
    assert.equal(afterAdoption.plan.orphansHeldBack, undefined);
    assert.equal(afterAdoption.note, undefined);
  });

  it('cxone-scim adopt prints the report (dry run), and adopt approve refuses a wrong hash', async () => {
    const stdout = new Capture();
    const stderr = new Capture();
    const context = cliContext(temporal.testEnv.client, worker.settings.taskQueue, { stdout, stderr }, {});
    const code = await runCli(['adopt', sourceFile, '--tenant', 'adopt', '--weak-keys', 'email'], context);
    assert.equal(code, 0, stderr.text);
    assert.match(stdout.text, /= exact +2 +\(1 already linked\)/);
    assert.match(stdout.text, /≈ weak +1/);
    assert.match(stdout.text, /\? ambiguous +1 +records, 2 provider users/);
    assert.match(stdout.text, /- provider-only +1/);
    assert.match(stdout.text, /\+ source-only +1/);
    assert.match(stdout.text, /Outcome: dry-run/);
    assert.deepEqual(writes(), []);

    const bad = await runCli(
      ['adopt', sourceFile, '--tenant', 'adopt', '--weak-keys', 'phone'],
      cliContext(temporal.testEnv.client, worker.settings.taskQueue, { stdout: new Capture(), stderr }, {}),
    );
    assert.equal(bad, 1);
    assert.match(stderr.text, /"phone" is not a weak key/);

    const handle = await start({ apply: true });
    const waiting = await awaitingApproval(handle);
    const refused = await runCli(
      ['adopt', 'approve', handle.workflowId, '--plan-hash', 'abc'],
      cliContext(temporal.testEnv.client, worker.settings.taskQueue, { stdout: new Capture(), stderr }, {}),
    );
    assert.equal(refused, 1);
    assert.match(stderr.text, /refused: .*planHash abc is not the adoption plan shown/);
    const out = new Capture();
    const approved = await runCli(
      ['adopt', 'approve', handle.workflowId, '--plan-hash', waiting.planHash as string, '--by', 'me'],
      cliContext(temporal.testEnv.client, worker.settings.taskQueue, { stdout: out, stderr }, {}),
    );
    assert.equal(approved, 0, stderr.text);
    assert.match(out.text, new RegExp(`approved adoption plan ${waiting.planHash} by me`));
    assert.equal((await handle.result()).outcome, 'succeeded');
  });
});
