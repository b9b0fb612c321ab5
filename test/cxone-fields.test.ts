// CXone's fields end to end, on a real Temporal server against the sandbox's cxone profile:
// primary role, team and login authenticator given by name in a CSV and resolved to ids through
// CXone's APIs once per run, time zone sent as the tenant's /Schemas spells it, user type; a re-run
// changes nothing; an unknown name fails its record only; a tenant that has not enabled userType
// refuses the record (and the mapping) before anything is sent; a rename of a Pending employee
// fails its record with CXone's reason, at once.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { PENDING_RENAME_DETAIL, startSandbox, type Sandbox } from 'cxone-sandbox';
import { sandboxTenant } from '../src/cli/dev';
import type { TemporalEnvironment } from '../src/temporal/server';
import { provisionUsers, syncUsers, type ProvisionUsersInput, type SyncUsersInput } from '../src/workflows';
import { startTestTemporal, startTestWorker, type TestWorker } from './helpers/temporal';

const NICE = 'urn:ietf:params:scim:schemas:extension:nice:2.0:User';
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const EXAMPLES = path.resolve(__dirname, '../../examples');
const MAPPING = JSON.parse(fs.readFileSync(path.join(EXAMPLES, 'cxone-mapping.json'), 'utf8')) as {
  attributes: Record<string, unknown>;
};
type Attrs = Record<string, unknown>;

