// provisionUsers without Bulk, end to end: real Temporal dev server, real worker, the CXone
// sandbox with Bulk switched off in its ServiceProviderConfig, and its switches imitating the
// servers clients meet (5xx bursts, case-sensitive `eq`, `filter` ignored).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { SandboxClient, startSandbox, type Sandbox } from 'cxone-sandbox';
import { createActivityDeps } from '../src/activities';
import { createIdpActivities } from '../src/activities/idp';
import { sandboxTenant } from '../src/cli/dev';
import { TenantRegistry } from '../src/config/tenants';
import type { TemporalEnvironment } from '../src/temporal/server';
import { progressQuery, provisionUsers, type ProvisionUsersInput } from '../src/workflows';
import { reportQuery } from '../src/workflows/report';
import { startTestTemporal, startTestWorker, type TestWorker } from './helpers/temporal';

const ROOT = path.join(__dirname, '..', '..');
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
type Attrs = Record<string, unknown>;

function user(userName: string, extra: Attrs = {}): Attrs {
  return {
    schemas: [CORE],
    userName,
    name: { givenName: 'Per', familyName: 'Resource' },
    displayName: `User ${userName}`,
    emails: [{ value: userName.toLowerCase(), type: 'work', primary: true }],
    active: true,
    ...extra,
  };
}

