import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import { sandboxTenant } from '../src/cli/dev';
import { syncGroupsCommand } from '../src/cli/sync-groups';
import type { TenantConfig } from '../src/config/tenants';
import type { TemporalEnvironment } from '../src/temporal/server';
import { syncGroups, syncGroupsProgressQuery, type SyncGroupsInput, type SyncGroupsResult } from '../src/workflows';
import { Capture, cliContext } from './helpers/cli';
import { startScim2Server, type Scim2Server } from './helpers/scim2-server';
import { startTestTemporal, startTestWorker, type TestWorker } from './helpers/temporal';
import { CORE_USER as CORE, scimUser } from './helpers/users';
import { failedWith } from './helpers/workflow-failures';

// syncGroups end to end: a real Temporal dev server and worker against the CXone sandbox (whose
// Groups follow RFC 7644 PATCH, with a switch for a server that ignores filtered removals) and
// against the independent python scim2-server.

const SECRET = 'groups-test-secret';
const user = (userName: string) => scimUser(userName);

describe('syncGroups', () => {
  let temporal: TemporalEnvironment;
  let sandbox: Sandbox;
  let scim2: Scim2Server;
  let worker: TestWorker;
  let seq = 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sync-groups-'));

  before(async () => {
    temporal = await startTestTemporal();
    sandbox = await startSandbox({ port: 0, clientSecret: SECRET });
    scim2 = await startScim2Server();
    const scim2Tenant: TenantConfig = {
      tenantId: 'scim2',
      baseUrl: scim2.origin,
      scimPath: scim2.scimPath,
      auth: { type: 'bearer', token: scim2.bearerToken },
    };
    worker = await startTestWorker(temporal, [sandboxTenant(sandbox, 'groups'), scim2Tenant]);
  });

  after(async () => {
    await worker?.stop();
    await scim2?.stop();
    await sandbox?.close();
    await temporal?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const run = (input: Omit<SyncGroupsInput, 'tenant'>, tenant = 'groups'): Promise<SyncGroupsResult> =>
    temporal.testEnv.client.workflow.execute(syncGroups, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `sync-groups-${++seq}`,
      args: [{ tenant, ...input }],
    });

  it('creates groups from a groups file and a user CSV column, empties groups gone from the source, and names bad members', async () => {
    const ids = new Map<string, string>();
    for (const name of ['alice@corp.example', 'bob@corp.example', 'carol@corp.example'])
      ids.set(name, String(sandbox.adminCreateUser(user(name)).id));
    const scim = await sandboxScim(sandbox);
    await scim('POST', '/Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      displayName: 'Old',
      members: [{ value: ids.get('bob@corp.example') }],
    });
    const groupsFile = path.join(dir, 'groups.csv');
    fs.writeFileSync(
      groupsFile,
      'displayName,externalId,members\nSales,s-1,ALICE@corp.example;bob@corp.example\nSupport,,carol@corp.example;ghost@corp.example\n',
    );
    const usersCsv = path.join(dir, 'users.csv');
    fs.writeFileSync(usersCsv, 'userName,groups\nalice@corp.example,Agents|Sales\ncarol@corp.example,Agents\n');
    const input = { groupsFile: { path: groupsFile }, groupsColumn: { path: usersCsv, delimiter: '|' } };

    const dry = await run({ ...input, dryRun: true });
    assert.equal(dry.outcome, 'dry-run');
    assert.deepEqual(
      [dry.plan?.counts.create, dry.plan?.counts.empty, dry.plan?.adds, dry.plan?.removals.memberships],
      [3, 1, 5, 1],
    );
    assert.deepEqual(
      dry.plan?.problems.map((p) => `${p.group} (${p.origin}): ${p.reason}`),
      ['Support (groups.csv line 3): member "ghost@corp.example" matches no provider user (by userName)'],
    );
    assert.equal(sandbox.countGroups(), 1, 'a dry run writes nothing');

    sandbox.requestLog.length = 0;
    const done = await run({ ...input, deletionThreshold: { maxShare: 1 } });
    assert.equal(done.outcome, 'partial', 'the unresolved member makes the run partial');
    assert.deepEqual(
      [done.applied.created, done.applied.membersAdded, done.applied.membersRemoved, done.failed],
      [3, 5, 1, 0],
    );
    const listings = sandbox.requestLog.filter((r) => r.method === 'GET' && r.path.endsWith('/Groups'));
    assert.ok(
      listings.length > 0 && listings.every((r) => /attributes=id(%2C|,)displayName(%2C|,)externalId/.test(r.query)),
      'groups are listed without their members',
    );
    const writes = sandbox.requestLog
      .filter((r) => r.method !== 'GET' && r.path.includes('/Groups'))
      .map((r) => r.method)
      .sort();
    assert.deepEqual(
      writes,
      ['PATCH', 'POST', 'POST', 'POST'],
      'each create carries its members (one slice); one PATCH removes the member of Old',
    );
    assert.equal(
      sandbox.requestLog.filter((r) => r.method === 'GET' && /\/Groups\/[^/]+$/.test(r.path)).length,
      4,
      'one verification read per changed group',
    );
    const groups = (await scim('GET', '/Groups?attributes=displayName,members')) as {
      Resources: Array<{ displayName: string; members?: Array<{ value: string }> }>;
    };
    const members = Object.fromEntries(
      groups.Resources.map((g) => [g.displayName, (g.members ?? []).map((m) => m.value).sort()]),
    );
    assert.deepEqual(members, {
      Old: [],
      Sales: [ids.get('alice@corp.example'), ids.get('bob@corp.example')].sort(),
      Support: [ids.get('carol@corp.example')],
      Agents: [ids.get('alice@corp.example'), ids.get('carol@corp.example')].sort(),
    });

    const again = await run({ ...input, dryRun: true });
    assert.deepEqual(
      [again.plan?.counts.create, again.plan?.counts.update, again.plan?.adds, again.plan?.removals.memberships],
      [0, 0, 0, 0],
      'a second run finds nothing to change',
    );
  });

  it('reports a filtered member removal that the provider answered 200 to and did not apply', async () => {
    sandbox.setSwitches({ groupPatchNoop: true });
    try {
      const done = await run({
        groups: [{ displayName: 'Sales', members: ['alice@corp.example'] }],
        scope: { displayNamePrefix: 'Sales' },
        deletionThreshold: { maxShare: 1 },
      });
      assert.equal(done.outcome, 'partial');
      assert.equal(done.applied.membersRemoved, 0);
      assert.equal(done.failed, 1);
      assert.match(done.failures[0].detail, /accepted but did not apply 1 of 1 member removes/);
      assert.equal(done.failures[0].group, 'Sales');
    } finally {
      sandbox.setSwitches({ groupPatchNoop: false });
    }
    const fixed = await run({
      groups: [{ displayName: 'Sales', members: ['alice@corp.example'] }],
      scope: { displayNamePrefix: 'Sales' },
      deletionThreshold: { maxShare: 1 },
    });
    assert.deepEqual([fixed.outcome, fixed.applied.membersRemoved], ['succeeded', 1]);
  });

  it('quarantines the run when too many member changes fail, leaving the rest unsent', async () => {
    sandbox.setSwitches({ groupPatchNoop: true });
    try {
      sandbox.requestLog.length = 0;
      const done = await run({
        groups: [
          { displayName: 'Agents', members: ['alice@corp.example'] },
          { displayName: 'Support', members: [] },
        ],
        groupsPerActivity: 1,
        quarantine: { minWrites: 1, maxFailureRate: 0.5 },
        deletionThreshold: { maxShare: 1 },
      });
      assert.equal(done.outcome, 'quarantined');
      assert.equal(done.failed, 1);
      assert.equal(
        sandbox.requestLog.filter((r) => r.method === 'PATCH').length,
        1,
        'no removal is sent after the quarantine',
      );
    } finally {
      sandbox.setSwitches({ groupPatchNoop: false });
    }
  });

  it('holds removals above the threshold until approveDeletions names the plan shown', async () => {
    const handle = await temporal.testEnv.client.workflow.start(syncGroups, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `sync-groups-${++seq}`,
      args: [
        {
          tenant: 'groups',
          groups: [{ displayName: 'Agents', members: ['alice@corp.example'] }],
          scope: { displayNamePrefix: 'Agents' },
        },
      ],
    });
    let progress = await handle.query(syncGroupsProgressQuery);
    while (progress.phase !== 'awaitingApproval') {
      await new Promise((resolve) => setTimeout(resolve, 200));
      progress = await handle.query(syncGroupsProgressQuery);
    }
    await assert.rejects(
      handle.executeUpdate('approveDeletions', { args: [{ planHash: 'not-the-plan' }] }),
      (err: Error) => /is not the plan shown/.test(String((err.cause as Error | undefined)?.message)),
    );
    await handle.executeUpdate('approveDeletions', {
      args: [{ planHash: progress.awaitingApproval?.planHash, approvedBy: 'test' }],
    });
    const done = await handle.result();
    assert.deepEqual(
      [done.outcome, done.deletionDecision?.decision, done.applied.membersRemoved, done.threshold?.exceeded],
      ['succeeded', 'approved', 1, true],
    );
  });

  it('fails with InvalidSyncInput naming the field and value for a bad run option, before any request', async () => {
    sandbox.requestLog.length = 0;
    const groups = [{ displayName: 'Agents', members: ['alice@corp.example'] }];
    const bad: Array<[Omit<SyncGroupsInput, 'tenant'>, RegExp]> = [
      [{ groups, runDeadline: 'bogus' }, /^runDeadline must be a duration such as .*, got "bogus"$/],
      [{ groups, approvalTimeout: '-5 minutes' }, /^approvalTimeout must be a duration such as .*, got "-5 minutes"$/],
      [{ groups, deletionThreshold: { maxShare: 2 } }, /^deletionThreshold\.maxShare must be between 0 and 1, got 2$/],
      [{ groups, quarantine: { maxFailureRate: -1 } }, /^quarantine\.maxFailureRate must be between 0 and 1, got -1$/],
    ];
    for (const [input, message] of bad) await assert.rejects(run(input), failedWith('InvalidSyncInput', message));
    assert.deepEqual(sandbox.requestLog, [], 'nothing was sent to the provider');
  });

  it('replaces the whole group with PUT, and never PATCHes, where patch.supported is false', async () => {
    const scim = await sandboxScim(sandbox);
    const spc = (await scim('GET', '/ServiceProviderConfig')) as Record<string, unknown>;
    const { meta: _meta, ...desired } = spc;
    await scim('PUT', '/ServiceProviderConfig', { ...desired, patch: { supported: false } });
    try {
      sandbox.requestLog.length = 0;
      const done = await run({
        groups: [{ displayName: 'Support', members: ['bob@corp.example'] }],
        scope: { displayNamePrefix: 'Support' },
        deletionThreshold: { maxShare: 1 },
      });
      assert.deepEqual(
        [done.outcome, done.applied.membersAdded, done.applied.membersRemoved, done.failed],
        ['succeeded', 1, 1, 0],
        JSON.stringify(done.failures),
      );
      const writes = sandbox.requestLog
        .filter((r) => r.method !== 'GET' && r.path.includes('/Groups'))
        .map((r) => r.method);
      assert.deepEqual(writes, ['PUT', 'PUT']);
    } finally {
      await scim('PUT', '/ServiceProviderConfig', desired);
    }
  });

  it('cxone-scim sync-groups: a dry run prints each group action and names every bad record', async () => {
    const file = path.join(dir, 'groups.ndjson');
    fs.writeFileSync(
      file,
      [
        '{"displayName":"Leads","members":["alice@corp.example"]}',
        '{"displayName":"leads","members":[]}',
        'not json',
        '{"members":["bob@corp.example"]}',
        '',
      ].join('\n'),
    );
    const out = new Capture();
    const err = new Capture();
    const context = {
      ...cliContext(temporal.testEnv.client, worker.settings.taskQueue, { stdout: out, stderr: err }, {}),
      exitCode: -1,
    };
    await syncGroupsCommand(
      { groupsFile: file, tenant: 'groups', dryRun: true, prefix: 'Leads', output: 'text' },
      context,
    );
    const text = out.text;
    assert.equal(context.exitCode, 0, err.text);
    assert.match(text, /^outcome: dry-run/);
    assert.match(
      text,
      /error: group "Leads" \(groups\.ndjson line 1\) displayName "Leads" is given 2 times \(groups\.ndjson line 1, groups\.ndjson line 2\)/,
    );
    assert.match(text, /error: \(groups\.ndjson line 3\) not JSON/);
    assert.match(text, /error: \(groups\.ndjson line 4\) displayName: required/);
    assert.match(text, /0 create, 0 update/);
  });

  it('skips cleanly where /ResourceTypes lists no Group', async () => {
    sandbox.setSwitches({ hideGroups: true });
    try {
      const done = await run({ groups: [{ displayName: 'Sales', members: [] }] });
      assert.equal(done.outcome, 'unsupported');
      assert.match(done.note ?? '', /no Group resource type/);
    } finally {
      sandbox.setSwitches({ hideGroups: false });
    }
  });

  it('reads the current members only of the groups a plan can change, and plans the same from either view', async () => {
    const scim = await sandboxScim(sandbox);
    const listed = (await scim('GET', '/Users?attributes=userName&count=1000')) as {
      Resources: Array<{ id: string; userName: string }>;
    };
    const idOf = (userName: string) => listed.Resources.find((u) => u.userName === userName)?.id;
    const created = (await scim('POST', '/Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      displayName: 'Scale-A',
      members: [{ value: idOf('alice@corp.example') }, { value: idOf('bob@corp.example') }],
    })) as { id: string };
    const input = {
      groups: [{ displayName: 'Scale-A', members: ['alice@corp.example', 'carol@corp.example'] }],
      scope: { displayNamePrefix: 'Scale-' },
      dryRun: true,
    };
    sandbox.requestLog.length = 0;
    const byGroup = await run({ ...input, membershipView: 'groupMembers' });
    const reads = sandbox.requestLog.filter((r) => r.method === 'GET' && /\/Groups\/[^/]+$/.test(r.path));
    assert.deepEqual(
      reads.map((r) => r.path.replace(/.*\//, '')),
      [created.id],
      'the out-of-scope groups (Old, Sales, Support, Agents) are not read',
    );
    assert.ok(
      sandbox.requestLog.some((r) => r.path.endsWith('/Users') && /attributes=id(%2C|,)userName$/.test(r.query)),
      'users are listed with their id and member key only',
    );
    const byUser = await run({ ...input, membershipView: 'auto' });
    for (const plan of [byGroup.plan, byUser.plan])
      assert.deepEqual(
        [plan?.counts.update, plan?.adds, plan?.removals.memberships, plan?.managedGroups, plan?.managedMemberships],
        [1, 1, 1, 1, 2],
      );
    assert.deepEqual([byGroup.plan?.membershipView, byUser.plan?.membershipView], ['groupMembers', 'userGroups']);
    assert.equal(byGroup.plan?.planHash, byUser.plan?.planHash, 'both views give the same plan');
  });

  it('provisions and changes memberships on the independent scim2-server', async () => {
    const ids: string[] = [];
    for (const name of ['dan@corp.example', 'eve@corp.example', 'fay@corp.example']) {
      const answer = await fetch(`${scim2.origin}${scim2.scimPath}/Users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${scim2.bearerToken}`, 'content-type': 'application/scim+json' },
        body: JSON.stringify({ schemas: [CORE], userName: name }),
      });
      assert.equal(answer.status, 201);
      ids.push(String(((await answer.json()) as { id: string }).id));
    }
    const first = await run(
      { groups: [{ displayName: 'Ops', members: ['dan@corp.example', 'eve@corp.example'] }] },
      'scim2',
    );
    assert.deepEqual(
      [first.outcome, first.applied.created, first.applied.membersAdded, first.failed],
      ['succeeded', 1, 2, 0],
    );
    const second = await run(
      {
        groups: [{ displayName: 'Ops', members: ['eve@corp.example', 'FAY@corp.example'] }],
        deletionThreshold: { maxShare: 1 },
      },
      'scim2',
    );
    assert.deepEqual(
      [second.outcome, second.applied.membersAdded, second.applied.membersRemoved, second.failed],
      ['succeeded', 1, 1, 0],
      JSON.stringify(second.failures),
    );
    const check = await run(
      { groups: [{ displayName: 'Ops', members: ['eve@corp.example', 'fay@corp.example'] }], dryRun: true },
      'scim2',
    );
    assert.deepEqual([check.plan?.counts.unchanged, check.plan?.adds, check.plan?.removals.memberships], [1, 0, 0]);
  });
});

/** Calls the sandbox's SCIM API with a client-credentials token (the harness's own view of the provider). */
async function sandboxScim(sandbox: Sandbox) {
  const tokenAnswer = await fetch(sandbox.tokenUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${sandbox.clientId}:${sandbox.clientSecret}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
  });
  const { access_token: token } = (await tokenAnswer.json()) as { access_token: string };
  return async (method: string, target: string, body?: unknown): Promise<unknown> => {
    const answer = await fetch(`${sandbox.scimBaseUrl}${target}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    assert.ok(answer.ok, `${method} ${target}: ${answer.status} ${await answer.clone().text()}`);
    return answer.json();
  };
}