describe('CXone fields by name: role, team, login authenticator, time zone, user type', () => {
  let temporal: TemporalEnvironment;
  let cxone: Sandbox;
  let noType: Sandbox;
  let synced: Sandbox;
  let worker: TestWorker;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cxone-fields-'));

  const provision = (input: ProvisionUsersInput) =>
    temporal.testEnv.client.workflow.execute(provisionUsers, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `cxone-fields-${randomUUID()}`,
      args: [input],
    });
  const sync = (input: SyncUsersInput) =>
    temporal.testEnv.client.workflow.execute(syncUsers, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `cxone-fields-sync-${randomUUID()}`,
      args: [input],
    });
  const csv = (name: string, rows: string[]) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, `${['email,first_name,last_name,enabled,role,team,sso,tz,type', ...rows].join('\n')}\n`);
    return file;
  };
  const idOf = (list: readonly { id: string; name: string }[] | undefined, name: string) =>
    list?.find((x) => x.name === name)?.id;
  const stored = (sandbox: Sandbox, userName: string) =>
    sandbox.listUsers().find((u) => String(u.userName).toLowerCase() === userName);
  const directoryReads = (sandbox: Sandbox) =>
    sandbox.requestLog
      .filter((e) => e.path.startsWith('/user-management/') || e.path.startsWith('/authentication/v1/'))
      .map((e) => `${e.method} ${e.path}`);

  before(async () => {
    temporal = await startTestTemporal();
    cxone = await startSandbox({ port: 0, profile: 'cxone', tenantId: 'cx-fields' });
    noType = await startSandbox({
      port: 0,
      profile: 'cxone',
      tenantId: 'cx-no-type',
      cxoneTenant: { userAttributes: ['name.middleName', 'phoneNumbers', 'timeZone'] },
    });
    synced = await startSandbox({ port: 0, profile: 'cxone', tenantId: 'cx-sync' });
    worker = await startTestWorker(temporal, [
      sandboxTenant(cxone, 'cx'),
      sandboxTenant(noType, 'cx-no-type'),
      sandboxTenant(synced, 'cx-sync'),
    ]);
  });

  after(async () => {
    await worker?.stop();
    await temporal?.stop();
    await Promise.all([cxone?.close(), noType?.close(), synced?.close()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates employees with the ids of the names given (each list read once), and a re-run changes nothing', async () => {
    const source = { path: path.join(EXAMPLES, 'cxone-users.csv'), mapping: MAPPING };
    cxone.clearRequestLog();
    const first = await provision({ tenant: 'cx', source });
    assert.deepEqual(first.invalidRecords, []);
    assert.deepEqual(first.failures, []);
    assert.equal(first.totals.created, 3);
    // One read of each list for the whole run, whatever the number of records naming one.
    assert.deepEqual(directoryReads(cxone).sort(), [
      'GET /authentication/v1/login-authenticators',
      'GET /user-management/v1/roles',
      'POST /user-management/v4/teams/search',
    ]);
    const tenant = cxone.tenant;
    const expected: Array<[string, string, string, string, string, string]> = [
      ['ada@cx.example', 'Supervisor', 'Sales', 'Okta SSO', 'Europe/London', 'Employee'],
      ['bob@cx.example', 'Agent', 'Support', 'Default', 'America/New_York', 'Contractor'],
      ['cyd@cx.example', 'Agent', 'Default Team', 'Okta SSO', 'Asia/Tokyo', 'Employee'],
    ];
    for (const [userName, role, team, sso, timeZone, userType] of expected) {
      const user = stored(cxone, userName) as Attrs;
      assert.ok(user, userName);
      const nice = user[NICE] as Attrs;
      assert.deepEqual(user.roles, [{ value: idOf(tenant?.roles, role), display: role, primary: true }], userName);
      assert.deepEqual(nice.team, { value: idOf(tenant?.teams, team), display: team }, userName);
      assert.deepEqual(nice.loginAuthenticator, { value: idOf(tenant?.loginAuthenticators, sso), display: sso });
      assert.equal(nice.status, 'Pending');
      assert.equal(user.timeZone, timeZone);
      assert.equal(user.userType, userType);
    }
    const posts = cxone.requestLog.filter((e) => e.method === 'POST' && e.path === '/scim/v2/Users');
    assert.equal(posts.length, 3);

    cxone.clearRequestLog();
    const again = await provision({ tenant: 'cx', source });
    assert.deepEqual(
      [again.totals.created, again.totals.updated, again.totals.unchanged, again.totals.failed],
      [0, 0, 3, 0],
      JSON.stringify(again.failures),
    );
    assert.ok(
      cxone.requestLog.every((e) => !['PATCH', 'PUT', 'POST'].includes(e.method) || !e.path.startsWith('/scim/')),
      'a re-run writes nothing',
    );
  });

  it('an unknown team name fails that record, naming the attribute and the name; the others are created', async () => {
    const file = csv('unknown-team.csv', [
      'dee@cx.example,Dee,One,true,Agent,Sales,Default,Europe/Paris,Employee',
      'eve@cx.example,Eve,Two,true,Agent,Nowhere,Default,Europe/Paris,Employee',
      'fay@cx.example,Fay,Three,true,Administrator,,,,',
    ]);
    cxone.clearRequestLog();
    const result = await provision({ tenant: 'cx', source: { path: file, mapping: MAPPING } });
    assert.equal(result.totals.created, 2, JSON.stringify(result));
    assert.equal(result.totals.invalid, 1);
    assert.deepEqual(result.invalidRecords, [
      {
        record: 2,
        line: 3,
        userName: 'eve@cx.example',
        reasons: [`${NICE}:team.display: the tenant has no team named "Nowhere"`],
      },
    ]);
    assert.equal(stored(cxone, 'eve@cx.example'), undefined, 'nothing sent for the record');
    assert.equal(cxone.requestLog.filter((e) => e.method === 'POST' && e.path === '/scim/v2/Users').length, 2);
    assert.ok(!cxone.requestLog.some((e) => decodeURIComponent(e.query).includes('eve@')), 'not even looked up');
    const fay = stored(cxone, 'fay@cx.example') as Attrs;
    assert.deepEqual(fay.roles, [
      { value: idOf(cxone.tenant?.roles, 'Administrator'), display: 'Administrator', primary: true },
    ]);
  });

  it('a tenant without userType refuses the record before sending, and refuses a mapping that writes it', async () => {
    const inline = (userName: string, extra: Attrs) => ({
      schemas: [CORE],
      userName,
      name: { givenName: 'No', familyName: 'Type' },
      emails: [{ value: userName, type: 'work', primary: true }],
      active: true,
      ...extra,
    });
    noType.clearRequestLog();
    const result = await provision({
      tenant: 'cx-no-type',
      users: [
        inline('typed@cx.example', { userType: 'Employee' }),
        inline('plain@cx.example', { timezone: 'Europe/Rome' }),
      ],
    });
    assert.equal(result.totals.created, 1);
    assert.deepEqual(result.invalidRecords, [
      { record: 1, userName: 'typed@cx.example', reasons: ['userType: is not an attribute of the schema'] },
    ]);
    assert.equal(stored(noType, 'typed@cx.example'), undefined);
    assert.equal(stored(noType, 'plain@cx.example')?.timeZone, 'Europe/Rome');
    assert.equal(noType.requestLog.filter((e) => e.method === 'POST' && e.path === '/scim/v2/Users').length, 1);
    assert.ok(!noType.requestLog.some((e) => decodeURIComponent(e.query).includes('typed@')), 'not even looked up');

    noType.clearRequestLog();
    await assert.rejects(
      provision({
        tenant: 'cx-no-type',
        source: { path: path.join(EXAMPLES, 'cxone-users.csv'), mapping: MAPPING },
      }),
      (err: unknown) => {
        // The planning activity's failure, as the run reports it.
        assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ActivityFailure, String(err));
        const cause = err.cause.cause;
        assert.ok(cause instanceof ApplicationFailure, String(cause));
        assert.equal(cause.type, 'InvalidMapping');
        assert.equal(
          cause.message,
          "the mapping writes attributes this tenant does not accept: userType: userType is not declared by the provider's User schema (/Schemas)",
        );
        return true;
      },
    );
    assert.ok(
      noType.requestLog.every((e) => e.method === 'GET' || e.path.includes('token')),
      'nothing was written',
    );
  });

  it("a rename of a Pending employee fails that record with CXone's reason, at once", async () => {
    const employee = (userName: string) => ({
      schemas: [CORE],
      externalId: 'E-77',
      userName,
      name: { givenName: 'Pen', familyName: 'Ding' },
      emails: [{ value: userName, type: 'work', primary: true }],
      active: true,
    });
    const first = await provision({ tenant: 'cx', users: [employee('pen@cx.example')] });
    assert.equal(first.totals.created, 1);
    cxone.clearRequestLog();
    const renamed = await provision({ tenant: 'cx', users: [employee('pen.ding@cx.example')] });
    assert.equal(renamed.totals.failed, 1);
    assert.equal(renamed.failures.length, 1);
    assert.match(renamed.failures[0].detail, new RegExp(PENDING_RENAME_DETAIL));
    assert.equal(renamed.failures[0].status, 400);
    const writes = cxone.requestLog.filter((e) => e.method === 'PATCH' || e.method === 'PUT');
    assert.equal(writes.length, 1, 'tried once, never retried');
    assert.ok(stored(cxone, 'pen@cx.example'), 'the employee keeps its userName');
  });

  it('sync: role and team by name create employees with their ids, a second sync plans no update, an unknown role fails its record only', async () => {
    const file = csv('sync.csv', [
      'gus@cx.example,Gus,One,true,Supervisor,Sales,Okta SSO,Europe/Paris,Employee',
      'hal@cx.example,Hal,Two,true,Agent,Support,Default,America/New_York,Contractor',
      'ivy@cx.example,Ivy,Three,true,Astronaut,Sales,Default,Europe/Paris,Employee',
    ]);
    const input: SyncUsersInput = { tenant: 'cx-sync', source: { path: file, mapping: MAPPING } };
    const first = await sync(input);
    assert.deepEqual([first.applied.create, first.failed], [2, 0], JSON.stringify(first.failures));
    assert.equal(first.plan.invalid, 1);
    assert.deepEqual(first.plan.invalidRecords, [
      { record: 3, userName: 'ivy@cx.example', reason: 'roles[0].display: the tenant has no role named "Astronaut"' },
    ]);
    assert.equal(stored(synced, 'ivy@cx.example'), undefined, 'nothing sent for the record');
    const tenant = synced.tenant;
    for (const [userName, role, team] of [
      ['gus@cx.example', 'Supervisor', 'Sales'],
      ['hal@cx.example', 'Agent', 'Support'],
    ]) {
      const user = stored(synced, userName) as Attrs;
      assert.ok(user, userName);
      assert.deepEqual(user.roles, [{ value: idOf(tenant?.roles, role), display: role, primary: true }], userName);
      assert.deepEqual((user[NICE] as Attrs).team, { value: idOf(tenant?.teams, team), display: team }, userName);
    }

    synced.clearRequestLog();
    const again = await sync(input);
    assert.deepEqual(
      [again.plan.counts.create, again.plan.counts.update, again.plan.counts.unchanged, again.plan.invalid],
      [0, 0, 2, 1],
      JSON.stringify(again.plan.sample),
    );
    assert.ok(
      synced.requestLog.every((e) => !['PATCH', 'PUT', 'POST'].includes(e.method) || !e.path.startsWith('/scim/')),
      'a second sync writes nothing',
    );
  });
});
