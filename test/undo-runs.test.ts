import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SandboxClient, startSandbox, type Sandbox } from 'cxone-sandbox';
import { sandboxTenant } from '../src/cli/dev';
import { runCli } from '../src/cli/program';
import { NICE_USER_EXTENSION } from '../src/scim/assignments';
import type { TemporalEnvironment } from '../src/temporal/server';
import {
  provisionUsers,
  syncAssignments,
  syncGroups,
  undoRun,
  type ProvisionUsersInput,
  type SyncAssignmentsInput,
  type SyncGroupsInput,
  type UndoRunInput,
} from '../src/workflows';
import { Capture, cliContext } from './helpers/cli';
import { historyText, startTestTemporal, startTestWorker, type TestWorker } from './helpers/temporal';
import { scimUser as user } from './helpers/users';

// undoRun of provisionUsers (per resource and Bulk), syncGroups and syncAssignments runs, end to end
// against the CXone sandbox: each run journals its writes; the undo reverses exactly those, and
// skips (and names) whatever was changed again since.

describe('undoRun of provisionUsers, syncGroups and syncAssignments runs', () => {
  let temporal: TemporalEnvironment;
  let full: Sandbox;
  let cxone: Sandbox;
  let worker: TestWorker;
  let seq = 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'undo-runs-'));

  before(async () => {
    temporal = await startTestTemporal();
    full = await startSandbox({ port: 0, clientSecret: 'undo-runs-secret' });
    cxone = await startSandbox({ port: 0, profile: 'cxone', tenantId: 'cx-undo' });
    worker = await startTestWorker(temporal, [
      sandboxTenant(full, 'full'),
      // The same provider, declared without PATCH: every write and undo is GET + PUT of the whole resource.
      { ...sandboxTenant(full, 'full-put'), capabilities: { patch: false } },
      sandboxTenant(cxone, 'cx'),
    ]);
  });
  after(async () => {
    await worker?.stop();
    await Promise.all([full?.close(), cxone?.close()]);
    await temporal?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const start = <I, R>(workflow: (input: I) => Promise<R>, args: I, id: string) =>
    temporal.testEnv.client.workflow.start(workflow as (input: I) => Promise<R>, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `${id}-${++seq}`,
      args: [args],
    });
  const undo = async (input: Omit<UndoRunInput, 'tenant'>, tenant = 'full') =>
    (await start(undoRun, { tenant, deletionThreshold: { maxCount: 10_000 }, ...input }, 'undo')).result();
  const byName = (sandbox: Sandbox, userName: string) => sandbox.listUsers().find((u) => u.userName === userName);
  const snapshot = (sandbox: Sandbox) => JSON.stringify(sandbox.listUsers());

  for (const mode of ['per-resource', 'bulk'] as const) {
    it(`provisionUsers (${mode}): deactivates exactly the users it created, restores those it updated or reactivated, names one changed since`, async () => {
      const p = `${mode}-`;
      full.adminCreateUser(user(`${p}kept@corp.example`, { displayName: 'Kept before' }));
      const back = full.adminCreateUser(user(`${p}back@corp.example`, { displayName: 'Back' }));
      full.adminDeactivateUser(String(back.id));
      full.adminCreateUser(user(`${p}changed@corp.example`, { displayName: 'Changed before' }));
      full.adminCreateUser(user(`${p}untouched@corp.example`, { displayName: 'Untouched' }));
      const created = Array.from({ length: 12 }, (_, i) => `${p}new${i}@corp.example`);
      const input: ProvisionUsersInput = {
        tenant: 'full',
        mode,
        users: [
          ...created.map((name) => user(name, { displayName: 'New' })),
          user(`${p}kept@corp.example`, { displayName: 'Kept after' }),
          user(`${p}back@corp.example`, { displayName: 'Back', active: true }),
          user(`${p}changed@corp.example`, { displayName: 'Changed by the run' }),
        ],
        // Many small requests over 2 lanes: the result still holds at most one journal per lane.
        recordsPerSlice: 2,
        maxOperationsPerRequest: 2,
        chunksPerBatch: 2,
        maxChunksInFlight: 2,
      };
      const handle = await start(provisionUsers, input, `provision-${mode}`);
      const provisioned = await handle.result();
      assert.deepEqual(
        [provisioned.totals.created, provisioned.totals.updated, provisioned.totals.failed],
        [12, 3, 0],
        JSON.stringify(provisioned.failures),
      );
      assert.ok(
        (provisioned.journals?.length ?? 0) >= 1 && (provisioned.journals?.length ?? 0) <= 2,
        `a few journal heads, not one per request: ${provisioned.journals?.length}`,
      );
      assert.doesNotMatch(await historyText(handle), /Kept before/, 'previous values stay out of history');
      assert.equal(byName(full, `${p}back@corp.example`)?.active, true);

      full.adminUpdateUser(String(byName(full, `${p}changed@corp.example`)?.id), { displayName: 'Help desk' });

      const before = snapshot(full);
      const dry = await undo({ workflowId: handle.workflowId });
      assert.equal(dry.outcome, 'dry-run');
      assert.equal(dry.journalEntries, 15);
      assert.deepEqual(dry.counts, { reactivate: 0, restore: 2, 'deactivate-created': 0, skipped: 13 });
      const dryCreated = await undo({ workflowId: handle.workflowId, includeCreated: true });
      assert.deepEqual(dryCreated.counts, { reactivate: 0, restore: 2, 'deactivate-created': 12, skipped: 1 });
      assert.deepEqual(
        dryCreated.skipped.map((s) => [s.userName, s.reason]),
        [[`${p}changed@corp.example`, 'changed again since: displayName is now "Help desk"']],
      );
      assert.equal(snapshot(full), before, 'a dry run writes nothing');

      const applied = await undo({ workflowId: handle.workflowId, includeCreated: true, apply: true });
      assert.equal(applied.outcome, 'succeeded', JSON.stringify(applied.failures));
      assert.deepEqual(applied.applied, { reactivate: 0, restore: 2, 'deactivate-created': 12 });
      for (const name of created) assert.equal(byName(full, name)?.active, false, `${name} deactivated`);
      assert.equal(byName(full, `${p}kept@corp.example`)?.displayName, 'Kept before');
      assert.equal(byName(full, `${p}back@corp.example`)?.active, false, 'the reactivated user is inactive again');
      assert.equal(byName(full, `${p}changed@corp.example`)?.displayName, 'Help desk', 'changed since: left alone');
      assert.equal(byName(full, `${p}untouched@corp.example`)?.active ?? true, true, 'a user the run did not write');
    });
  }

  it('syncGroups: removes the members it added, re-adds those it removed, reverts a rename; names a membership changed since', async () => {
    const ids: Record<string, string> = {};
    for (const name of ['ann', 'ben', 'cal', 'dee'])
      ids[name] = String(full.adminCreateUser(user(`g-${name}@corp.example`)).id);
    const m = (name: string) => `g-${name}@corp.example`;
    const groups = async (input: Omit<SyncGroupsInput, 'tenant'>) =>
      start(syncGroups, { tenant: 'full', deletionThreshold: { maxShare: 1, maxCount: 1000 }, ...input }, 'groups');
    await (
      await groups({ groups: [{ displayName: 'G-Sales', externalId: 'gs', members: [m('ann'), m('ben')] }] })
    ).result();
    const handle = await groups({
      matchKey: 'externalId',
      groups: [
        { displayName: 'G-Sales-Renamed', externalId: 'gs', members: [m('ann'), m('cal')] },
        { displayName: 'G-Ops', externalId: 'go', members: [m('cal'), m('dee')] },
      ],
    });
    const synced = await handle.result();
    assert.equal(synced.outcome, 'succeeded', JSON.stringify(synced.failures));
    assert.ok((synced.journals?.length ?? 0) >= 1);

    const admin = new SandboxClient(full);
    const list = async () => {
      const got = await admin.scim('GET', '/Groups?attributes=displayName,members');
      const body = got.body as {
        Resources: Array<{ id: string; displayName: string; members?: Array<{ value: string }> }>;
      };
      return body.Resources;
    };
    const ops = (await list()).find((g) => g.displayName === 'G-Ops');
    assert.ok(ops);
    // Someone takes dee out of G-Ops after the run.
    const patched = await admin.scim('PATCH', `/Groups/${ops.id}`, {
      body: {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'remove', path: `members[value eq "${ids.dee}"]` }],
      },
    });
    assert.ok(patched.status < 300, patched.text);

    const dry = await undo({ workflowId: handle.workflowId });
    assert.equal(dry.outcome, 'dry-run');
    assert.deepEqual(dry.counts, {
      'remove-member': 2,
      'add-member': 1,
      'rename-group': 1,
      'delete-created-group': 0,
      skipped: 2,
    });
    assert.deepEqual(
      dry.skipped.map((s) => [s.subject, s.id, s.reason]).sort(),
      [
        ['G-Ops', ids.dee, `member ${ids.dee} added by the run was removed again since`],
        ['G-Ops', ops.id, 'created by the run: left in place (include created to delete it)'],
      ].sort(),
    );
    const stdout = new Capture();
    const code = await runCli(
      ['undo', handle.workflowId, '--tenant', 'full'],
      cliContext(temporal.testEnv.client, worker.settings.taskQueue, { stdout, stderr: new Capture() }),
    );
    assert.equal(code, 0);
    assert.match(stdout.text, /2 remove member, 1 add member, 1 rename group, 0 delete created group, 2 skipped/);
    assert.match(
      stdout.text,
      /skipped: G-Ops \[.+\] \(membership\): member .+ added by the run was removed again since/,
    );

    const applied = await undo({ workflowId: handle.workflowId, apply: true });
    assert.equal(applied.outcome, 'succeeded', JSON.stringify(applied.failures));
    const members = Object.fromEntries(
      (await list()).map((g) => [g.displayName, (g.members ?? []).map((x) => x.value).sort()]),
    );
    assert.deepEqual(members, { 'G-Sales': [ids.ann, ids.ben].sort(), 'G-Ops': [] });
  });

  it('syncGroups without PATCH: the undo PUTs the group as it is now, keeping a member someone added since', async () => {
    const ids: Record<string, string> = {};
    for (const name of ['pia', 'quinn', 'rui', 'sam'])
      ids[name] = String(full.adminCreateUser(user(`p-${name}@corp.example`)).id);
    const m = (name: string) => `p-${name}@corp.example`;
    const groups = async (input: Omit<SyncGroupsInput, 'tenant'>) =>
      start(syncGroups, { tenant: 'full-put', deletionThreshold: { maxShare: 1, maxCount: 1000 }, ...input }, 'groups');
    await (
      await groups({ groups: [{ displayName: 'P-Team', externalId: 'pt', members: [m('pia'), m('quinn')] }] })
    ).result();
    const handle = await groups({
      groups: [{ displayName: 'P-Team', externalId: 'pt', members: [m('pia'), m('rui')] }],
    });
    assert.equal((await handle.result()).outcome, 'succeeded');
    const admin = new SandboxClient(full);
    const team = async () => {
      const got = await admin.scim('GET', '/Groups?attributes=displayName,members');
      const body = got.body as {
        Resources: Array<{ id: string; displayName: string; members?: Array<{ value: string }> }>;
      };
      return body.Resources.find((g) => g.displayName === 'P-Team');
    };
    const before = await team();
    assert.ok(before);
    // After the run, someone adds sam.
    const added = await admin.scim('PATCH', `/Groups/${before.id}`, {
      body: {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'add', path: 'members', value: [{ value: ids.sam }] }],
      },
    });
    assert.ok(added.status < 300, added.text);
    full.clearRequestLog();
    const applied = await undo({ workflowId: handle.workflowId, apply: true }, 'full-put');
    assert.equal(applied.outcome, 'succeeded', JSON.stringify(applied.failures));
    assert.ok(
      full.requestLog.some((r) => r.method === 'PUT' && r.path.includes('/Groups/')),
      'the undo wrote by PUT',
    );
    assert.ok(!full.requestLog.some((r) => r.method === 'PATCH'), 'and never by PATCH');
    assert.deepEqual(
      ((await team())?.members ?? []).map((x) => x.value).sort(),
      [ids.pia, ids.quinn, ids.sam].sort(),
      'rui (added by the run) is out, quinn (removed by the run) is back, sam (added since) stays',
    );
  });

  it('syncAssignments: puts skills, proficiencies and teams back; names a skill changed since', async () => {
    const tenant = cxone.tenant;
    assert.ok(tenant);
    const skillId = (name: string) => Number(tenant.skills.find((s) => s.skillName === name)?.skillId);
    const teamId = (name: string) => String(tenant.teams.find((t) => t.name === name)?.id);
    const people = ['amy', 'bo', 'cy'].map((p) => {
      const created = cxone.adminCreateUser(user(`a-${p}@corp.example`));
      return {
        name: `a-${p}@corp.example`,
        id: String(created.id),
        agent: Number((created[NICE_USER_EXTENSION] as { agentId: number }).agentId),
      };
    });
    const [amy, bo, cy] = people;
    // Before: Sales amy 4, bo 2; Support bo 6; bo in team Sales.
    const set = (skill: string, agents: Array<[number, number]>) => {
      const list = tenant.skillAgents(skillId(skill));
      list.splice(
        0,
        list.length,
        ...agents.map(([agentId, proficiency]) => ({ agentId, proficiency, isActive: true })),
      );
    };
    set('Sales', [
      [amy.agent, 4],
      [bo.agent, 2],
    ]);
    set('Support', [[bo.agent, 6]]);
    cxone.adminUpdateUser(bo.id, { [NICE_USER_EXTENSION]: { team: { value: teamId('Sales') } } });
    const file = path.join(dir, 'assignments.csv');
    fs.writeFileSync(
      file,
      [
        'userName,skills,team',
        `${amy.name},Sales:5;Support:3,`,
        `${bo.name},Sales:2,Support`,
        `${cy.name},Sales:7,`,
      ].join('\n'),
    );
    const input: SyncAssignmentsInput = { tenant: 'cx', source: { path: file }, deletionThreshold: { maxShare: 1 } };
    const handle = await start(syncAssignments, input, 'assignments');
    const synced = await handle.result();
    assert.deepEqual(synced.applied, { 'set-team': 1, 'add-skill': 2, 'set-proficiency': 1, 'remove-skill': 1 });
    const holders = (skill: string) =>
      Object.fromEntries(
        tenant
          .skillAgents(skillId(skill))
          .map((a) => [people.find((p) => p.agent === a.agentId)?.name ?? a.agentId, a.proficiency]),
      );
    // Someone sets cy's Sales proficiency again after the run.
    tenant.skillAgents(skillId('Sales')).forEach((a) => {
      if (a.agentId === cy.agent) a.proficiency = 9;
    });

    const before = JSON.stringify([holders('Sales'), holders('Support'), cxone.listUsers()]);
    const dry = await undo({ workflowId: handle.workflowId }, 'cx');
    assert.equal(dry.outcome, 'dry-run');
    assert.deepEqual(dry.counts, { 'restore-team': 1, 'remove-skill': 1, 'restore-skill': 2, skipped: 1 });
    assert.deepEqual(
      dry.skipped.map((s) => [s.userName, s.operation, s.reason]),
      [[cy.name, 'add-skill', 'changed again since: proficiency is now 9']],
    );
    assert.equal(JSON.stringify([holders('Sales'), holders('Support'), cxone.listUsers()]), before, 'dry run');

    const applied = await undo({ workflowId: handle.workflowId, apply: true }, 'cx');
    assert.equal(applied.outcome, 'succeeded', JSON.stringify(applied.failures));
    assert.deepEqual(holders('Sales'), { [amy.name]: 4, [bo.name]: 2, [cy.name]: 9 });
    assert.deepEqual(holders('Support'), { [bo.name]: 6 });
    const team = (cxone.getUser(bo.id)?.[NICE_USER_EXTENSION] as { team?: { value?: string } } | undefined)?.team;
    assert.equal(team?.value, teamId('Sales'), "bo's team is Sales again");
  });
});
