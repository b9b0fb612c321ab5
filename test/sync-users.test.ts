import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import { sandboxTenant } from '../src/cli/dev';
import type { TenantConfig } from '../src/config/tenants';
import type { TemporalEnvironment } from '../src/temporal/server';
import {
  approveDeletionsUpdate,
  rejectDeletionsUpdate,
  syncProgressQuery,
  syncUsers,
  type SyncUsersInput,
  type SyncUsersResult,
  undoRun,
} from '../src/workflows';
import { startScriptedServer, throughProxy } from './helpers/http';
import { historyText, startTestTemporal, startTestWorker, type TestWorker } from './helpers/temporal';
import { CORE_USER as CORE, scimUser as user, type Attrs } from './helpers/users';
import { failedWith } from './helpers/workflow-failures';

// syncUsers end to end: a real Temporal dev server and worker against the CXone sandbox, seeded
// with provider users, sometimes behind a loopback proxy that injects failures.

const SECRET = 'sync-test-secret';

interface Proxy {
  url: string;
  close(): Promise<void>;
  /** Decides a request's fate: undefined forwards it, a status answers it without forwarding. */
  intercept?: (method: string, path: string, body: string) => number | undefined;
}

const HOP_HEADERS = new Set(['host', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);

/** A loopback proxy in front of the sandbox (token requests included). */
async function startProxy(upstream: () => string): Promise<Proxy> {
  const proxy: Proxy = { url: '', close: async () => undefined };
  const server = await startScriptedServer(
    async (req: http.IncomingMessage, body: string, res: http.ServerResponse) => {
      const status = proxy.intercept?.(req.method ?? 'GET', (req.url ?? '').split('?')[0], body);
      if (status !== undefined) {
        res.writeHead(status, { 'content-type': 'application/scim+json' });
        res.end(
          JSON.stringify({
            schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
            status: String(status),
            detail: `injected ${status}`,
          }),
        );
        return;
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers))
        if (typeof value === 'string' && !HOP_HEADERS.has(name)) headers[name] = value;
      try {
        const answer = await fetch(`${upstream()}${req.url}`, {
          method: req.method,
          headers,
          body: body === '' ? undefined : body,
        });
        const text = await answer.text();
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
        res.end(text);
      } catch (err) {
        res.writeHead(502);
        res.end(String(err));
      }
    },
  );
  proxy.url = server.url;
  proxy.close = server.close;
  return proxy;
}