describe('provisionUsers per resource (provider without Bulk)', () => {
  let temporal: TemporalEnvironment;
  let sandbox: Sandbox;
  let worker: TestWorker;
  const client = () => temporal.testEnv.client;

  async function provision(input: Omit<ProvisionUsersInput, 'tenant'>, name: string, tenant = 'sandbox') {
    const handle = await client().workflow.start(provisionUsers, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `${name}-${Date.now()}`,
      args: [{ tenant, recordsPerSlice: 10, ...input }],
    });
    return { handle, result: await handle.result() };
  }
  /** Changes what the sandbox's ServiceProviderConfig announces (and so what the workflow discovers). */
  async function announce(section: 'bulk' | 'filter', supported: boolean) {
    const admin = new SandboxClient(sandbox);
    const spc = await admin.scim('GET', '/ServiceProviderConfig');
    const { meta: _meta, ...doc } = spc.body as Attrs;
    const put = await admin.scim('PUT', '/ServiceProviderConfig', {
      body: { ...doc, [section]: { ...(doc[section] as Attrs), supported } },
      headers: { 'if-match': spc.headers.get('etag') ?? '' },
    });
    assert.equal(put.status, 200, put.text);
  }
  const byName = (userName: string) =>
    sandbox.listUsers().filter((u) => String(u.userName).toLowerCase() === userName.toLowerCase());

  before(async () => {
    sandbox = await startSandbox({ port: 0, requestLogLimit: 10_000 });
    // Bulk off, as CXone documents no Bulk endpoint.
    await announce('bulk', false);
    temporal = await startTestTemporal();
    // A second tenant on the same sandbox, so that what the worker learns of one tenant's filter
    // (that it refuses `or`) is seen not to leak into the other.
    const wrongSecret = sandboxTenant(sandbox, 'sandbox-wrong-secret');
    worker = await startTestWorker(temporal, [
      sandboxTenant(sandbox),
      sandboxTenant(sandbox, 'sandbox-eq-only'),
      { ...sandboxTenant(sandbox, 'sandbox-no-or'), filterOr: false },
      { ...wrongSecret, auth: { ...wrongSecret.auth, clientSecret: 'not-the-secret' } as typeof wrongSecret.auth },
    ]);
  });
  after(async () => {
    await worker?.stop();
    await temporal?.stop();
    await sandbox?.close();
  });
  beforeEach(() =>
    sandbox.setSwitches({
      rateLimit: null,
      failRate: 0,
      failNext: 0,
      failStatus: 503,
      retryAfterSeconds: 1,
      filterMode: 'rfc',
      latencyMs: 0,
    }),
  );

  it('creates, then finds everyone unchanged, then updates only a drifted user; Bulk is never called', async () => {
    const users = Array.from({ length: 25 }, (_, i) => user(`pr.plain${i}@example.com`));
    sandbox.clearRequestLog();
    const first = await provision({ users }, 'per-resource-plain');
    assert.equal(first.result.mode, 'per-resource');
    // Three slices of ≤ 10 for four lanes (maxChunksInFlight): the first is halved so that every
    // lane has one, and each is a batch of its own, all written at once.
    assert.deepEqual(
      [first.result.totals.created, first.result.totals.failed, first.result.chunks.planned, first.result.batches],
      [25, 0, 4, 4],
    );
    assert.ok(
      sandbox.requestLog.every((r) => !r.path.includes('/Bulk')),
      'no Bulk request',
    );
    const progress = await first.handle.query(progressQuery);
    assert.deepEqual([progress.phase, progress.created], ['completed', 25]);

    const id = String(byName('pr.plain3@example.com')[0].id);
    sandbox.adminUpdateUser(id, { displayName: 'Drifted' });
    const second = await provision({ users }, 'per-resource-rerun');
    assert.deepEqual(
      [second.result.totals.created, second.result.totals.updated, second.result.totals.unchanged],
      [0, 1, 24],
    );
    assert.equal(sandbox.getUser(id)?.displayName, 'User pr.plain3@example.com');
    const report = await second.handle.query(reportQuery);
    assert.match(
      report.steps.map((s) => s.detail ?? '').join('\n'),
      /4 slices of ≤ 10 records, written one resource at a time/,
    );
    const batch = await client().workflow.getHandle(`${second.handle.workflowId}-batch-0`).query(reportQuery);
    assert.match(batch.steps[0].step, /^slice c0a \(5 records, one resource at a time\)$/);
    assert.equal(batch.steps[0].detail, '0 created, 1 updated, 4 unchanged, 0 failed, 0 resent');
  });

  it('503 bursts lose nothing: every record is retried until it is written', async () => {
    sandbox.setSwitches({ failRate: 0.35, failStatus: 503, retryAfterSeconds: 0 });
    const users = Array.from({ length: 30 }, (_, i) => user(`pr.burst${i}@example.com`));
    const { result } = await provision({ users }, 'per-resource-503');
    sandbox.setSwitches({ failRate: 0 });
    assert.deepEqual([result.totals.succeeded, result.totals.failed], [30, 0]);
    for (const u of users) assert.equal(byName(String(u.userName)).length, 1, `${String(u.userName)} exactly once`);
  });

  it('429 with Retry-After: the tenant pauses, then every record is written', async () => {
    sandbox.setSwitches({ rateLimit: { mode: 'everyNth', n: 7 }, retryAfterSeconds: 1 });
    const users = Array.from({ length: 20 }, (_, i) => user(`pr.limited${i}@example.com`));
    const { result } = await provision({ users }, 'per-resource-429');
    sandbox.setSwitches({ rateLimit: null });
    assert.deepEqual([result.totals.created, result.totals.failed], [20, 0]);
    for (const u of users) assert.equal(byName(String(u.userName)).length, 1, `${String(u.userName)} exactly once`);
  });

  it('one lookup per record (userName or externalId); a user renamed at the source is found by externalId and updated, not duplicated', async () => {
    const users = Array.from({ length: 6 }, (_, i) => user(`pr.or${i}@example.com`, { externalId: `OR-${i}` }));
    const renamedBefore = sandbox.adminCreateUser(
      user('pr.or-old-name@example.com', { externalId: 'OR-5', displayName: 'Old' }),
    );
    sandbox.clearRequestLog();
    const { result } = await provision({ users }, 'per-resource-or');
    assert.deepEqual(
      [result.totals.created, result.totals.updated, result.totals.failed],
      [5, 1, 0],
      JSON.stringify(result.failures),
    );
    const lookups = sandbox.requestLog
      .filter((r) => r.method === 'GET' && r.path.endsWith('/Users'))
      .map((r) => new URLSearchParams(r.query).get('filter'));
    assert.equal(lookups.length, 6, 'one lookup per record');
    assert.ok(
      lookups.every((f) => /^userName eq "pr\.or\d@example\.com" or externalId eq "OR-\d"$/.test(String(f))),
      lookups.join('\n'),
    );
    const renamed = sandbox.getUser(String(renamedBefore.id));
    assert.deepEqual([renamed?.userName, renamed?.displayName], ['pr.or5@example.com', 'User pr.or5@example.com']);
    assert.equal(byName('pr.or-old-name@example.com').length, 0);
  });

  it('a filter that refuses `or` (400 invalidFilter): the tenant falls back to one lookup per key, still finds the renamed user, and remembers', async () => {
    const users = Array.from({ length: 6 }, (_, i) => user(`pr.eq${i}@example.com`, { externalId: `EQ-${i}` }));
    const renamedBefore = sandbox.adminCreateUser(
      user('pr.eq-old-name@example.com', { externalId: 'EQ-5', displayName: 'Old' }),
    );
    sandbox.setSwitches({ filterMode: 'eqOnly' });
    sandbox.clearRequestLog();
    const { result } = await provision(
      { users, recordsInFlight: 1, maxChunksInFlight: 1 },
      'per-resource-eq-only',
      'sandbox-eq-only',
    );
    assert.deepEqual(
      [result.totals.created, result.totals.updated, result.totals.failed],
      [5, 1, 0],
      JSON.stringify(result.failures),
    );
    const gets = sandbox.requestLog.filter((r) => r.method === 'GET' && r.path.endsWith('/Users'));
    const refused = gets.filter((r) => r.status === 400);
    assert.equal(refused.length, 1, 'the `or` is tried once, then the tenant is known to refuse it');
    assert.match(String(new URLSearchParams(refused[0].query).get('filter')), / or externalId eq /);
    // Each new user: by userName, then by externalId; the renamed one is found by externalId.
    assert.equal(gets.length - refused.length, 12);
    assert.equal(sandbox.getUser(String(renamedBefore.id))?.userName, 'pr.eq5@example.com');

    // What was learnt is per tenant: the other tenant on the same provider still sends `or`.
    sandbox.setSwitches({ filterMode: 'rfc' });
    sandbox.clearRequestLog();
    const again = await provision(
      { users: [user('pr.or-after@example.com', { externalId: 'OR-A' })] },
      'per-resource-or-after',
    );
    assert.deepEqual([again.result.totals.created, again.result.totals.failed], [1, 0]);
    const after = sandbox.requestLog.filter((r) => r.method === 'GET' && r.path.endsWith('/Users'));
    assert.deepEqual(
      after.map((r) => [r.status, / or /.test(decodeURIComponent(r.query))]),
      [[200, true]],
    );
  });

  it('a tenant with filterOr false: one key per lookup from the first record (no `or` sent), the renamed user still found', async () => {
    const users = Array.from({ length: 3 }, (_, i) => user(`pr.noor${i}@example.com`, { externalId: `NOOR-${i}` }));
    const renamedBefore = sandbox.adminCreateUser(
      user('pr.noor-old-name@example.com', { externalId: 'NOOR-2', displayName: 'Old' }),
    );
    sandbox.clearRequestLog();
    const { result } = await provision({ users }, 'per-resource-no-or', 'sandbox-no-or');
    assert.deepEqual(
      [result.totals.created, result.totals.updated, result.totals.failed],
      [2, 1, 0],
      JSON.stringify(result.failures),
    );
    const filters = sandbox.requestLog
      .filter((r) => r.method === 'GET' && r.path.endsWith('/Users'))
      .map((r) => String(new URLSearchParams(r.query).get('filter')));
    assert.equal(filters.length, 6, filters.join('\n'));
    assert.ok(
      filters.every((f) => /^(userName eq "pr\.noor\d@example\.com"|externalId eq "NOOR-\d")$/.test(f)),
      filters.join('\n'),
    );
    assert.equal(sandbox.getUser(String(renamedBefore.id))?.userName, 'pr.noor2@example.com');
  });

  it('a case-only userName difference on a case-sensitive filter: the 409 is resolved by a verified scan, no duplicate', async () => {
    const existing = sandbox.adminCreateUser(user('PR.Case@Example.com', { displayName: 'Old' }));
    sandbox.setSwitches({ filterMode: 'caseExact' });
    const { result } = await provision({ users: [user('pr.case@example.com')] }, 'per-resource-case');
    assert.deepEqual([result.totals.created, result.totals.updated, result.totals.failed], [0, 1, 0]);
    const found = byName('pr.case@example.com');
    assert.equal(found.length, 1);
    assert.equal(found[0].id, existing.id);
    assert.equal(found[0].displayName, 'User pr.case@example.com');
  });

  it('a server that ignores filter: no write reaches an unrelated user, and an ambiguous record is an error', async () => {
    const bystander = sandbox.adminCreateUser(user('pr.bystander@example.com', { externalId: 'E-BY' }));
    sandbox.adminCreateUser(user('pr.namesake@example.com'));
    const before = JSON.stringify(sandbox.getUser(String(bystander.id)));
    sandbox.setSwitches({ filterMode: 'ignored' });
    const records = [
      user('pr.ignored1@example.com'),
      user('pr.ignored2@example.com'),
      // Another user's userName with the bystander's externalId: two different users match.
      user('pr.namesake@example.com', { externalId: 'E-BY' }),
    ];
    const { result } = await provision({ users: records }, 'per-resource-ignored');
    assert.deepEqual([result.totals.created, result.totals.failed], [2, 1]);
    assert.match(result.failures[0].detail, /ambiguous: 2 provider users match/);
    assert.equal(JSON.stringify(sandbox.getUser(String(bystander.id))), before, 'the bystander was not written');

    // The lifecycle IdP sync: deactivating an unknown user finds nobody instead of the first listed user.
    const deps = createActivityDeps(new TenantRegistry([sandboxTenant(sandbox)]));
    const outcome = await createIdpActivities(deps).idpDeactivateUser('sandbox', {
      cxoneUserId: 'no-such-cxone-user',
      userName: 'nobody@example.com',
    });
    assert.equal(outcome.operation, 'not-found');
    assert.equal(
      JSON.stringify(sandbox.getUser(String(bystander.id))),
      before,
      'the IdP sync did not deactivate the bystander',
    );
    assert.ok(
      outcome.requests.some((r) => r.startsWith('GET /Users (scan)')),
      'the unapplied filter was followed by a scan',
    );
    const target = byName('pr.ignored2@example.com')[0];
    const deactivated = await createIdpActivities(deps).idpDeactivateUser('sandbox', {
      cxoneUserId: 'cx-2',
      userName: 'PR.Ignored2@example.com',
    });
    assert.deepEqual([deactivated.operation, deactivated.idpUserId], ['deactivated', target.id]);
    assert.equal(sandbox.getUser(String(target.id))?.active, false);
    assert.equal(sandbox.getUser(String(bystander.id))?.active, true);
  });

  it('without filter support: POST first, and a 409 is resolved by a paged scan (1-based, to the empty page)', async () => {
    const existing = sandbox.adminCreateUser(user('pr.nofilter0@example.com', { displayName: 'Old' }));
    await announce('filter', false);
    try {
      sandbox.clearRequestLog();
      const records = [user('pr.nofilter0@example.com'), user('pr.nofilter1@example.com')];
      const { result } = await provision({ users: records }, 'per-resource-no-filter');
      assert.deepEqual(
        [result.totals.created, result.totals.updated, result.totals.failed],
        [1, 1, 0],
        JSON.stringify(result.failures),
      );
      assert.equal(sandbox.getUser(String(existing.id))?.displayName, 'User pr.nofilter0@example.com');
      const userGets = sandbox.requestLog.filter((r) => r.method === 'GET' && r.path.endsWith('/Users'));
      assert.ok(userGets.length > 0 && userGets.every((r) => !r.query.includes('filter=')), 'no filter sent');
      assert.match(userGets[0].query, /startIndex=1\b/);
    } finally {
      await announce('filter', true);
    }
  });

  it('a worker killed mid-slice: the retried slice resumes from its last heartbeat, exact count, no duplicates', async (t) => {
    const count = 240;
    const users = Array.from({ length: count }, (_, i) => user(`prkill-${String(i).padStart(4, '0')}@example.com`));
    const taskQueue = `per-resource-kill-${Date.now()}`;
    const env = {
      ...process.env,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: temporal.namespace,
      TEMPORAL_TASK_QUEUE: taskQueue,
      CXONE_BASE_URL: sandbox.url,
      CXONE_CLIENT_ID: sandbox.clientId,
      CXONE_CLIENT_SECRET: sandbox.clientSecret,
      CXONE_SCOPES: 'scim:write',
      CXONE_TENANT_ID: 'killtest',
    };
    const children: ChildProcess[] = [];
    const startWorker = () => {
      const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'worker'], {
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr?.resume();
      children.push(child);
      return child;
    };
    const created = () => sandbox.listUsers().filter((u) => String(u.userName).startsWith('prkill-'));
    sandbox.setSwitches({ latencyMs: 10 });
    sandbox.clearRequestLog();
    try {
      const first = startWorker();
      const workflowId = `per-resource-kill-${Date.now()}`;
      const handle = await client().workflow.start(provisionUsers, {
        taskQueue,
        workflowId,
        // One lane: one slice of all the records (not spread over lanes), killed mid-way.
        args: [{ tenant: 'killtest', users, recordsPerSlice: count, recordsInFlight: 2, maxChunksInFlight: 1 }],
      });
      // How far the slice's last heartbeat that reached the server got (the SDK sends the first at once and
      // throttles the rest): the kill must come after one that settled the first record, or the retry rightly
      // starts from it again.
      const heartbeatDone = async (): Promise<number> => {
        for (const n of [0, 1]) {
          try {
            const described = await client().workflow.getHandle(`${workflowId}-batch-${n}`).describe();
            for (const activity of described.raw.pendingActivities ?? []) {
              const data = activity.heartbeatDetails?.payloads?.[0]?.data;
              const done = data
                ? (JSON.parse(Buffer.from(data).toString('utf8')) as { done?: unknown }).done
                : undefined;
              if (typeof done === 'number') return done;
            }
          } catch {
            // that batch has not started (or is not this run's)
          }
        }
        return 0;
      };
      const deadline = Date.now() + 120_000;
      while (created().length < 80 || (await heartbeatDone()) < 1) {
        assert.ok(Date.now() < deadline, 'the first worker never got going');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      first.kill('SIGKILL');
      await new Promise((resolve) => first.once('exit', resolve));
      const atKill = created().length;
      assert.ok(atKill < count, `all ${count} users existed before the kill`);
      startWorker();
      const { totals } = await handle.result();
      const found = created();
      assert.equal(found.length, count);
      assert.equal(new Set(found.map((u) => String(u.userName).toLowerCase())).size, count, 'no duplicates');
      assert.deepEqual(
        [totals.succeeded, totals.failed, totals.created + totals.unchanged + totals.updated],
        [count, 0, count],
      );
      // The first record was settled before the last heartbeat: the retried attempt never looked it up again.
      const lookupsOfFirst = sandbox.requestLog.filter(
        (r) => r.method === 'GET' && decodeURIComponent(r.query).includes('"prkill-0000@example.com"'),
      );
      assert.equal(lookupsOfFirst.length, 1);
      t.diagnostic(
        `killed with ${atKill}/${count} created; after restart ${totals.created} created in all, ${totals.unchanged} found existing`,
      );
    } finally {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    }
  });

  it('discovery (its three requests sent at once) refused by the provider: the run fails with the reason, nothing left hanging', async () => {
    const started = Date.now();
    await assert.rejects(
      provision({ users: [user('pr.denied@example.com')] }, 'per-resource-denied', 'sandbox-wrong-secret'),
      (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        const reasons = [err.cause?.message, (err.cause?.cause as Error | undefined)?.message].join(' / ');
        assert.match(reasons, /401|invalid_client|credentials|token/i);
        return true;
      },
    );
    assert.equal(byName('pr.denied@example.com').length, 0);
    assert.ok(Date.now() - started < 60_000, 'the run failed instead of retrying a refused credential');
  });

  it('mode "bulk" against a provider without Bulk is refused with a clear reason', async () => {
    await assert.rejects(
      provision({ users: [user('pr.refused@example.com')], mode: 'bulk' }, 'per-resource-refused'),
      (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        assert.match(String(err.cause?.message), /mode "bulk" was asked for, but the provider does not support Bulk/);
        return true;
      },
    );
  });
});
