import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { datedUserWorkflowId } from '../src/activities/dated';
import { runCli } from '../src/cli/program';
import { addDays, endOfLocalDay, startOfLocalDay } from '../src/scim/dated-actions';
import type { TemporalEnvironment } from '../src/temporal/server';
import { datedStateQuery } from '../src/workflows';
import { Capture, cliContext } from './helpers/cli';
import { startSandboxWorld, type SandboxWorld } from './helpers/sandbox-world';
import { type TestWorker } from './helpers/temporal';

// `cxone-scim pending` in-process against a real Temporal dev server and worker: an HR export's
// dates scheduled, listed (UTC and local, and why), filtered, moved, cancelled. Every date is weeks
// ahead, so no timer fires during the test.
describe('cxone-scim pending', () => {
  let temporal: TemporalEnvironment;
  let worker: TestWorker;
  let dir: string;
  let world: SandboxWorld;
  const today = new Date().toISOString().slice(0, 10);
  const leaverDay = addDays(today, 30);
  const joinerDay = addDays(today, 60);

  before(async () => {
    world = await startSandboxWorld('pending-cli-');
    ({ temporal, worker, dir } = world);
  });

  after(() => world?.stop());

  async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const stdout = new Capture();
    const stderr = new Capture();
    const code = await runCli(args, cliContext(temporal.testEnv.client, worker.settings.taskQueue, { stdout, stderr }));
    return { code, stdout: stdout.text, stderr: stderr.text };
  }
  const exportFile = (name: string, rows: string[]) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, ['userName,start_date,last_day,tz', ...rows].join('\n'));
    return file;
  };
  const schedule = (file: string) =>
    cli([
      'pending',
      'schedule',
      file,
      '--start-column',
      'start_date',
      '--last-day-column',
      'last_day',
      '--time-zone-column',
      'tz',
      '--default-time-zone',
      'Europe/Paris',
      '--lead-time',
      '7 days',
    ]);
  /** Visibility is eventually consistent: list until `done` says the listing is what the test wants. */
  async function listUntil(args: string[], done: (stdout: string) => boolean) {
    let last = { code: -1, stdout: '', stderr: '' };
    for (let i = 0; i < 50; i++) {
      last = await cli(['pending', ...args]);
      if (done(last.stdout)) return last;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.fail(`pending ${args.join(' ')} never showed what was expected:\n${last.stdout}${last.stderr}`);
  }

  it('schedules an export’s dated users, reports bad records by line and column, and lists UTC, local time and why', async () => {
    const file = exportFile('hr-1.csv', [
      `leaver@corp.example,,${leaverDay},America/New_York`,
      `joiner@corp.example,${joinerDay},,`,
      'steady@corp.example,,,',
      'broken@corp.example,2027-02-30,,Mars/Base',
    ]);
    const scheduled = await schedule(file);
    assert.equal(scheduled.code, 2, 'partial: one record could not be planned');
    assert.match(scheduled.stderr, /line 5, column "start_date": "2027-02-30" is not a day of the calendar/);
    assert.match(scheduled.stderr, /line 5, column "tz": "Mars\/Base" is not an IANA time zone/);
    assert.match(
      scheduled.stdout,
      /4 records: 1 schedule-deactivation, 1 defer, 1 create-active; 1 not planned \(problems above\); 2 users scheduled/,
    );

    const listed = await listUntil(['--tenant', 'sandbox'], (out) => /3 scheduled/.test(out));
    const deactivateAt = new Date(endOfLocalDay(leaverDay, 'America/New_York')).toISOString();
    const activateAt = new Date(startOfLocalDay(joinerDay, 'Europe/Paris')).toISOString();
    const lines = listed.stdout.split('\n').filter((l) => /^\d{4}-/.test(l));
    assert.equal(lines.length, 3, listed.stdout);
    assert.match(
      lines[0],
      new RegExp(
        `^${deactivateAt}  ${addDays(leaverDay, 1)}T00:00:00-0[45]:00 America/New_York  deactivate  pending  sandbox/leaver@corp.example/deactivate`,
      ),
    );
    assert.match(lines[1], /create \(inactive\) {2}pending {2}sandbox\/joiner@corp\.example\/create$/);
    assert.match(
      lines[2],
      new RegExp(`^${activateAt}  ${joinerDay}T00:00:00\\+0[12]:00 Europe/Paris  activate  pending`),
    );
    assert.match(
      listed.stdout,
      new RegExp(
        `why: end of last day ${leaverDay} \\(hr-1\\.csv line 2\\)|why: end of last day ${leaverDay} \\(line 2\\)`,
      ),
    );
    assert.match(listed.stdout, new RegExp(`why: 7 days before start date ${joinerDay}`));

    const before = await cli(['pending', '--tenant', 'sandbox', '--before', addDays(leaverDay, 3), '--output', 'json']);
    const rows = JSON.parse(before.stdout) as Array<{ id: string; at: string }>;
    assert.deepEqual(
      rows.map((r) => r.id),
      ['sandbox/leaver@corp.example/deactivate'],
    );
    assert.equal(rows[0].at, deactivateAt);
  });

  it('moves an action when a later export moves the date, and removes it when the date is gone', async () => {
    const moved = addDays(leaverDay, 5);
    const file = exportFile('hr-2.csv', [`leaver@corp.example,,${moved},America/New_York`, 'joiner@corp.example,,,']);
    const scheduled = await schedule(file);
    assert.equal(scheduled.code, 0, scheduled.stderr);
    assert.match(scheduled.stdout, /1 users scheduled, 1 cleared/);
    const listed = await listUntil(['--tenant', 'sandbox'], (out) => /1 scheduled/.test(out));
    assert.match(
      listed.stdout,
      new RegExp(`moved from ${new Date(endOfLocalDay(leaverDay, 'America/New_York')).toISOString()}`),
    );
    const view = await temporal.testEnv.client.workflow
      .getHandle(datedUserWorkflowId('sandbox', 'leaver@corp.example'))
      .query(datedStateQuery);
    assert.deepEqual(
      view.live.map((e) => [e.kind, e.at]),
      [['deactivate', new Date(endOfLocalDay(moved, 'America/New_York')).toISOString()]],
    );
  });

  it('cancels one action by its id, keeps it cancelled for the same date, and refuses what is not pending', async () => {
    const id = 'sandbox/leaver@corp.example/deactivate';
    const cancelled = await cli(['pending', 'cancel', id, '--reason', 'legal hold', '--by', 'ops']);
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.match(cancelled.stdout, /^cancelled sandbox\/leaver@corp\.example\/deactivate \(was due /);
    const again = await cli(['pending', 'cancel', id]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /cancelled already/);
    const unknown = await cli(['pending', 'cancel', 'sandbox/nobody@corp.example/activate']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /nothing is scheduled for nobody@corp\.example/);
    assert.match((await cli(['pending', 'cancel', 'nonsense'])).stderr, /not an action id/);
    const listed = await cli(['pending', '--tenant', 'sandbox']);
    assert.match(listed.stdout, /deactivate {2}cancelled {2}sandbox\/leaver@corp\.example\/deactivate/);
    assert.match(listed.stdout, /cancelled by ops \(legal hold\)/);
  });
});