describe('syncUsers', () => {
  let temporal: TemporalEnvironment;
  let sandbox: Sandbox;
  let proxy: Proxy;
  let worker: TestWorker;
  let tenant: TenantConfig;
  let seq = 0;

  before(async () => {
    temporal = await startTestTemporal();
    sandbox = await startSandbox({ port: 0, clientSecret: SECRET });
    proxy = await startProxy(() => sandbox.url);
    tenant = throughProxy(sandboxTenant(sandbox), 'sync', proxy.url);
    worker = await startTestWorker(temporal, [tenant]);
  });

  after(async () => {
    await worker?.stop();
    await proxy?.close();
    await sandbox?.close();
    await temporal?.stop();
  });

  const start = (input: Omit<SyncUsersInput, 'tenant'>): Promise<WorkflowHandle<typeof syncUsers>> =>
    temporal.testEnv.client.workflow.start(syncUsers, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `sync-${++seq}`,
      args: [{ tenant: 'sync', orphans: 'leavers', ...input }],
    });
  const runSync = async (input: Omit<SyncUsersInput, 'tenant'>): Promise<SyncUsersResult> =>
    (await start(input)).result();

  /** A fresh provider holding just these users (the worker's cached token is refused once and renewed). */
  async function seed(users: Attrs[]): Promise<Map<string, string>> {
    await sandbox.close();
    sandbox = await startSandbox({ port: 0, clientSecret: SECRET });
    const ids = new Map<string, string>();
    for (const u of users) ids.set(String(u.userName), String(sandbox.adminCreateUser(u).id));
    return ids;
  }
  const byName = (userName: string) =>
    sandbox.listUsers().find((u) => String(u.userName).toLowerCase() === userName.toLowerCase());

  it('plans every action, writes nothing on a dry run, then applies the plan', async () => {
    const ids = await seed([
      user('alice@corp.example'),
      user('bob@corp.example', { title: 'Agent' }),
      user('carol@corp.example', { active: false }),
      user('dave@corp.example'),
      user('admin@corp.example'),
      user('outsider@partner.example'),
    ]);
    const input: Omit<SyncUsersInput, 'tenant'> = {
      users: [
        user('ALICE@corp.example', { emails: [{ value: 'alice@corp.example', type: 'work', primary: true }] }),
        user('bob@corp.example', { title: 'Supervisor' }),
        user('carol@corp.example'),
        user('erin@corp.example'),
      ],
      scope: { userNameSuffixes: ['@corp.example'] },
      protectedAccounts: ['Admin@corp.example'],
      // 1 of 4 managed users leaves: above the default 20 %, so the threshold is raised here.
      deletionThreshold: { maxShare: 0.5 },
    };
    const dry = await runSync({ ...input, dryRun: true });
    assert.equal(dry.outcome, 'dry-run');
    assert.deepEqual(
      {
        create: dry.plan.counts.create,
        update: dry.plan.counts.update,
        reactivate: dry.plan.counts.reactivate,
        deactivate: dry.plan.counts.deactivate,
        unchanged: dry.plan.counts.unchanged,
        protected: dry.plan.counts.protected,
        outOfScope: dry.plan.counts['out-of-scope'],
      },
      { create: 1, update: 1, reactivate: 1, deactivate: 1, unchanged: 1, protected: 1, outOfScope: 1 },
    );
    assert.match(dry.plan.planHash, /^[0-9a-f]{64}$/);
    assert.equal(byName('erin@corp.example'), undefined, 'a dry run creates nobody');
    assert.equal(byName('dave@corp.example')?.active, true, 'a dry run deactivates nobody');

    const applied = await runSync(input);
    assert.equal(applied.outcome, 'succeeded');
    assert.equal(applied.plan.planHash, dry.plan.planHash, 'the same source and provider give the same plan');
    assert.equal(byName('erin@corp.example')?.active, true);
    assert.equal(byName('bob@corp.example')?.title, 'Supervisor');
    assert.equal(byName('carol@corp.example')?.active, true);
    assert.equal(byName('dave@corp.example')?.active, false);
    assert.equal(byName('admin@corp.example')?.active, true, 'protected accounts are never touched');
    assert.equal(byName('outsider@partner.example')?.active, true, 'users outside the scope are never touched');
    assert.equal(
      sandbox.getUser(ids.get('alice@corp.example') as string)?.userName,
      'alice@corp.example',
      'a case-only difference in userName is the same user',
    );

    const again = await runSync(input);
    assert.deepEqual(
      Object.entries(again.plan.counts).filter(
        ([action, n]) => n > 0 && action !== 'unchanged' && action !== 'protected' && action !== 'out-of-scope',
      ),
      [],
      'a second run finds nothing to do',
    );
  });

  it('waits for approval above the deletion threshold; a wrong hash is refused; the right one resumes', async () => {
    await seed([
      user('keep@corp.example'),
      user('leaver1@corp.example'),
      user('leaver2@corp.example'),
      user('leaver3@corp.example'),
    ]);
    const handle = await start({
      users: [user('keep@corp.example'), user('joiner@corp.example')],
      deletionThreshold: { maxCount: 2 },
    });
    let progress = await handle.query(syncProgressQuery);
    for (let i = 0; i < 200 && progress.phase !== 'awaitingApproval'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      progress = await handle.query(syncProgressQuery);
    }
    assert.equal(progress.phase, 'awaitingApproval');
    assert.equal(progress.awaitingApproval?.removals, 3);
    assert.ok(byName('joiner@corp.example'), 'creates and updates go ahead before the approval');
    assert.equal(byName('leaver1@corp.example')?.active, true);

    await assert.rejects(
      handle.executeUpdate(approveDeletionsUpdate, { args: [{ planHash: '0'.repeat(64) }] }),
      (err: unknown) => {
        assert.ok(err instanceof WorkflowUpdateFailedError);
        assert.match(String(((err as Error).cause as Error | undefined)?.message), /is not the plan shown/);
        return true;
      },
    );
    assert.doesNotMatch(await historyText(handle), /0{64}/, 'a refused approval leaves no trace in history');
    const decision = await handle.executeUpdate(approveDeletionsUpdate, {
      args: [{ planHash: progress.awaitingApproval?.planHash as string, approvedBy: 'jane.admin' }],
    });
    assert.equal(decision.decision, 'approved');
    const result = await handle.result();
    assert.equal(result.outcome, 'succeeded');
    assert.equal(result.deletionDecision?.by, 'jane.admin');
    assert.equal(result.applied.deactivate, 3);
    for (const name of ['leaver1', 'leaver2', 'leaver3']) assert.equal(byName(`${name}@corp.example`)?.active, false);
  });

  it('counts a record that marks an active user inactive as a removal: it waits for approval, then writes all the record changes', async () => {
    await seed([user('a@corp.example'), user('b@corp.example'), user('c@corp.example')]);
    const leaving = (name: string) => user(name, { active: false, title: 'Former employee' });
    const handle = await start({
      users: [user('a@corp.example', { title: 'Engineer' }), leaving('b@corp.example'), leaving('c@corp.example')],
      deletionThreshold: { maxCount: 1 },
    });
    let progress = await handle.query(syncProgressQuery);
    for (let i = 0; i < 200 && progress.phase !== 'awaitingApproval'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      progress = await handle.query(syncProgressQuery);
    }
    assert.equal(progress.phase, 'awaitingApproval', 'two deactivations are above a threshold of one');
    assert.equal(progress.awaitingApproval?.removals, 2);
    assert.equal(byName('a@corp.example')?.title, 'Engineer', 'the plain update went ahead');
    assert.equal(byName('b@corp.example')?.active, true, 'no one is deactivated before the approval');
    assert.equal(byName('b@corp.example')?.title, undefined, 'nor is the rest of a deactivating record written');
    await handle.executeUpdate(approveDeletionsUpdate, {
      args: [{ planHash: progress.awaitingApproval?.planHash as string, approvedBy: 'jane.admin' }],
    });
    const result = await handle.result();
    assert.equal(result.outcome, 'succeeded', JSON.stringify(result));
    assert.deepEqual([result.applied.update, result.applied.deactivate], [1, 2]);
    for (const name of ['b', 'c']) {
      assert.equal(byName(`${name}@corp.example`)?.active, false);
      assert.equal(byName(`${name}@corp.example`)?.title, 'Former employee');
    }
  });

  it('keeps a plan of many slices in an index claim and its journals in a chain: history stays small, undo finds every write', async () => {
    await seed([]);
    const joiners = Array.from({ length: 105 }, (_, i) => user(`joiner${i}@corp.example`));
    const handle = await start({ users: joiners, sliceSize: 1, maxSlicesInFlight: 3 });
    const result = await handle.result();
    assert.equal(result.outcome, 'succeeded', JSON.stringify(result.failures));
    assert.equal(result.applied.create, 105);
    assert.ok(
      (result.journals?.length ?? 0) <= 3,
      `one journal per slice in flight, not per slice: ${result.journals?.length}`,
    );
    const history = await historyText(handle);
    assert.ok(history.includes('sliceIndex'), 'the 105 slices of the writes are listed in an index claim');
    const undone = await temporal.testEnv.client.workflow.execute(undoRun, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `undo-${handle.workflowId}`,
      args: [{ tenant: 'sync', workflowId: handle.workflowId, includeCreated: true }],
    });
    assert.equal(undone.counts['deactivate-created'], 105, 'undo follows the chain to every slice');
  });

  it('ends without removals when the deletions are rejected', async () => {
    await seed([user('stay@corp.example'), user('gone@corp.example')]);
    const handle = await start({ users: [user('stay@corp.example')], deletionThreshold: { maxCount: 0 } });
    for (let i = 0; i < 200 && (await handle.query(syncProgressQuery)).phase !== 'awaitingApproval'; i++)
      await new Promise((r) => setTimeout(r, 100));
    await handle.executeUpdate(rejectDeletionsUpdate, {
      args: [{ rejectedBy: 'jane.admin', reason: 'export looks truncated' }],
    });
    const result = await handle.result();
    assert.equal(result.outcome, 'rejected');
    assert.equal(result.applied.deactivate, 0);
    assert.equal(byName('gone@corp.example')?.active, true);
  });

  it('refuses a source without valid users and a scope that matches nobody, before deactivating anyone', async () => {
    await seed([user('one@corp.example'), user('two@corp.example')]);
    const empty = await start({ users: [{ schemas: [CORE], displayName: 'no userName' }] });
    await assert.rejects(empty.result(), (err: Error) =>
      /no valid user/.test(String((err.cause as Error | undefined)?.message)),
    );
    const noScope = await start({
      users: [user('one@corp.example')],
      scope: { userNameSuffixes: ['@nowhere.example'] },
    });
    await assert.rejects(noScope.result(), (err: Error) =>
      /matches none of the provider's 2 users and none of the source's/.test(
        String((err.cause as Error | undefined)?.message),
      ),
    );
    assert.equal(byName('two@corp.example')?.active, true);
  });

  it('fails with InvalidSyncInput naming the field and value when a run option is not a duration, before any request', async () => {
    await seed([user('kept@corp.example')]);
    sandbox.requestLog.length = 0;
    for (const field of ['runDeadline', 'approvalTimeout'] as const) {
      const handle = await start({ users: [user('kept@corp.example')], [field]: 'bogus' });
      await assert.rejects(
        handle.result(),
        failedWith('InvalidSyncInput', new RegExp(`^${field} must be a duration such as .*, got "bogus"$`)),
      );
    }
    const orphans = await start({ users: [user('kept@corp.example')], orphans: 'all' as 'leavers' });
    await assert.rejects(
      orphans.result(),
      failedWith('InvalidSyncInput', /^orphans must be auto, leavers or out-of-scope, got all$/),
    );
    assert.deepEqual(sandbox.requestLog, [], 'nothing was sent to the provider');
  });

  it('holds removals back when the source has duplicate keys', async () => {
    await seed([user('dup@corp.example'), user('left@corp.example')]);
    const result = await runSync({ users: [user('dup@corp.example'), user('DUP@corp.example')] });
    assert.equal(result.outcome, 'partial');
    assert.match(result.note ?? '', /removals held back/);
    assert.match(result.plan.problems[0].reason, /duplicates record 1/);
    assert.equal(byName('left@corp.example')?.active, true);
  });

  it('quarantines a run whose writes mostly fail, with the top cause', async () => {
    await seed([]);
    proxy.intercept = (method, path) => (method === 'POST' && path.endsWith('/Users') ? 400 : undefined);
    try {
      const users = Array.from({ length: 30 }, (_, i) => user(`q${i}@corp.example`));
      const result = await runSync({
        users,
        sliceSize: 5,
        maxSlicesInFlight: 1,
        quarantine: { minWrites: 10, maxFailureRate: 0.4 },
      });
      assert.equal(result.outcome, 'quarantined');
      assert.ok(result.failed >= 10 && result.failed < 30, `stopped early (${result.failed} failed)`);
      assert.match(result.note ?? '', /HTTP 400/);
    } finally {
      proxy.intercept = undefined;
    }
  });

  it('resumes an interrupted deactivation slice without deactivating anyone twice or missing anyone', async () => {
    const leavers = Array.from({ length: 12 }, (_, i) => user(`leaver${i}@corp.example`));
    await seed([user('stays@corp.example'), ...leavers]);
    let patches = 0;
    const patchedIds: string[] = [];
    proxy.intercept = (method, path, body) => {
      if (method !== 'PATCH') return undefined;
      patches++;
      // The 7th deactivation fails with 503 once: the slice's activity fails and is retried.
      if (patches === 7) return 503;
      if (/"active"/.test(body)) patchedIds.push(path.split('/').pop() as string);
      return undefined;
    };
    try {
      const result = await runSync({
        users: [user('stays@corp.example')],
        sliceSize: 50,
        deletionThreshold: { maxCount: 100, maxShare: 1 },
      });
      assert.equal(result.outcome, 'succeeded');
      assert.equal(result.applied.deactivate, 12);
      assert.equal(patchedIds.length, 12, 'one PATCH per leaver that went through');
      assert.equal(new Set(patchedIds).size, 12, 'nobody deactivated twice');
      for (const l of leavers) assert.equal(byName(String(l.userName))?.active, false);
    } finally {
      proxy.intercept = undefined;
    }
  });

  it('syncs one user on demand, ignoring every other difference', async () => {
    await seed([user('solo@corp.example', { title: 'Old' }), user('other@corp.example')]);
    const result = await runSync({
      users: [user('solo@corp.example', { title: 'New' }), user('new@corp.example')],
      user: 'SOLO@corp.example',
    });
    assert.equal(result.outcome, 'succeeded');
    assert.equal(result.applied.update, 1);
    assert.equal(byName('solo@corp.example')?.title, 'New');
    assert.equal(byName('new@corp.example'), undefined);
    assert.equal(byName('other@corp.example')?.active, true);
  });
});
