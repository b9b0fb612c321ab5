import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import { datedUserWorkflowId } from '../src/activities/dated';
import { sandboxTenant } from '../src/cli/dev';
import type { PendingRow } from '../src/cli/pending';
import { runCli } from '../src/cli/program';
import { addDays, endOfLocalDay, startOfLocalDay } from '../src/scim/dated-actions';
import type { TemporalEnvironment } from '../src/temporal/server';
import { syncUsers, type SyncUsersInput } from '../src/workflows';
import { Capture, cliContext } from './helpers/cli';
import { startTestTemporal, startTestWorker, type TestWorker } from './helpers/temporal';
import { scimUser as user } from './helpers/users';

// syncUsers with a mapping that names date columns, on a real Temporal dev server and worker
// against the sandbox: what the sync does today with each dated record, and the plans it sends to
// each dated user's datedUserActions workflow (listed by `cxone-scim pending`). Every future date
// is days or weeks ahead, so no timer fires during the test.

const MAPPING = {
  attributes: {
    userName: 'userName',
    'name.givenName': { constant: 'G' },
    'name.familyName': { constant: 'F' },
    'emails[type eq "work"].value': 'userName',
    'emails[type eq "work"].primary': { constant: true },
  },
  dates: {
    start: 'start_date',
    lastDay: 'last_day',
    timeZone: 'tz',
    defaultTimeZone: 'Europe/Paris',
    leadTime: '7 days',
  },
};

