// The product end to end against the sandbox's `cxone` profile, the surface NICE publishes (no
// ServiceProviderConfig, ResourceTypes, Groups or Bulk; DELETE 405; employees created Pending),
// on a real Temporal server and worker, through the `cxone-scim` commands: `tenants check`,
// `configure --verify`, `provision` and its re-run, `sync` with a leaver and their return,
// `sync-assignments` with a proficiency change, a Pending employee's rename (refused by CXone:
// that record fails at once with CXone's reason, the others go on), webhook registration on the
// discovered API base — and no secret of any auth strategy in any workflow history.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { NICE_USER_SCHEMA, PENDING_RENAME_DETAIL, startSandbox, type Sandbox } from 'cxone-sandbox';
import { sandboxTenant } from '../src/cli/dev';
import { runCli } from '../src/cli/program';
import type { TenantConfig } from '../src/config/tenants';
import { authSecrets, type AuthType } from '../src/http';
import type { TemporalEnvironment } from '../src/temporal/server';
import { provisionUsers, syncUsers } from '../src/workflows';
import { registerWebhooks } from '../src/workflows/register-webhooks';
import { Capture, cliContext } from './helpers/cli';
import { historyText, startTestTemporal, startTestWorker, type TestWorker } from './helpers/temporal';
import { scimUser, type Attrs } from './helpers/users';

const run = promisify(execFile);
const CLI = path.resolve(__dirname, '../src/cli/main.js');
const STAFF = ['ana', 'ben', 'cai', 'dee', 'eli', 'fay'] as const;
type Person = (typeof STAFF)[number];
const mail = (p: string) => `${p}@cx.example`;
/** The HR system's record of a person: employee number as externalId, as the HR mapping gives it. */
const record = (p: Person, userName = mail(p)): Attrs =>
  scimUser(userName, {
    externalId: `E-${p}`,
    name: { givenName: p, familyName: 'Cx' },
    emails: [{ value: userName, type: 'work', primary: true }],
  });
/**
 * The history's payloads as text: `historyText` leaves them base64 (protobufjs' toJSON encodes
 * bytes before any replacer sees them), where a secret would go unnoticed.
 */
const withPayloadsDecoded = (history: string) =>
  history.replace(/"data":"([A-Za-z0-9+/]+={0,2})"/g, (_all, b64: string) =>
    JSON.stringify(Buffer.from(b64, 'base64').toString('utf8')),
  );
const nice = (user: Attrs | undefined) => (user?.[NICE_USER_SCHEMA] ?? {}) as { status?: string; agentId?: number };

