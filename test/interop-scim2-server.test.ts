// The same flows against an independent SCIM server, python `scim2-server` (pinned, installed into
// .tools by `npm run setup:test`), with a static bearer token: what passes against our sandbox must
// pass against a server we did not write. Once with everything it announces (Bulk, PATCH, ETags),
// once announcing no Bulk.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TenantConfig } from '../src/config/tenants';
import type { TemporalEnvironment } from '../src/temporal/server';
import {
  discoverServiceProvider,
  provisionUsers,
  syncUsers,
  type ProvisionUsersInput,
  type SyncUsersInput,
} from '../src/workflows';
import { startScim2Server, type Scim2Server } from './helpers/scim2-server';
import { historyText, startTestTemporal, startTestWorker, type TestWorker } from './helpers/temporal';

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
type Attrs = Record<string, unknown>;

const person = (userName: string, extra: Attrs = {}): Attrs => ({
  schemas: [CORE],
  userName,
  name: { givenName: 'Ada', familyName: userName.split('@')[0] },
  emails: [{ value: userName, type: 'work', primary: true }],
  active: true,
  ...extra,
});

function tenantFor(server: Scim2Server, tenantId: string): TenantConfig {
  return {
    tenantId,
    baseUrl: server.origin,
    scimPath: server.scimPath,
    auth: { type: 'bearer', token: server.bearerToken },
  };
}

/** Every user the server holds, read over HTTP (its own view, not ours). */
async function serverUsers(server: Scim2Server): Promise<Attrs[]> {
  const response = await fetch(`${server.origin}${server.scimPath}/Users?count=1000`, {
    headers: { authorization: `Bearer ${server.bearerToken}` },
  });
  assert.equal(response.status, 200);
  return ((await response.json()) as { Resources?: Attrs[] }).Resources ?? [];
}

describe('interoperability with scim2-server (an independent SCIM 2.0 server)', () => {
  let temporal: TemporalEnvironment;
  let full: Scim2Server;
  let noBulk: Scim2Server;
  let worker: TestWorker;
  let seq = 0;

  before(async () => {
    temporal = await startTestTemporal();
    full = await startScim2Server();
    noBulk = await startScim2Server({
      serviceProviderConfig: {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
        patch: { supported: true },
        bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
        filter: { supported: true, maxResults: 200 },
        changePassword: { supported: false },
        sort: { supported: false },
        etag: { supported: false },
        authenticationSchemes: [{ type: 'oauthbearertoken', name: 'Bearer', description: 'static bearer token' }],
      },
    });
    worker = await startTestWorker(temporal, [tenantFor(full, 'scim2'), tenantFor(noBulk, 'scim2-nobulk')]);
  });

  after(async () => {
    await worker?.stop();
    await full?.stop();
    await noBulk?.stop();
    await temporal?.stop();
  });

  const execute = <T extends typeof provisionUsers | typeof syncUsers | typeof discoverServiceProvider>(
    workflow: T,
    input: Parameters<T>[0],
  ) =>
    temporal.testEnv.client.workflow.start(workflow, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `interop-${++seq}`,
      args: [input] as Parameters<T>,
    });

  it('discovers the server with a static bearer token, which never reaches history', async () => {
    const handle = await execute(discoverServiceProvider, { tenant: 'scim2' });
    const result = await handle.result();
    assert.equal(result.httpStatus, 200);
    assert.ok(!(await historyText(handle)).includes(full.bearerToken), 'the bearer token is in workflow history');
  });

  it('provisions through Bulk, and a re-run duplicates nobody', async () => {
    const input: ProvisionUsersInput = {
      tenant: 'scim2',
      users: ['ann@bulk.example', 'ben@bulk.example', 'cid@bulk.example'].map((u) => person(u)),
    };
    const first = await (await execute(provisionUsers, input)).result();
    assert.equal(first.totals.created, 3, JSON.stringify(first.failures));
    const again = await (await execute(provisionUsers, input)).result();
    assert.equal(again.totals.created, 0);
    assert.equal(again.totals.unchanged + again.totals.updated, 3, JSON.stringify(again.failures));
    const names = (await serverUsers(full)).map((u) => String(u.userName)).filter((n) => n.endsWith('@bulk.example'));
    assert.deepEqual(names.sort(), ['ann@bulk.example', 'ben@bulk.example', 'cid@bulk.example']);
  });

  it('reconciles: creates, updates, deactivates leavers, and a second run finds nothing to do', async () => {
    const seed: SyncUsersInput = {
      tenant: 'scim2',
      users: ['dee@sync.example', 'eve@sync.example', 'fay@sync.example'].map((u) => person(u, { title: 'Agent' })),
      scope: { userNameSuffixes: ['@sync.example'] },
      orphans: 'leavers',
    };
    const seeded = await (await execute(syncUsers, seed)).result();
    assert.equal(seeded.applied.create, 3, JSON.stringify(seeded.failures));

    const next: SyncUsersInput = {
      ...seed,
      users: [
        person('DEE@sync.example', {
          title: 'Agent',
          name: { givenName: 'Ada', familyName: 'dee' },
          emails: [{ value: 'dee@sync.example', type: 'work', primary: true }],
        }),
        person('eve@sync.example', { title: 'Lead' }),
        person('gus@sync.example'),
      ],
      deletionThreshold: { maxShare: 1 },
    };
    const synced = await (await execute(syncUsers, next)).result();
    assert.equal(synced.outcome, 'succeeded', JSON.stringify(synced.failures));
    assert.deepEqual(
      [synced.applied.create, synced.applied.update, synced.applied.deactivate, synced.plan.counts.unchanged],
      [1, 1, 1, 1],
    );
    const byName = new Map((await serverUsers(full)).map((u) => [String(u.userName).toLowerCase(), u]));
    assert.equal(byName.get('eve@sync.example')?.title, 'Lead');
    assert.equal(byName.get('fay@sync.example')?.active, false);
    assert.equal(byName.get('gus@sync.example')?.active, true);
    assert.equal(byName.get('ann@bulk.example')?.active, true, 'users outside the scope are never touched');

    const idle = await (await execute(syncUsers, next)).result();
    const work =
      idle.plan.counts.create + idle.plan.counts.update + idle.plan.counts.reactivate + idle.plan.counts.deactivate;
    assert.equal(work, 0, JSON.stringify(idle.plan.counts));
  });

  it('reconciles a server without Bulk one resource at a time', async () => {
    const result = await (
      await execute(syncUsers, {
        tenant: 'scim2-nobulk',
        users: [person('hal@nobulk.example'), person('ida@nobulk.example')],
      })
    ).result();
    assert.equal(result.applied.create, 2, JSON.stringify(result.failures));
    const names = (await serverUsers(noBulk)).map((u) => String(u.userName)).sort();
    assert.deepEqual(names, ['hal@nobulk.example', 'ida@nobulk.example']);
  });
});
