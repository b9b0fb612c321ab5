import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import { sandboxTenant } from '../src/cli/dev';
import { runCli } from '../src/cli/program';
import type { TenantConfig } from '../src/config/tenants';
import { NICE_USER_EXTENSION } from '../src/scim/assignments';
import type { TemporalEnvironment } from '../src/temporal/server';
import {
  syncAssignments,
  syncAssignmentsProgressQuery,
  type SyncAssignmentsInput,
  type SyncAssignmentsResult,
} from '../src/workflows';
import { Capture, cliContext } from './helpers/cli';
import { sendJson, startScriptedServer } from './helpers/http';
import { historyText, startTestTemporal, startTestWorker, type TestWorker } from './helpers/temporal';
import { scimUser } from './helpers/users';
import { failedWith } from './helpers/workflow-failures';

// syncAssignments end to end: a real Temporal dev server and worker against the CXone sandbox's
// cxone profile (SCIM Users with the NICE extension, the teams and skills APIs), the full profile
// (no such APIs) and an empty loopback server.

const PEOPLE = ['alice', 'bob', 'carol', 'dave'] as const;
type Person = (typeof PEOPLE)[number];
const mail = (p: Person) => `${p}@corp.example`;

describe('syncAssignments', () => {
  let temporal: TemporalEnvironment;
  let cxone: Sandbox;
  let full: Sandbox;
  let empty: Awaited<ReturnType<typeof startScriptedServer>>;
  let odd: Awaited<ReturnType<typeof startScriptedServer>>;
  const oddRequests: string[] = [];
  let worker: TestWorker;
  let seq = 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sync-assignments-'));
  const agent = {} as Record<Person, number>;
  const userId = {} as Record<Person, string>;
  const teamId = (name: string) => String(cxone.tenant?.teams.find((t) => t.name === name)?.id);
  const skillId = (name: string) => Number(cxone.tenant?.skills.find((s) => s.skillName === name)?.skillId);

  before(async () => {
    temporal = await startTestTemporal();
    cxone = await startSandbox({ port: 0, profile: 'cxone', tenantId: 'cx-assign' });
    full = await startSandbox({ port: 0, clientSecret: 'assign-full-secret' });
    empty = await startScriptedServer((_req, _body, res) => sendJson(res, 404, { message: 'nothing here' }));
    // Answers every request 200 with a body of another shape than CXone's.
    odd = await startScriptedServer((req, _body, res) => {
      oddRequests.push(`${req.method} ${req.url}`);
      sendJson(res, 200, { items: [] });
    });
    const bearer = (tenantId: string, url: string): TenantConfig => ({
      tenantId,
      baseUrl: url,
      scimPath: '/scim/v2',
      auth: { type: 'bearer', token: `${tenantId}-server-token` },
    });
    worker = await startTestWorker(temporal, [
      sandboxTenant(cxone, 'cx'),
      sandboxTenant(full, 'full'),
      bearer('empty', empty.url),
      bearer('odd', odd.url),
    ]);
    for (const p of PEOPLE) {
      const created = cxone.adminCreateUser(scimUser(mail(p)));
      userId[p] = String(created.id);
      agent[p] = Number((created[NICE_USER_EXTENSION] as { agentId: number }).agentId);
    }
  });

  after(async () => {
    await worker?.stop();
    await temporal?.stop();
    await Promise.all([cxone?.close(), full?.close(), empty?.close(), odd?.close()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Current state: Sales alice 4, bob 2; Support bob 6, dave 3; Billing dave 9; bob in team Sales, carol in Support. */
  beforeEach(() => {
    const tenant = cxone.tenant;
    assert.ok(tenant, 'the cxone profile has a tenant directory');
    const holders: Record<string, Array<[Person, number]>> = {
      Sales: [
        ['alice', 4],
        ['bob', 2],
      ],
      Support: [
        ['bob', 6],
        ['dave', 3],
      ],
      Billing: [['dave', 9]],
    };
    for (const [skill, agents] of Object.entries(holders)) {
      const list = tenant.skillAgents(skillId(skill));
      list.splice(
        0,
        list.length,
        ...agents.map(([p, proficiency]) => ({ agentId: agent[p], proficiency, isActive: true })),
      );
    }
    const teams: Record<Person, string | undefined> = {
      alice: undefined,
      bob: 'Sales',
      carol: 'Support',
      dave: undefined,
    };
    for (const p of PEOPLE) {
      const team = teams[p];
      cxone.adminUpdateUser(userId[p], {
        [NICE_USER_EXTENSION]: team ? { team: { value: teamId(team) } } : {},
      });
    }
    cxone.setSwitches({ rateLimit: null, failNext: 0 });
  });

  const csv = (name: string, lines: string[]) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    return file;
  };
  const SOURCE = [
    'userName,skills,team',
    `${mail('alice')},Sales:5;Support:3,Sales`,
    `${mail('bob')},Sales:2,Support`,
    `${mail('carol')},,`,
    `${mail('dave')},Support:3,`,
  ];
  const run = (input: Omit<SyncAssignmentsInput, 'tenant'>, tenant = 'cx'): Promise<SyncAssignmentsResult> =>
    temporal.testEnv.client.workflow.execute(syncAssignments, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `sync-assignments-${++seq}`,
      args: [{ tenant, ...input }],
    });
  const skillsOf = (skill: string) =>
    Object.fromEntries(
      (cxone.tenant?.skillAgents(skillId(skill)) ?? []).map((a) => [
        PEOPLE.find((p) => agent[p] === a.agentId) ?? a.agentId,
        a.proficiency,
      ]),
    );
  const writes = () =>
    cxone.requestLog
      .filter((r) => r.method !== 'GET' && (r.path.startsWith('/skills') || r.path.startsWith('/scim/v2/Users')))
      .map((r) => `${r.method} ${r.path}`);

  it('cxone-scim sync-assignments --dry-run prints the plan and its hash, and writes nothing', async () => {
    const file = csv('dry.csv', SOURCE);
    cxone.requestLog.length = 0;
    const stdout = new Capture();
    const stderr = new Capture();
    const code = await runCli(
      ['sync-assignments', file, '--tenant', 'cx', '--dry-run', '--plan-out', path.join(dir, 'plan.csv')],
      cliContext(temporal.testEnv.client, worker.settings.taskQueue, { stdout, stderr }),
    );
    assert.equal(code, 0, stderr.text);
    const text = stdout.text;
    assert.match(text, /^Plan [0-9a-f]{64} \(tenant cx, workflow sync-assignments-cx-/);
    assert.match(text, /managed skills: Sales, Support \(4 assignments\)/);
    assert.match(text, /~ team changes\s+2\n/);
    assert.match(text, /\+ skill adds\s+1\n/);
    assert.match(text, /~ proficiency changes\s+1\n/);
    assert.match(text, /- skill removals\s+1\n/);
    assert.match(text, /= unchanged records\s+2\n/);
    assert.match(text, /set-proficiency\s+alice@corp\.example: Sales:5 \(was 4\)/);
    assert.match(text, /remove-skill\s+bob@corp\.example: Support \(was 6\)/);
    assert.match(text, /set-team\s+bob@corp\.example: team Support \(was Sales\)/);
    assert.match(text, /outcome: dry-run/);
    assert.deepEqual(writes(), [], 'a dry run writes nothing');
    assert.deepEqual(fs.readFileSync(path.join(dir, 'plan.csv'), 'utf8').split('\n').slice(0, 3), [
      'action,userName,origin,agentId,skillName,proficiency,from,teamName,fromTeam',
      'set-team,alice@corp.example,dry.csv line 2,,,,,Sales,',
      `set-proficiency,alice@corp.example,dry.csv line 2,${agent.alice},Sales,5,4,,`,
    ]);
    // The same source planned again gives the same hash.
    const again = await run({ source: { path: file }, dryRun: true });
    assert.equal(again.plan?.planHash, /^Plan ([0-9a-f]{64})/.exec(text)?.[1]);
  });

  it('applies only the differences (proficiency change, add, removal, team changes); a re-run is a no-op', async () => {
    const file = csv('apply.csv', SOURCE);
    cxone.requestLog.length = 0;
    const done = await run({ source: { path: file }, deletionThreshold: { maxShare: 1 } });
    assert.deepEqual(
      [done.outcome, done.failed, done.applied],
      ['succeeded', 0, { 'set-team': 2, 'add-skill': 1, 'set-proficiency': 1, 'remove-skill': 1 }],
      JSON.stringify(done.failures),
    );
    assert.deepEqual(skillsOf('Sales'), { alice: 5, bob: 2 });
    assert.deepEqual(skillsOf('Support'), { dave: 3, alice: 3 });
    assert.deepEqual(skillsOf('Billing'), { dave: 9 }, 'a skill the source never names is not touched');
    assert.deepEqual(
      writes().sort(),
      [
        `DELETE /skills/${skillId('Support')}/agents/${agent.bob}`,
        `PATCH /scim/v2/Users/${userId.alice}`,
        `PATCH /scim/v2/Users/${userId.bob}`,
        `POST /skills/${skillId('Sales')}/agents`,
        `POST /skills/${skillId('Support')}/agents`,
      ].sort(),
    );
    assert.deepEqual(Object.fromEntries(PEOPLE.map((p) => [p, teamOf(cxone, userId[p])])), {
      alice: teamId('Sales'),
      bob: teamId('Support'),
      carol: teamId('Support'),
      dave: undefined,
    });

    cxone.requestLog.length = 0;
    const rerun = await run({ source: { path: file }, deletionThreshold: { maxShare: 1 } });
    assert.equal(rerun.outcome, 'succeeded');
    assert.deepEqual(rerun.plan?.counts, {
      teamChanges: 0,
      skillAdds: 0,
      proficiencyChanges: 0,
      skillRemovals: 0,
      unchanged: 4,
      errors: 0,
    });
    assert.deepEqual(writes(), [], 'nothing is written the second time');
  });

  it('retries writes through 429s until they succeed, without a duplicate or a lost change', async () => {
    const file = csv('throttled.csv', SOURCE);
    cxone.requestLog.length = 0;
    cxone.setSwitches({ rateLimit: { mode: 'everyNth', n: 3 }, retryAfterSeconds: 0 });
    const done = await run({ source: { path: file }, deletionThreshold: { maxShare: 1 }, changesPerActivity: 2 });
    cxone.setSwitches({ rateLimit: null, retryAfterSeconds: 1 });
    assert.deepEqual([done.outcome, done.failed], ['succeeded', 0], JSON.stringify(done.failures));
    const throttledWrites = cxone.requestLog.filter(
      (r) => r.status === 429 && r.method !== 'GET' && !r.path.includes('/teams/'),
    );
    assert.ok(throttledWrites.length >= 2, `writes were throttled: ${throttledWrites.length}`);
    assert.deepEqual(done.applied, { 'set-team': 2, 'add-skill': 1, 'set-proficiency': 1, 'remove-skill': 1 });
    assert.deepEqual(skillsOf('Sales'), { alice: 5, bob: 2 });
    assert.deepEqual(skillsOf('Support'), { dave: 3, alice: 3 });
    assert.equal(teamOf(cxone, userId.bob), teamId('Support'));
  });

  it('holds removals above the threshold until approveDeletions names the plan shown (cxone-scim sync approve)', async () => {
    // Only Sales is managed and the source gives it to nobody: alice and bob lose it (2 of 2 assignments).
    const file = csv('removals.csv', ['userName,skills,team', `${mail('alice')},,`]);
    const handle = await temporal.testEnv.client.workflow.start(syncAssignments, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `sync-assignments-${++seq}`,
      args: [{ tenant: 'cx', source: { path: file }, skills: ['Sales'] }],
    });
    let progress = await handle.query(syncAssignmentsProgressQuery);
    while (progress.phase !== 'awaitingApproval') {
      await new Promise((resolve) => setTimeout(resolve, 200));
      progress = await handle.query(syncAssignmentsProgressQuery);
    }
    assert.equal(progress.awaitingApproval?.removals, 2);
    assert.deepEqual(skillsOf('Sales'), { alice: 4, bob: 2 }, 'nothing removed before the approval');
    const context = () => cliContext(temporal.testEnv.client, worker.settings.taskQueue, { stdout, stderr });
    const stdout = new Capture();
    const stderr = new Capture();
    assert.equal(
      await runCli(['sync', 'approve', handle.workflowId, '--plan-hash', 'f'.repeat(64)], context()),
      1,
      'a hash that is not the plan shown is refused',
    );
    assert.match(stderr.text, /is not the plan shown/);
    const hash = String(progress.awaitingApproval?.planHash);
    assert.equal(
      await runCli(['sync', 'approve', handle.workflowId, '--plan-hash', hash, '--by', 'ops'], context()),
      0,
    );
    const done = await handle.result();
    assert.deepEqual(
      [done.outcome, done.deletionDecision?.decision, done.deletionDecision?.by, done.applied['remove-skill']],
      ['succeeded', 'approved', 'ops', 2],
    );
    assert.equal(done.threshold?.exceeded, true);
    assert.deepEqual(skillsOf('Sales'), {});
    assert.deepEqual(skillsOf('Support'), { bob: 6, dave: 3 }, 'Support is not managed by this run');
    const history = await historyText(handle);
    assert.ok(!history.includes(cxone.accessKeySecret), 'no secret in the history');
  });

  it('an unknown skill or team, a bad cell and an unknown employee are errors of their records; the rest is applied', async () => {
    const file = csv('errors.csv', [
      'email,skillset,group',
      `${mail('alice')},Sales:5;Nonexistent:3,`,
      `${mail('bob')},Sales:3,Nowhere`,
      `${mail('carol')},Sales:30,`,
      `ghost@corp.example,Sales:1,`,
      `${mail('dave')},Sales:7,Support`,
    ]);
    const done = await run({
      source: { path: file, keyColumn: 'email', skillsColumn: 'skillset', teamColumn: 'group' },
      deletionThreshold: { maxShare: 1 },
    });
    assert.equal(done.outcome, 'partial');
    assert.deepEqual(
      done.plan?.problems.map((p) => `${p.origin}: ${p.reason}`),
      [
        'errors.csv line 2: skill "Nonexistent" does not exist in the tenant',
        'errors.csv line 3: team "Nowhere" does not exist',
        'errors.csv line 4: column skillset: "Sales:30": proficiency must be an integer 1..20, got "30"',
        'errors.csv line 5: no employee has userName "ghost@corp.example"',
      ],
    );
    assert.deepEqual(done.applied, { 'set-team': 1, 'add-skill': 1, 'set-proficiency': 0, 'remove-skill': 0 });
    assert.deepEqual(skillsOf('Sales'), { alice: 4, bob: 2, dave: 7 }, 'alice and bob (in error) keep what they had');
    assert.equal(teamOf(cxone, userId.dave), teamId('Support'));
  });

  it('ends unsupported, with a note, where the provider has no skills or teams API', async () => {
    const file = csv('unsupported.csv', SOURCE);
    const onFull = await run({ source: { path: file } }, 'full');
    assert.equal(onFull.outcome, 'unsupported');
    assert.match(onFull.note ?? '', /the provider has no skills API: GET \/skills answered 404/);
    const teamsOnly = await run({ source: { path: file }, manage: ['team'] }, 'empty');
    assert.equal(teamsOnly.outcome, 'unsupported');
    assert.match(teamsOnly.note ?? '', /no teams API: POST \/user-management\/v4\/teams\/search answered 404/);
    const stdout = new Capture();
    const code = await runCli(
      ['sync-assignments', file, '--tenant', 'empty'],
      cliContext(temporal.testEnv.client, worker.settings.taskQueue, { stdout }),
    );
    assert.equal(code, 0);
    assert.match(stdout.text, /^outcome: unsupported \(the provider has no skills API/m);
  });

  it('fails with InvalidSyncInput naming the field and value when a run option is not a duration, before any request', async () => {
    const file = csv('bad-duration.csv', SOURCE);
    cxone.requestLog.length = 0;
    for (const field of ['runDeadline', 'approvalTimeout'] as const)
      await assert.rejects(
        run({ source: { path: file }, [field]: 'bogus' }),
        failedWith('InvalidSyncInput', new RegExp(`^${field} must be a duration such as .*, got "bogus"$`)),
      );
    assert.deepEqual(cxone.requestLog, [], 'nothing was sent to the provider');
  });

  it("stops at once, without retrying, when the skills API answers another shape than CXone's", async () => {
    const file = csv('odd.csv', SOURCE);
    await assert.rejects(run({ source: { path: file } }, 'odd'), (err: Error) => {
      const cause = (err.cause ?? {}) as { cause?: { type?: string; message?: string } };
      assert.equal(cause.cause?.type, 'UnsupportedProvider');
      assert.match(
        String(cause.cause?.message),
        /answer of \/skills is not the expected shape: \$\.skills.*check the tenant's skills and teams API paths/,
      );
      return true;
    });
    assert.deepEqual(oddRequests, ['GET /skills?skip=0&top=100'], 'asked once, never retried');
  });
});

/** An employee's team id, as the sandbox stores it. */
function teamOf(sandbox: Sandbox, id: string): string | undefined {
  const user = sandbox.getUser(id) ?? {};
  return (user[NICE_USER_EXTENSION] as { team?: { value?: string } } | undefined)?.team?.value;
}
