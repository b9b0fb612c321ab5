// Manager references and SelectUniqueValue where records are planned (docs/mappings.md), end to end
// on a real Temporal dev server and worker against the sandbox: a manager the provider has is sent
// with the user, one the run creates is linked by the run's second pass, one found nowhere is a
// warning; SelectUniqueValue skips a candidate the provider has and one an earlier record of the run
// took, and a rerun or a retried plan chooses the same values. Also matchOn for provisionUsers.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { enterpriseUserSchema, userSchema, type Sandbox } from 'cxone-sandbox';
import { createActivityDeps } from '../src/activities';
import { putClaim } from '../src/activities/claims/claim-store';
import { createManagerLinkActivities } from '../src/activities/manager-links';
import { chunkEntries, createProvisioningActivities, type ProvisionPlan } from '../src/activities/provisioning';
import { sandboxTenant } from '../src/cli/dev';
import { TenantRegistry } from '../src/config/tenants';
import { userSchemaModel } from '../src/scim/user-validation';
import type { TemporalEnvironment } from '../src/temporal/server';
import { provisionUsers, syncUsers, type ProvisionUsersInput, type SyncUsersInput } from '../src/workflows';
import { startSandboxWorld, type SandboxWorld } from './helpers/sandbox-world';
import type { TestWorker } from './helpers/temporal';
import { scimUser as user } from './helpers/users';

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

const MANAGED = {
  attributes: {
    externalId: 'emp_id',
    userName: { expression: 'ToLower(Join("@", Join(".", [first], [last]), "corp.example"))' },
    'name.givenName': 'first',
    'name.familyName': 'last',
    displayName: { expression: 'PCase(Join(" ", [first], [last]))' },
    title: { source: 'title', apply: 'create' },
    [`${ENTERPRISE}:manager`]: { source: 'manager_id' },
  },
};

const candidates = [
  'Join("@", ToLower([first]), "contoso.com")',
  'Join("@", ToLower(Join(".", [first], [last])), "contoso.com")',
  'Join("@", ToLower(Join(".", [first], [last], [emp_id])), "contoso.com")',
];
const UNIQUE = {
  attributes: {
    externalId: 'emp_id',
    userName: { expression: `SelectUniqueValue(${candidates.join(', ')})` },
    'name.givenName': 'first',
    'name.familyName': 'last',
  },
};

type Result = Awaited<ReturnType<typeof provisionUsers>>;