describe('the cxone profile (the surface NICE publishes) end to end on a real Temporal server', () => {
  let temporal: TemporalEnvironment;
  let cxone: Sandbox;
  let full: Sandbox;
  let worker: TestWorker;
  let tenants: TenantConfig[];
  let dir: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cxone-e2e-'));
    cxone = await startSandbox({
      port: 0,
      profile: 'cxone',
      tenantId: 'cx-tenant-7',
      accessKeySecret: 'cx-access-key-secret-1',
      staticToken: 'cx-static-token-1',
      webhookSecret: 'cx-webhook-secret-1',
    });
    // CXone offers no client-credentials grant: that strategy is shown against the full profile.
    full = await startSandbox({ port: 0, clientSecret: 'full-client-secret-1' });
    tenants = [
      sandboxTenant(cxone, 'cx'),
      sandboxTenant(cxone, 'cx-legacy', 'cxone-access-key-legacy'),
      sandboxTenant(cxone, 'cx-bearer', 'bearer'),
      sandboxTenant(full, 'full-client-credentials', 'client-credentials'),
    ];
    temporal = await startTestTemporal();
    worker = await startTestWorker(temporal, tenants);
  });

  after(async () => {
    await worker?.stop();
    await temporal?.stop();
    await Promise.all([cxone?.close(), full?.close()]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** `cxone-scim …` in-process, against the test's Temporal server and worker. */
  async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const stdout = new Capture();
    const stderr = new Capture();
    const code = await runCli(
      args,
      cliContext(temporal.testEnv.client, worker.settings.taskQueue, { stdout, stderr }, { CXONE_TENANT_ID: 'cx' }),
    );
    return { code, stdout: stdout.text, stderr: stderr.text };
  }

  const file = (name: string, content: unknown) => {
    const target = path.join(dir, name);
    fs.writeFileSync(target, typeof content === 'string' ? content : JSON.stringify(content));
    return target;
  };
  const employee = (userName: string) =>
    cxone.listUsers().find((u) => String(u.userName).toLowerCase() === userName.toLowerCase());
  const requestsFrom = (start: number) => cxone.requestLog.slice(start);

  const accessKeyEnv = (): NodeJS.ProcessEnv => ({
    ...process.env,
    CXONE_AUTH: 'cxone-access-key',
    CXONE_ISSUER: cxone.issuer,
    CXONE_CLIENT_ID: cxone.clientId,
    CXONE_CLIENT_SECRET: cxone.clientSecret,
    CXONE_ACCESS_KEY_ID: cxone.accessKeyId,
    CXONE_ACCESS_KEY_SECRET: cxone.accessKeySecret,
  });

  it('`tenants check` exits 0: auth, discovered API base, token, the documents NICE does not publish, every capability with its provenance', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'tenants', 'check'], { env: accessKeyEnv() });
    assert.match(stdout, /tenant default: OK/);
    assert.match(stdout, /auth {10}cxone-access-key \(issuer http:\/\/127\.0\.0\.1:\d+, client sandbox-client\)/);
    assert.match(stdout, new RegExp(`API base {6}${cxone.url.replace(/\./g, '\\.')} \\(discovered\\)`));
    assert.match(stdout, /token {9}expires \d{4}-\d\d-\d\dT.* \(in \d+ s\)/);
    assert.match(stdout, /capabilities {2}bulk: no, etag: no, patch: yes, filter: yes, paging: yes\n/);
    assert.match(
      stdout,
      /documents {5}ServiceProviderConfig not published \(HTTP 404\); ResourceTypes not published \(HTTP 404\); Schemas published/,
    );
    assert.match(stdout, /capability {4}bulk {16}no {9}default\n/);
    assert.match(stdout, /capability {4}patch {15}yes {8}default; a refused PATCH/);
    assert.match(stdout, /capability {4}filterOr {12}yes {8}default\n/);
    assert.ok(!stdout.includes(cxone.accessKeySecret) && !stdout.includes(cxone.clientSecret));

    // The tenant's own configuration (no groups on CXone, a page size), and what the check learns:
    // this tenant refuses `or` in filters.
    cxone.setSwitches({ filterMode: 'eqOnly' });
    try {
      const configured = await run(process.execPath, [CLI, 'tenants', 'check'], {
        env: {
          ...accessKeyEnv(),
          CXONE_SCIM_ENDPOINTS: '{"groups": null}',
          CXONE_SCIM_CAPABILITIES: '{"maxResults": 200}',
        },
      });
      const out = configured.stdout;
      assert.match(out, /tenant default: OK/);
      assert.match(out, /endpoints {5}users \/Users \(default\), groups none \(configured\)/);
      assert.match(out, /capabilities {2}bulk: no, etag: no, patch: yes, filter: yes \(max 200\), paging: yes\n/);
      assert.match(out, /capability {4}maxResults {10}200 {8}configured/);
      assert.match(out, /capability {4}filterOr {12}no {9}learnt/);
      assert.match(out, /refused {7}filterOr: /);
    } finally {
      cxone.setSwitches({ filterMode: 'rfc' });
    }

    const wrong = await run(process.execPath, [CLI, 'tenants', 'check', '--tenant', 'default'], {
      env: { ...accessKeyEnv(), CXONE_ACCESS_KEY_SECRET: 'not-the-key-1' },
    }).then(
      () => assert.fail('a wrong key must exit non-zero'),
      (err: { code: number; stdout: string }) => err,
    );
    assert.equal(wrong.code, 1);
    assert.match(wrong.stdout, /tenant default: FAILED/);
    assert.match(
      wrong.stdout,
      /HTTP 400 invalid_grant.*Fix: check accessKeyId \(CXONE_ACCESS_KEY_ID\) and accessKeySecret \(CXONE_ACCESS_KEY_SECRET\)/,
    );
    assert.ok(!wrong.stdout.includes('not-the-key-1'));
  });

  it('`configure --verify` (and apply) exit 4: the provider publishes no ServiceProviderConfig; nothing compared, nothing written', async () => {
    const desired = file(
      'spc.json',
      fs.readFileSync(path.resolve(__dirname, '../../examples/service-provider-config.json'), 'utf8'),
    );
    const start = cxone.requestLog.length;
    const verify = await cli(['configure', desired, '--verify', '--tenant', 'cx']);
    assert.equal(verify.code, 4, verify.stdout + verify.stderr);
    assert.match(
      verify.stdout,
      /the provider publishes no ServiceProviderConfig \(HTTP 404\): nothing compared, nothing written/,
    );
    assert.ok(!/drift:/.test(verify.stdout), verify.stdout);
    const apply = await cli(['configure', desired, '--tenant', 'cx']);
    assert.equal(apply.code, 4, apply.stdout + apply.stderr);
    assert.match(apply.stdout, /publishes no ServiceProviderConfig/);
    const asked = requestsFrom(start);
    assert.ok(asked.some((r) => r.method === 'GET' && r.path === '/scim/v2/ServiceProviderConfig' && r.status === 404));
    assert.deepEqual(
      asked.filter((r) => r.method !== 'GET' && r.path.startsWith('/scim/')),
      [],
      'configure writes nothing to a provider without a ServiceProviderConfig',
    );
  });

  it('`provision` creates Pending employees one at a time (no Bulk) with the default role; a re-run creates none', async () => {
    const source = file(
      'staff.json',
      STAFF.map((p) => record(p)),
    );
    const start = cxone.requestLog.length;
    const first = await cli(['provision', source, '--tenant', 'cx']);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /6 created, 0 updated, 0 unchanged, 0 failed/);
    assert.match(first.stdout, /per resource \(no Bulk\)/);
    const agentRole = cxone.tenant?.roles.find((r) => r.name === 'Agent')?.id;
    for (const p of STAFF) {
      const user = employee(mail(p));
      assert.equal(nice(user).status, 'Pending', `${p} is created Pending`);
      assert.ok(Number.isInteger(nice(user).agentId), `${p} has an agent id`);
      assert.deepEqual(
        ((user?.roles ?? []) as Array<{ value: string }>).map((r) => r.value),
        [agentRole],
        'no role given: the tenant default',
      );
    }
    const again = await cli(['provision', source, '--tenant', 'cx']);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /0 created, 0 updated, 6 unchanged, 0 failed/);
    const asked = requestsFrom(start);
    assert.equal(asked.filter((r) => r.method === 'POST' && r.path === '/scim/v2/Users').length, 6);
    assert.ok(!asked.some((r) => r.path.endsWith('/Bulk')), 'no Bulk request reached CXone');
    assert.equal(cxone.listUsers().filter((u) => String(u.userName).endsWith('@cx.example')).length, 6);
  });

  it('`sync` deactivates a leaver with active:false (never DELETE); the leaver back in the source is reactivated', async () => {
    const leaver = employee(mail('fay'));
    assert.ok(leaver);
    const start = cxone.requestLog.length;
    const without = file(
      'staff-without-fay.json',
      STAFF.filter((p) => p !== 'fay').map((p) => record(p)),
    );
    const gone = await cli([
      'sync',
      without,
      '--tenant',
      'cx',
      '--scope-suffix',
      '@cx.example',
      '--orphans',
      'leavers',
    ]);
    assert.equal(gone.code, 0, gone.stdout + gone.stderr);
    assert.match(gone.stdout, /deactivate\s+1/);
    assert.equal(employee(mail('fay'))?.active, false);
    const writes = requestsFrom(start).filter((r) => r.method !== 'GET');
    assert.deepEqual(
      writes.map((r) => `${r.method} ${r.path} ${r.status}`),
      [`PATCH /scim/v2/Users/${leaver.id} 200`],
    );

    const all = file(
      'staff-all.json',
      STAFF.map((p) => record(p)),
    );
    const returned = await cli(['sync', all, '--tenant', 'cx', '--scope-suffix', '@cx.example']);
    assert.equal(returned.code, 0, returned.stdout + returned.stderr);
    assert.match(returned.stdout, /reactivate\s+1/);
    assert.equal(employee(mail('fay'))?.active, true);
    assert.ok(!cxone.requestLog.some((r) => r.method === 'DELETE'), 'CXone employees are never deleted');
    assert.equal(cxone.listUsers().filter((u) => String(u.userName).endsWith('@cx.example')).length, 6);
  });

  it('`sync-assignments` gives skills with proficiency and teams, then changes one proficiency and nothing else', async () => {
    const skillId = (name: string) => Number(cxone.tenant?.skills.find((s) => s.skillName === name)?.skillId);
    const teamId = (name: string) => String(cxone.tenant?.teams.find((t) => t.name === name)?.id);
    const holders = (skill: string) =>
      Object.fromEntries(
        (cxone.tenant?.skillAgents(skillId(skill)) ?? []).map((a) => [
          STAFF.find((p) => nice(employee(mail(p))).agentId === a.agentId) ?? a.agentId,
          a.proficiency,
        ]),
      );
    const rows = (anaSales: number) => [
      'userName,skills,team',
      `${mail('ana')},Sales:${anaSales};Support:3,Sales`,
      `${mail('ben')},Sales:2,Support`,
    ];
    const first = await cli(['sync-assignments', file('skills-1.csv', `${rows(5).join('\n')}\n`), '--tenant', 'cx']);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /outcome: succeeded/);
    assert.match(first.stdout, /applied: 2 team changes, 3 skill adds, 0 proficiency changes, 0 skill removals/);
    assert.deepEqual(holders('Sales'), { ana: 5, ben: 2 });
    assert.deepEqual(holders('Support'), { ana: 3 });
    const teamOf = (p: Person) => (nice(employee(mail(p))) as { team?: { value?: string } }).team?.value;
    assert.deepEqual([teamOf('ana'), teamOf('ben')], [teamId('Sales'), teamId('Support')]);

    const start = cxone.requestLog.length;
    const second = await cli(['sync-assignments', file('skills-2.csv', `${rows(12).join('\n')}\n`), '--tenant', 'cx']);
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.match(second.stdout, /set-proficiency\s+ana@cx\.example: Sales:12 \(was 5\)/);
    assert.match(second.stdout, /applied: 0 team changes, 0 skill adds, 1 proficiency changes, 0 skill removals/);
    assert.deepEqual(holders('Sales'), { ana: 12, ben: 2 });
    assert.deepEqual(
      requestsFrom(start)
        .filter((r) => r.method !== 'GET' && !r.path.endsWith('/teams/search'))
        .map((r) => `${r.method} ${r.path}`),
      [`POST /skills/${skillId('Sales')}/agents`],
      'one upsert, for the changed proficiency only',
    );
  });

  it("a Pending employee's rename fails that record at once with CXone's reason (400 mutability); the others are written", async () => {
    // ben was activated in the console: his rename goes through; ana is still Pending: hers is refused.
    const ben = employee(mail('ben'));
    cxone.adminActivateUser(String(ben?.id));
    const ana = employee(mail('ana'));
    const renamed = STAFF.map((p) =>
      p === 'ana' ? record(p, 'ana.new@cx.example') : p === 'ben' ? record(p, 'ben.new@cx.example') : record(p),
    );

    // provision: the record is found by its externalId and updated; CXone refuses ana's new userName.
    let start = cxone.requestLog.length;
    let startedAt = Date.now();
    const provisioned = await temporal.testEnv.client.workflow.execute(provisionUsers, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `provision-rename-${randomUUID()}`,
      args: [{ tenant: 'cx', users: renamed }],
    });
    assert.ok(Date.now() - startedAt < 30_000, `ended in ${Date.now() - startedAt} ms, not at a retry deadline`);
    assert.deepEqual(
      [provisioned.totals.failed, provisioned.totals.updated, provisioned.totals.unchanged, provisioned.totals.created],
      [1, 1, 4, 0],
      JSON.stringify(provisioned.failures),
    );
    assert.deepEqual(provisioned.failures, [
      {
        record: 1,
        userName: 'ana.new@cx.example',
        status: 400,
        scimType: 'mutability',
        detail: provisioned.failures[0]?.detail,
      },
    ]);
    assert.match(provisioned.failures[0].detail, new RegExp(PENDING_RENAME_DETAIL));
    assert.equal(employee('ben.new@cx.example')?.id, ben?.id, 'the Active employee is renamed');
    assert.equal(employee(mail('ana'))?.id, ana?.id, 'the Pending employee keeps her userName');
    const anaWrites = (from: number) =>
      requestsFrom(from).filter((r) => r.method !== 'GET' && r.path === `/scim/v2/Users/${ana?.id}`);
    assert.deepEqual(
      anaWrites(start).map((r) => `${r.method} ${r.status}`),
      ['PATCH 400'],
      'refused once, not retried',
    );

    // sync, matched by externalId: the same refusal, reported per record; the run is partial (exit 2).
    start = cxone.requestLog.length;
    startedAt = Date.now();
    const synced = await cli([
      'sync',
      file('renamed.json', renamed),
      '--tenant',
      'cx',
      '--match-key',
      'externalId',
      '--scope-suffix',
      '@cx.example',
    ]);
    assert.ok(Date.now() - startedAt < 30_000, `ended in ${Date.now() - startedAt} ms, not at a retry deadline`);
    assert.equal(synced.code, 2, synced.stdout + synced.stderr);
    assert.match(
      synced.stdout,
      // The failure names both userNames: the provider's, and the source's it was to be renamed to.
      new RegExp(
        `failed update ana@cx\\.example → ana\\.new@cx\\.example: HTTP 400 .*\\(mutability\\): ${PENDING_RENAME_DETAIL}`,
      ),
      synced.stdout,
    );
    assert.match(synced.stdout, /; 1 failed;/);
    assert.deepEqual(
      anaWrites(start).map((r) => `${r.method} ${r.status}`),
      ['PATCH 400'],
      'refused once, not retried',
    );

    // Once activated in the console, the same rename goes through.
    cxone.adminActivateUser(String(ana?.id));
    const after = await temporal.testEnv.client.workflow.execute(syncUsers, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `sync-rename-${randomUUID()}`,
      args: [{ tenant: 'cx', users: renamed, matchKey: 'externalId', scope: { userNameSuffixes: ['@cx.example'] } }],
    });
    assert.deepEqual([after.outcome, after.applied.update, after.failed], ['succeeded', 1, 0], JSON.stringify(after));
    assert.equal(employee('ana.new@cx.example')?.id, ana?.id);
  });

  it('registerWebhooks creates the subscription on the discovered API base', async () => {
    const url = 'http://127.0.0.1:9/hooks/cx';
    const result = await temporal.testEnv.client.workflow.execute(registerWebhooks, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `register-${randomUUID()}`,
      args: [{ tenant: 'cx', url }],
    });
    assert.equal(result.created?.url, url);
    assert.ok(cxone.requestLog.some((e) => e.method === 'POST' && e.path === '/api/v2/webhooks' && e.status === 201));
  });

  it('every auth strategy provisions through a workflow whose history holds none of its secrets', async () => {
    const strategies: AuthType[] = ['cxone-access-key', 'cxone-access-key-legacy', 'bearer', 'client-credentials'];
    for (const [i, type] of strategies.entries()) {
      const tenant = tenants[i];
      assert.equal(tenant.auth.type, type);
      const handle = await temporal.testEnv.client.workflow.start(provisionUsers, {
        taskQueue: worker.settings.taskQueue,
        workflowId: `secrets-${type}-${randomUUID()}`,
        args: [{ tenant: tenant.tenantId, users: [scimUser(`history-${type}@secrets.example`)] }],
      });
      const result = await handle.result();
      assert.equal(result.totals.created, 1, `${type}: ${JSON.stringify(result.failures)}`);
      const history = withPayloadsDecoded(await historyText(handle));
      assert.ok(history.includes(`history-${type}@secrets.example`), `${type}: the payloads are read`);
      const secrets = [...authSecrets(tenant.auth), tenant.webhookSecret as string];
      assert.ok(secrets.length >= 2, `${type}: secrets to look for`);
      for (const secret of secrets) assert.ok(!history.includes(secret), `${type}: a secret is in the history`);
    }
  });
});
