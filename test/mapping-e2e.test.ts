// A mapping with expressions and per-attribute options (docs/mappings.md), end to end on a real
// Temporal dev server and worker against the sandbox: provisionUsers creates and updates from a CSV
// file, then syncUsers re-syncs a changed file. A create-only attribute is written once and never
// touched again; a default on create is not forced on an existing user; an emptied flow-null
// attribute is removed at the provider (and planned as a removal).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Sandbox } from 'cxone-sandbox';
import type { TemporalEnvironment } from '../src/temporal/server';
import { provisionUsers, syncUsers, type ProvisionUsersInput, type SyncUsersInput } from '../src/workflows';
import { startSandboxWorld, type SandboxWorld } from './helpers/sandbox-world';
import { type TestWorker } from './helpers/temporal';
import { scimUser as user } from './helpers/users';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

const MAPPING = {
  attributes: {
    userName: { source: 'email', transform: ['trim', 'lowercase'] },
    'name.givenName': 'first',
    'name.familyName': 'last',
    displayName: { expression: 'Join(" ", [first], [last])' },
    'emails[type eq "work"].value': { expression: 'ToLower([email])' },
    'emails[type eq "work"].primary': { constant: true },
    title: { source: 'title', apply: 'create' },
    [`${ENTERPRISE}:department`]: { source: 'dept', defaultOnCreate: 'Onboarding' },
    [`${ENTERPRISE}:costCenter`]: { source: 'cost_center', flowNull: true },
  },
};

describe('a mapping with create-only, default-on-create and flow-null attributes, provisioned then re-synced', () => {
  let temporal: TemporalEnvironment;
  let sandbox: Sandbox;
  let worker: TestWorker;
  let dir: string;
  let world: SandboxWorld;

  before(async () => {
    world = await startSandboxWorld('mapping-e2e-');
    ({ temporal, sandbox, worker, dir } = world);
    // At the provider already: a senior agent whose title and department were set there.
    sandbox.adminCreateUser(
      user('old@corp.example', {
        title: 'Senior agent',
        [ENTERPRISE]: { department: 'Support', costCenter: 'CC9' },
      }),
    );
  });

  after(() => world?.stop());

  const stored = (userName: string) =>
    sandbox.listUsers().find((u) => String(u.userName).toLowerCase() === userName) as
      | (Record<string, unknown> & { [ENTERPRISE]?: Record<string, unknown> })
      | undefined;
  const csv = (rows: string[]) => {
    const file = path.join(dir, `${randomUUID()}.csv`);
    fs.writeFileSync(file, `${['email,first,last,title,dept,cost_center', ...rows].join('\n')}\n`);
    return file;
  };
  const run = <T>(workflow: typeof provisionUsers | typeof syncUsers, input: T) =>
    temporal.testEnv.client.workflow.execute(workflow as typeof syncUsers, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `mapping-e2e-${randomUUID()}`,
      args: [input as unknown as SyncUsersInput],
    });

  it('writes create-only attributes once and keeps them through updates and re-syncs', async () => {
    const first = csv([
      'Ana@Corp.example,Ana,Lima,Agent,,CC1', // new: title written, department by default
      'old@corp.example,Old,Timer,Agent,,', // existing: title and department kept, costCenter removed
    ]);
    const provisionInput: ProvisionUsersInput = { tenant: 'sandbox', source: { path: first, mapping: MAPPING } };
    const provisioned = (await run(provisionUsers, provisionInput)) as unknown as Awaited<
      ReturnType<typeof provisionUsers>
    >;
    assert.equal(provisioned.totals.created, 1, JSON.stringify(provisioned.totals));
    assert.equal(provisioned.totals.updated, 1, JSON.stringify(provisioned.totals));
    assert.equal(provisioned.totals.failed, 0);

    const ana = stored('ana@corp.example');
    assert.equal(ana?.displayName, 'Ana Lima');
    assert.equal(ana?.title, 'Agent');
    assert.deepEqual(ana?.[ENTERPRISE], { department: 'Onboarding', costCenter: 'CC1' });
    const old = stored('old@corp.example');
    assert.equal(old?.displayName, 'Old Timer', 'the update wrote the mapped attributes');
    assert.equal(old?.title, 'Senior agent', 'a create-only attribute is never updated');
    assert.deepEqual(old?.[ENTERPRISE], { department: 'Support' }, 'no default on update; costCenter cleared');

    // HR changes Ana's title, name and department, and empties her cost center.
    const second = csv(['ana@corp.example,Ana,Souza,Team lead,Sales,', 'old@corp.example,Old,Timer,Agent,,']);
    const syncInput: SyncUsersInput = { tenant: 'sandbox', source: { path: second, mapping: MAPPING } };
    const dry = await run(syncUsers, { ...syncInput, dryRun: true });
    assert.equal(dry.outcome, 'dry-run');
    assert.deepEqual(dry.plan.counts.update, 1);
    const update = dry.plan.sample.find((s) => s.action === 'update');
    assert.deepEqual(update?.userName, 'ana@corp.example');
    assert.deepEqual(
      [...(update?.changedAttributes ?? [])].sort(),
      ['displayName', `${ENTERPRISE}:costCenter`, `${ENTERPRISE}:department`, 'name'].sort(),
      'title (create-only) is not planned; the emptied cost center is',
    );
    assert.equal(stored('ana@corp.example')?.displayName, 'Ana Lima', 'a dry run writes nothing');

    const synced = await run(syncUsers, syncInput);
    assert.equal(synced.outcome, 'succeeded', JSON.stringify(synced));
    const after = stored('ana@corp.example');
    assert.equal(after?.displayName, 'Ana Souza');
    assert.equal(after?.title, 'Agent', 'the re-sync leaves the create-only title as it was created');
    assert.deepEqual(after?.[ENTERPRISE], { department: 'Sales' });
    assert.equal(stored('old@corp.example')?.title, 'Senior agent');

    const again = await run(syncUsers, syncInput);
    assert.equal(again.plan.counts.update, 0, 'nothing left to change');
    assert.equal(again.plan.counts.create, 0);
  });
});