describe('syncUsers with future-dated joiners and leavers', () => {
  let temporal: TemporalEnvironment;
  let sandbox: Sandbox;
  let worker: TestWorker;
  let dir: string;
  const today = new Date().toISOString().slice(0, 10);
  const at = (name: string) => `${name}@corp.example`;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dated-sync-'));
    [temporal, sandbox] = await Promise.all([startTestTemporal(), startSandbox({ port: 0 })]);
    worker = await startTestWorker(temporal, [sandboxTenant(sandbox)]);
    // Already at the provider: a rehire (or transfer) with a new start date, a leaver, one whose last day is over.
    for (const name of ['rehire', 'leaver', 'gone']) sandbox.adminCreateUser(user(at(name)));
  });

  after(async () => {
    await worker?.stop();
    await sandbox?.close();
    await temporal?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const stored = (name: string) => sandbox.listUsers().find((u) => u.userName === at(name));
  const sync = (input: Omit<SyncUsersInput, 'tenant'>) =>
    temporal.testEnv.client.workflow.execute(syncUsers, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `dated-sync-${randomUUID()}`,
      args: [{ tenant: 'sandbox', ...input }],
    });
  const workflowOf = (name: string) =>
    temporal.testEnv.client.workflow.getHandle(datedUserWorkflowId('sandbox', at(name)));
  async function pendingUntil(done: (rows: PendingRow[]) => boolean): Promise<PendingRow[]> {
    let rows: PendingRow[] = [];
    for (let i = 0; i < 50; i++) {
      const stdout = new Capture();
      const code = await runCli(
        ['pending', '--tenant', 'sandbox', '--output', 'json'],
        cliContext(temporal.testEnv.client, worker.settings.taskQueue, { stdout, stderr: new Capture() }),
      );
      assert.equal(code, 0);
      rows = JSON.parse(stdout.text) as PendingRow[];
      if (done(rows)) return rows;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.fail(`cxone-scim pending never listed what was expected:\n${JSON.stringify(rows, null, 1)}`);
  }

  it('creates only what is due (inactive before the start), deactivates a leaver at the end of the last day, not now', async () => {
    const rows = [
      `${at('joiner')},${addDays(today, 60)},,America/New_York`, // defer: created by its schedule
      `${at('soon')},${addDays(today, 3)},,`, // within the lead time: created inactive now
      `${at('rehire')},${addDays(today, 20)},,`, // at the provider, active: stays active
      `${at('leaver')},,${addDays(today, 30)},Asia/Tokyo`, // active until the end of the last day
      `${at('gone')},,${addDays(today, -10)},`, // last day over: deactivated now
      `${at('bad')},2027-02-30,,`,
    ];
    const file = path.join(dir, 'hr.csv');
    fs.writeFileSync(file, `${['userName,start_date,last_day,tz', ...rows].join('\n')}\n`);
    const source = { path: file, mapping: MAPPING };

    const dry = await sync({ source, dryRun: true });
    assert.equal(dry.outcome, 'dry-run');
    await assert.rejects(workflowOf('leaver').describe(), WorkflowNotFoundError, 'a dry run schedules nothing');

    // A deactivation now is a removal (1 of the tenant's 3 users: above the default share, so allowed here).
    const result = await sync({ source, deletionThreshold: { maxShare: 1 } });
    assert.equal(result.outcome, 'succeeded', JSON.stringify(result));
    assert.deepEqual(result.plan.dated?.counts, {
      defer: 2,
      'create-inactive-and-schedule': 1,
      'schedule-deactivation': 1,
      'deactivate-now': 1,
    });
    assert.equal(result.plan.dated?.users, 4, 'joiner, soon, rehire and leaver have actions ahead');
    assert.deepEqual(result.plan.invalidRecords, [
      {
        record: 6,
        userName: at('bad'),
        reason: 'line 7, column "start_date": "2027-02-30" is not a day of the calendar',
      },
    ]);
    assert.deepEqual(
      [result.applied.create, result.applied.update, result.applied.deactivate, result.failed],
      [1, 0, 1, 0],
      JSON.stringify(result.failures),
    );
    assert.equal(stored('joiner'), undefined, 'not created before its lead time');
    assert.equal(stored('soon')?.active, false, 'created inactive until day one');
    assert.equal(stored('rehire')?.active, true, 'a future start date locks nobody out');
    assert.equal(stored('leaver')?.active, true, 'not deactivated before the end of the last day');
    assert.equal(stored('gone')?.active, false, 'the last day is over');

    const pending = await pendingUntil((r) => new Set(r.map((row) => row.workflowId)).size === 4);
    const row = (name: string, kind: string) =>
      pending.find((r) => r.workflowId === datedUserWorkflowId('sandbox', at(name)) && r.kind === kind);
    const leaverEnd = endOfLocalDay(addDays(today, 30), 'Asia/Tokyo');
    assert.equal(row('leaver', 'deactivate')?.at, new Date(leaverEnd).toISOString());
    assert.equal(row('leaver', 'deactivate')?.timeZone, 'Asia/Tokyo');
    assert.match(row('leaver', 'deactivate')?.reason ?? '', /^end of last day \d{4}-\d{2}-\d{2} \(line 5\)$/);
    const joinerStart = startOfLocalDay(addDays(today, 60), 'America/New_York');
    assert.equal(row('joiner', 'activate')?.at, new Date(joinerStart).toISOString());
    assert.equal(
      row('joiner', 'create (inactive)')?.at,
      new Date(startOfLocalDay(addDays(today, 53), 'America/New_York')).toISOString(),
    );
    assert.ok(row('soon', 'activate'), 'the joiner created inactive is activated at the start');
    assert.equal(row('soon', 'create (inactive)'), undefined);
    assert.ok(row('rehire', 'activate'));
    assert.equal(
      pending.filter((r) => r.workflowId === datedUserWorkflowId('sandbox', at('gone'))).length,
      0,
      'nothing ahead for a leaver whose last day is over',
    );
  });

  it('a later export without the leaver’s date removes the pending deactivation', async () => {
    const file = path.join(dir, 'hr-2.csv');
    const rows = [
      `${at('joiner')},${addDays(today, 60)},,America/New_York`,
      `${at('soon')},${addDays(today, 3)},,`,
      `${at('rehire')},${addDays(today, 20)},,`,
      `${at('leaver')},,,`,
      `${at('gone')},,${addDays(today, -10)},`,
    ];
    fs.writeFileSync(file, `${['userName,start_date,last_day,tz', ...rows].join('\n')}\n`);
    const result = await sync({ source: { path: file, mapping: MAPPING } });
    assert.equal(result.outcome, 'succeeded', JSON.stringify(result));
    assert.equal(result.applied.create + result.applied.update + result.applied.deactivate, 0, 'nothing to write');
    const pending = await pendingUntil(
      (r) => !r.some((row) => row.workflowId === datedUserWorkflowId('sandbox', at('leaver'))),
    );
    assert.ok(pending.some((r) => r.workflowId === datedUserWorkflowId('sandbox', at('joiner'))));
    assert.equal(stored('leaver')?.active, true);
  });
});