describe('manager references and SelectUniqueValue, planned against the provider and the run', () => {
  let temporal: TemporalEnvironment;
  let sandbox: Sandbox;
  let worker: TestWorker;
  let dir: string;
  let world: SandboxWorld;

  before(async () => {
    world = await startSandboxWorld('mapping-references-');
    ({ temporal, sandbox, worker, dir } = world);
  });

  after(() => world?.stop());

  const stored = (userName: string) =>
    sandbox.listUsers().find((u) => String(u.userName).toLowerCase() === userName) as
      | (Record<string, unknown> & { id: string; [ENTERPRISE]?: { manager?: { value?: string } } })
      | undefined;
  const csv = (header: string, rows: string[]) => {
    const file = path.join(dir, `${randomUUID()}.csv`);
    fs.writeFileSync(file, `${[header, ...rows].join('\n')}\n`);
    return file;
  };
  const run = async <T>(workflow: typeof provisionUsers | typeof syncUsers, input: T) =>
    temporal.testEnv.client.workflow.execute(workflow as typeof provisionUsers, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `mapping-references-${randomUUID()}`,
      args: [input as unknown as ProvisionUsersInput],
    }) as Promise<Result>;

  it('resolves managers the provider has, links those the run creates, warns of those found nowhere; a re-sync keeps the create-only title', async () => {
    const boss = sandbox.adminCreateUser(user('boss@corp.example', { externalId: 'E100' }));
    const header = 'emp_id,first,last,title,manager_id';
    const rows = [
      'E1,Ana,Lima,Agent,E100', // manager at the provider already
      'E2,Bob,Reis,Agent,E3', // manager created by this run, two lines further down
      'E3,Cara,Nunes,Supervisor,E100',
      'E4,Dan,Melo,Agent,E999', // a manager nobody has: a warning, Dan is still provisioned
      'E5,Eva,Lopes,Agent,', // no manager
    ];
    const file = csv(header, rows);
    const first = await run(provisionUsers, {
      tenant: 'sandbox',
      source: { path: file, mapping: MANAGED },
      maxOperationsPerRequest: 2,
    });
    assert.deepEqual(
      [first.totals.created, first.totals.failed, first.totals.invalid],
      [5, 0, 0],
      JSON.stringify(first),
    );
    assert.ok(first.managerLinks, 'the result says what became of the managers');
    const { warnings, ...counts } = first.managerLinks;
    assert.deepEqual(counts, { resolvedWhenPlanned: 2, linked: 1, unchanged: 0, warned: 1, warningsOmitted: 0 });
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0].record, 4);
    assert.equal(warnings[0].userName, 'dan.melo@corp.example');
    assert.match(warnings[0].detail, /no user has externalId "E999".*provisioned without a manager/);

    const cara = stored('cara.nunes@corp.example');
    assert.equal(stored('ana.lima@corp.example')?.[ENTERPRISE]?.manager?.value, boss.id);
    assert.equal(cara?.[ENTERPRISE]?.manager?.value, boss.id);
    assert.equal(stored('bob.reis@corp.example')?.[ENTERPRISE]?.manager?.value, cara?.id, 'linked by the second pass');
    assert.equal(stored('dan.melo@corp.example')?.[ENTERPRISE]?.manager, undefined);
    assert.equal(stored('eva.lopes@corp.example')?.[ENTERPRISE]?.manager, undefined);
    assert.equal(stored('dan.melo@corp.example')?.displayName, 'Dan Melo');
    assert.equal(stored('ana.lima@corp.example')?.title, 'Agent');

    // HR promotes Ana (a new title: create-only, so never written again) and moves Bob under Ana.
    const changed = csv(header, [
      'E1,Ana,Lima,Team lead,E100',
      'E2,Bob,Reis,Agent,E1',
      'E3,Cara,Nunes,Supervisor,E100',
      'E4,Dan,Melo,Agent,E999',
      'E5,Eva,Lopes,Agent,',
    ]);
    const again = await run(provisionUsers, { tenant: 'sandbox', source: { path: changed, mapping: MANAGED } });
    assert.deepEqual(
      [again.totals.created, again.totals.updated, again.totals.failed],
      [0, 1, 0],
      JSON.stringify(again.totals),
    );
    assert.equal(again.managerLinks?.resolvedWhenPlanned, 3, 'every manager but E999 exists now');
    assert.equal(again.managerLinks?.linked, 0);
    assert.equal(stored('bob.reis@corp.example')?.[ENTERPRISE]?.manager?.value, stored('ana.lima@corp.example')?.id);
    assert.equal(stored('ana.lima@corp.example')?.title, 'Agent', 'the create-only title is left as created');

    const synced = (await run(syncUsers, {
      tenant: 'sandbox',
      source: { path: changed, mapping: MANAGED },
      scope: { userNameSuffixes: ['@corp.example'] },
    } as unknown as SyncUsersInput)) as unknown as { outcome: string };
    assert.ok(['succeeded', 'partial'].includes(synced.outcome), JSON.stringify(synced));
    assert.equal(stored('ana.lima@corp.example')?.title, 'Agent', 'the re-sync leaves the create-only title');
    assert.equal(stored('bob.reis@corp.example')?.[ENTERPRISE]?.manager?.value, stored('ana.lima@corp.example')?.id);
  });

  it('SelectUniqueValue: skips a candidate the provider has and one an earlier record took; all taken is that record invalid; a rerun chooses the same', async () => {
    sandbox.adminCreateUser(user('zoe@contoso.com', { externalId: 'OTHER-1' }));
    sandbox.adminCreateUser(user('Zoe.Lind.Z9@contoso.com'));
    const header = 'emp_id,first,last';
    const file = csv(header, ['Z1,Zoe,Lind', 'Z2,Zoe,Lind', 'Z9,Zoe,Lind', 'Z4,Ola,Berg']);
    const first = await run(provisionUsers, { tenant: 'sandbox', source: { path: file, mapping: UNIQUE } });
    assert.deepEqual(
      [first.totals.created, first.totals.invalid, first.totals.failed],
      [3, 1, 0],
      JSON.stringify(first),
    );
    const byExternalId = (id: string) => sandbox.listUsers().find((u) => u.externalId === id)?.userName;
    assert.equal(byExternalId('Z1'), 'zoe.lind@contoso.com', 'the second candidate: the first is at the provider');
    assert.equal(byExternalId('Z2'), 'zoe.lind.z2@contoso.com', 'the third: the second went to record 1');
    assert.equal(byExternalId('Z4'), 'ola@contoso.com');
    assert.equal(first.invalidRecords.length, 1);
    assert.equal(first.invalidRecords[0].record, 3);
    assert.match(
      first.invalidRecords[0].reasons.join('; '),
      /userName: SelectUniqueValue: every candidate is taken.*"zoe@contoso.com", "zoe.lind@contoso.com", "zoe.lind.z9@contoso.com"/,
    );

    // The same file again: each record's own user holds its value (found by externalId), so it is chosen again.
    const rerun = await run(provisionUsers, { tenant: 'sandbox', source: { path: file, mapping: UNIQUE } });
    assert.deepEqual(
      [rerun.totals.created, rerun.totals.unchanged, rerun.totals.invalid],
      [0, 3, 1],
      JSON.stringify(rerun.totals),
    );
    assert.equal(byExternalId('Z2'), 'zoe.lind.z2@contoso.com');
  });

  it('a retried planning activity chooses the same values and stores the same users', async () => {
    sandbox.adminCreateUser(user('max@contoso.com'));
    const file = csv('emp_id,first,last', ['M1,Max,Ruiz', 'M2,Max,Ruiz', 'M3,Max,Ruiz']);
    const built = userSchemaModel(
      {
        Resources: [
          {
            id: 'User',
            name: 'User',
            endpoint: '/Users',
            schema: CORE,
            schemaExtensions: [{ schema: ENTERPRISE, required: false }],
          },
        ],
      },
      { Resources: [userSchema, enterpriseUserSchema] },
    );
    assert.ok(built.ok);
    const activities = createProvisioningActivities(createActivityDeps(new TenantRegistry([sandboxTenant(sandbox)])));
    const input = {
      tenant: 'sandbox',
      source: { kind: 'file' as const, path: file, mapping: UNIQUE },
      model: built.model,
      limits: { maxOperations: 2, maxPayloadSize: 1_048_576 },
      maxReported: 10,
    };
    const attempt = (n: number) =>
      new MockActivityEnvironment({
        workflowExecution: { workflowId: 'unique-retry', runId: 'run-1' },
        scheduledTimestampMs: Date.UTC(2027, 0, 4, 9),
        attempt: n,
      }).run((): Promise<ProvisionPlan> => activities.planProvisioning(input));
    const userNames = async (plan: ProvisionPlan) =>
      (await Promise.all(plan.chunks.map((c) => chunkEntries('sandbox', plan.file!, c)))).flat().map((e) => e.userName);
    // The first attempt meets 503s (its lookups are retried); the retry a provider that ignores filters (answers verified).
    sandbox.setSwitches({ failNext: 3, failStatus: 503, retryAfterSeconds: 0 });
    sandbox.clearRequestLog();
    const planned = await attempt(1);
    assert.equal(sandbox.switches.failNext, 0, 'the 503s were met');
    const lookups = sandbox.requestLog.filter((r) => r.method === 'GET' && r.path.endsWith('/Users'));
    assert.equal(lookups.filter((r) => r.status === 503).length, 3);
    // Record 1 asks about two candidates; records 2 and 3 about their last only: the first is known
    // taken (asked once per plan), the others were chosen by earlier records of the run.
    assert.equal(lookups.filter((r) => r.status === 200).length, 4, JSON.stringify(lookups));
    assert.deepEqual(await userNames(planned), [
      'max.ruiz@contoso.com',
      'max.ruiz.m2@contoso.com',
      'max.ruiz.m3@contoso.com',
    ]);
    sandbox.setSwitches({ filterMode: 'ignored' });
    const retried = await attempt(2).finally(() => sandbox.setSwitches({ filterMode: 'rfc', retryAfterSeconds: 1 }));
    assert.deepEqual(
      retried.chunks.map((c) => c.claim?.sha256),
      planned.chunks.map((c) => c.claim?.sha256),
      'the retry stores the same users',
    );
  });

  it('linkManagers: a retried pass resumes after the last link its heartbeat named, writing nothing twice', async () => {
    const chief = sandbox.adminCreateUser(user('chief@corp.example', { externalId: 'C1' }));
    const reports = ['ra', 'rb', 'rc'].map((n) =>
      sandbox.adminCreateUser(user(`${n}@corp.example`, { externalId: `X-${n}` })),
    );
    const lines = reports.map((r, index) =>
      JSON.stringify({
        index,
        userName: r.userName,
        key: 'C1',
        providerAttribute: 'externalId',
        externalId: r.externalId,
      }),
    );
    const links = await putClaim(dir, 'plans', Buffer.from(`${lines.join('\n')}\n`));
    const activities = createManagerLinkActivities(createActivityDeps(new TenantRegistry([sandboxTenant(sandbox)])));
    const input = { tenant: 'sandbox', endpoint: '/Users', patchSupported: true, links, maxReported: 10 };
    // The attempt before this one linked the first report and said so in its last heartbeat.
    const earlier = { linked: 1, unchanged: 0, warned: 0, warnings: [] };
    sandbox.clearRequestLog();
    const resumed = await new MockActivityEnvironment({
      workflowExecution: { workflowId: 'links-retry', runId: 'run-1' },
      attempt: 2,
      heartbeatDetails: { next: 1, result: earlier },
    }).run(() => activities.linkManagers(input));
    assert.deepEqual(resumed, { linked: 3, unchanged: 0, warned: 0, warnings: [] });
    const written = sandbox.requestLog.filter((r) => r.method === 'PATCH' || r.method === 'PUT').map((r) => r.path);
    assert.deepEqual(
      written.map((at) => at.slice(at.lastIndexOf('/') + 1)).sort(),
      [String(reports[1].id), String(reports[2].id)].sort(),
      'the first is not asked again',
    );
    const managerOf = (id: unknown) =>
      (sandbox.listUsers().find((u) => u.id === id)?.[ENTERPRISE] as { manager?: { value?: string } } | undefined)
        ?.manager?.value;
    assert.equal(managerOf(reports[0].id), undefined, 'what the earlier attempt did is not redone');
    assert.equal(managerOf(reports[1].id), chief.id);
    assert.equal(managerOf(reports[2].id), chief.id);
  });

  it('matchOn: provisionUsers finds a user renamed in HR by externalId and renames it instead of creating another', async () => {
    const renamed = sandbox.adminCreateUser(user('old.name@corp.example', { externalId: 'R1' }));
    const mapping = {
      attributes: { externalId: 'emp_id', userName: 'email', 'name.givenName': 'first', 'name.familyName': 'last' },
      matchOn: [
        ['externalId', 'externalId'],
        ['userName', 'userName'],
      ],
    };
    const file = csv('emp_id,email,first,last', ['R1,new.name@corp.example,New,Name']);
    const result = await run(provisionUsers, {
      tenant: 'sandbox',
      source: { path: file, mapping },
      mode: 'per-resource',
    });
    assert.deepEqual(
      [result.totals.created, result.totals.updated, result.totals.failed],
      [0, 1, 0],
      JSON.stringify(result),
    );
    assert.equal(sandbox.getUser(renamed.id as string)?.userName, 'new.name@corp.example');
    assert.equal(stored('old.name@corp.example'), undefined);
  });
});
