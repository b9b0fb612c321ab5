import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import { sandboxTenant } from '../src/cli/dev';
import { runCli } from '../src/cli/program';
import type { TemporalEnvironment } from '../src/temporal/server';
import { syncProgressQuery } from '../src/workflows';
import { Capture, cliContext } from './helpers/cli';
import { startTestTemporal, startTestWorker, type TestWorker } from './helpers/temporal';
import { scimUser as user } from './helpers/users';

// The reconciliation CLI in-process (runCli) against a real Temporal dev server, worker and the
// CXone sandbox: plans printed, plans written, approvals refused and accepted, schedules.

describe('cxone-scim sync and schedule', () => {
  let temporal: TemporalEnvironment;
  let sandbox: Sandbox;
  let worker: TestWorker;
  let dir: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sync-cli-'));
    [temporal, sandbox] = await Promise.all([startTestTemporal(), startSandbox({ port: 0 })]);
    worker = await startTestWorker(temporal, [sandboxTenant(sandbox)]);
    for (const u of [
      user('alice@corp.example'),
      user('bob@corp.example', { title: 'Agent' }),
      user('dave@corp.example'),
      user('admin@corp.example'),
    ])
      sandbox.adminCreateUser(u);
    fs.writeFileSync(
      path.join(dir, 'hr.json'),
      JSON.stringify([
        user('alice@corp.example'),
        user('bob@corp.example', { title: 'Supervisor' }),
        user('erin@corp.example'),
      ]),
    );
  });

  after(async () => {
    await worker?.stop();
    await sandbox?.close();
    await temporal?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function cli(args: string[], stdout = new Capture()): Promise<{ code: number; output: string }> {
    const stderr = new Capture();
    const code = await runCli(args, cliContext(temporal.testEnv.client, worker.settings.taskQueue, { stdout, stderr }));
    return { code, output: `${stdout.text}\n${stderr.text}` };
  }
  const byName = (userName: string) => sandbox.listUsers().find((u) => String(u.userName).toLowerCase() === userName);
  const hr = () => path.join(dir, 'hr.json');

  it('prints the plan of a dry run, writes the whole plan, changes nothing, exits 0', async () => {
    const planOut = path.join(dir, 'out', 'plan.csv');
    const { code, output } = await cli([
      'sync',
      hr(),
      '--orphans',
      'leavers',
      '--dry-run',
      '--protect',
      'admin@corp.example',
      '--plan-out',
      planOut,
    ]);
    assert.equal(code, 0, output);
    assert.match(output, /Plan [0-9a-f]{64}/);
    assert.match(output, /\+ create\s+1\n/);
    assert.match(output, /~ update\s+1\n/);
    assert.match(output, /- deactivate\s+1\n/);
    assert.match(output, /! protected\s+1\n/);
    assert.match(output, /~ update bob@corp\.example.*: title/);
    assert.match(output, /Outcome: dry-run/);
    const csv = fs.readFileSync(planOut, 'utf8').trim().split('\n');
    assert.equal(csv[0], 'action,record,userName,id,operations');
    assert.ok(
      csv.some((line) => line.startsWith('create,3,erin@corp.example,')),
      csv.join('\n'),
    );
    assert.ok(
      csv.some((line) => line.startsWith('deactivate,,dave@corp.example,')),
      csv.join('\n'),
    );
    assert.equal(byName('erin@corp.example'), undefined, 'a dry run creates nobody');
    assert.equal(byName('bob@corp.example')?.title, 'Agent');
  });

  it('a dry run on a tenant never adopted holds its orphans back and says why (no --orphans)', async () => {
    const { code, output } = await cli(['sync', hr(), '--dry-run', '--protect', 'admin@corp.example']);
    assert.equal(code, 0, output);
    assert.match(output, /- deactivate\s+0\n/);
    assert.match(output, /Note: 1 removals held back: this tenant was never adopted/);
  });

  it('traces one user synced on demand, request by request', async () => {
    const { code, output } = await cli(['sync', hr(), '--user', 'bob@corp.example']);
    assert.equal(code, 0, output);
    assert.match(output, /User trace:\n\s+1\. source record 2/);
    assert.match(output, /3\. match: provider user \S+ \(bob@corp\.example, active true\)/);
    assert.match(output, /4\. action: update \(title\)/);
    assert.match(output, /(PATCH|PUT) \/\S*Users\/\S+ → 200/);
    assert.equal(byName('bob@corp.example')?.title, 'Supervisor');
    assert.equal(byName('dave@corp.example')?.active, true, 'only the named user is synced');
  });

  it('waits for approval of removals: a wrong plan hash is refused (exit 1), the right one lets the run finish', async () => {
    const workflowId = 'sync-cli-approval';
    const stdout = new Capture();
    const running = cli(
      ['sync', hr(), '--orphans', 'leavers', '--protect', 'admin@corp.example', '--workflow-id', workflowId],
      stdout,
    );
    let planHash: string | undefined;
    for (let i = 0; i < 600 && !planHash; i++) {
      // The command prints what to type once the run waits.
      planHash = /cxone-scim sync approve sync-cli-approval --plan-hash ([0-9a-f]{64})/.exec(stdout.text)?.[1];
      if (!planHash) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(planHash, `the run awaits approval (1 of 3 managed users leaves: above 20 %)\n${stdout.text}`);
    const progress = await temporal.testEnv.client.workflow.getHandle(workflowId).query(syncProgressQuery);
    assert.equal(progress.awaitingApproval?.planHash, planHash, 'the hash printed is the one the run waits for');

    const wrong = await cli(['sync', 'approve', workflowId, '--plan-hash', 'f'.repeat(64)]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.output, /refused: .*is not the plan shown/);
    assert.equal(byName('dave@corp.example')?.active, true, 'a refused approval removes nobody');

    const right = await cli(['sync', 'approve', workflowId, '--plan-hash', planHash, '--by', 'ops@corp.example']);
    assert.equal(right.code, 0, right.output);
    assert.match(right.output, /approved plan [0-9a-f]{64} by ops@corp\.example/);
    const { code, output } = await running;
    assert.equal(code, 0, output);
    assert.match(output, /cxone-scim sync reject sync-cli-approval --reason/);
    assert.match(output, /Removals: approved by ops@corp\.example/);
    assert.match(output, /Outcome: succeeded/);
    assert.equal(byName('dave@corp.example')?.active, false);
    assert.equal(byName('erin@corp.example')?.active, true);
    assert.equal(byName('admin@corp.example')?.active, true, 'a protected account is never touched');
    const watched = await cli(['watch', workflowId]);
    assert.equal(watched.code, 0, watched.output);
    assert.match(watched.output, /Removals: approved by ops@corp\.example[\s\S]*Outcome: succeeded/);
  });

  it('manages a schedule of syncUsers: create, describe, trigger (a no-op once in sync), delete', async () => {
    fs.writeFileSync(
      hr(),
      JSON.stringify([
        user('alice@corp.example'),
        user('bob@corp.example', { title: 'Supervisor' }),
        user('erin@corp.example'),
        user('frank@corp.example'),
      ]),
    );
    const created = await cli([
      'schedule',
      'create',
      hr(),
      '--every',
      '1 day',
      '--protect',
      'admin@corp.example',
      '--orphans',
      'leavers',
      '--catchup-window',
      '5 minutes',
    ]);
    assert.equal(created.code, 0, created.output);
    assert.match(created.output, /created schedule sync-sandbox/);
    const described = await cli(['schedule', 'describe', 'sync-sandbox']);
    assert.equal(described.code, 0, described.output);
    assert.match(described.output, /start syncUsers/);
    assert.match(described.output, /overlap SKIP/);
    assert.match(described.output, /"protectedAccounts":\["admin@corp\.example"\]/);
    assert.match(described.output, /"orphans":"leavers"/, 'the schedule keeps --orphans');

    const first = await cli(['schedule', 'trigger', 'sync-sandbox', '--wait']);
    assert.equal(first.code, 0, first.output);
    assert.match(first.output, /Applied: 1 create;/);
    assert.equal(byName('frank@corp.example')?.active, true);
    const second = await cli(['schedule', 'trigger', 'sync-sandbox', '--wait']);
    assert.equal(second.code, 0, second.output);
    assert.match(second.output, /\+ create\s+0\n/);
    assert.match(second.output, /Applied: nothing; 0 failed/);

    const listed = await cli(['schedule', 'list']);
    assert.match(listed.output, /sync-sandbox\tsyncUsers\tactive/);
    const deleted = await cli(['schedule', 'delete', 'sync-sandbox']);
    assert.equal(deleted.code, 0, deleted.output);
    const gone = await cli(['schedule', 'describe', 'sync-sandbox']);
    assert.equal(gone.code, 1);
    assert.match(gone.output, /no schedule with id "sync-sandbox"/);
  });
});
