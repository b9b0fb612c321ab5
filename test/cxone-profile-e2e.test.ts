// The product against the sandbox's cxone profile on a real Temporal server: access keys with
// discovery (no base URL configured), a read-only ServiceProviderConfig without ETags, webhook
// registration on the discovered API base, `tenants check` — and no secret of any auth strategy in
// any workflow history.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import { runConfigure } from '../src/cli/configure';
import { sandboxTenant } from '../src/cli/dev';
import type { TenantConfig } from '../src/config/tenants';
import { authSecrets, type AuthType } from '../src/http';
import type { TemporalEnvironment } from '../src/temporal/server';
import { provisionUsers } from '../src/workflows';
import { registerWebhooks } from '../src/workflows/register-webhooks';
import { historyText, startTestTemporal, startTestWorker, type TestWorker } from './helpers/temporal';

const run = promisify(execFile);
const STRATEGIES: AuthType[] = ['cxone-access-key', 'cxone-access-key-legacy', 'client-credentials', 'bearer'];

describe('the cxone profile end to end, and every auth strategy on a real Temporal server', () => {
  let temporal: TemporalEnvironment;
  let cxone: Sandbox;
  let full: Sandbox;
  let worker: TestWorker;
  let tenants: TenantConfig[];
  let desired: Record<string, unknown>;

  const client = () => temporal.testEnv.client;

  before(async () => {
    cxone = await startSandbox({
      port: 0,
      profile: 'cxone',
      tenantId: 'cx-tenant-7',
      accessKeySecret: 'cx-access-key-secret-1',
    });
    full = await startSandbox({ port: 0, staticToken: 'static-token-secret-1', clientSecret: 'full-client-secret-1' });
    tenants = [
      sandboxTenant(cxone, 'cx'),
      sandboxTenant(cxone, 'cx-legacy', 'cxone-access-key-legacy'),
      sandboxTenant(full, 'full-client-credentials', 'client-credentials'),
      sandboxTenant(full, 'full-bearer', 'bearer'),
    ];
    temporal = await startTestTemporal();
    worker = await startTestWorker(temporal, tenants);
    const spc = await fetch(`${full.scimBaseUrl}/ServiceProviderConfig`, {
      headers: { authorization: `Bearer ${full.staticToken}` },
    });
    const { meta: _meta, ...current } = (await spc.json()) as Record<string, unknown>;
    desired = { ...current, filter: { supported: true, maxResults: 321 } };
  });

  after(async () => {
    await worker?.stop();
    await temporal?.stop();
    await Promise.all([cxone?.close(), full?.close()]);
  });

  it('cxone-access-key with no base URL: discovery, then verify mode reads the read-only config and reports the drift', async () => {
    assert.equal(tenants[0].baseUrl, undefined);
    const { ok, report } = await runConfigure(client(), worker.settings.taskQueue, {
      tenant: 'cx',
      desired,
      mode: 'verify',
    });
    assert.equal(ok, true, report.error);
    const result = report.result as { inSync: boolean; differences: Array<{ path: string }> };
    assert.equal(result.inSync, false);
    const paths = result.differences.map((d) => d.path).sort();
    assert.ok(paths.includes('$.bulk.supported') && paths.includes('$.etag.supported'), paths.join(', '));
    assert.deepEqual(
      cxone.requestLog.filter((e) => e.path.startsWith('/.well-known/')).map((e) => e.path),
      ['/.well-known/openid-configuration', '/.well-known/cxone-configuration'],
    );
    assert.ok(
      cxone.requestLog.every((e) => e.method !== 'PUT'),
      'verify never writes',
    );
  });

  it('apply mode against the read-only config is reported as read-only (405), nothing changed', async () => {
    const { ok, report } = await runConfigure(client(), worker.settings.taskQueue, {
      tenant: 'cx',
      desired,
      mode: 'apply',
    });
    assert.equal(ok, false);
    assert.match(report.error ?? '', /read-only provider/i);
  });

  it('provisionUsers reaches the cxone profile one resource at a time (no Bulk), and a re-run duplicates nobody', async () => {
    const users = ['ada', 'bob', 'cyd'].map((n) => ({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: `${n}@cx.example`,
      name: { givenName: n, familyName: 'Cx' },
      emails: [{ value: `${n}@cx.example`, type: 'work', primary: true }],
      active: true,
    }));
    const run = () =>
      client().workflow.execute(provisionUsers, {
        taskQueue: worker.settings.taskQueue,
        workflowId: `provision-cx-${randomUUID()}`,
        args: [{ tenant: 'cx', users }],
      });
    const first = await run();
    assert.equal(first.totals.created, 3, JSON.stringify(first.failures));
    const again = await run();
    assert.deepEqual([again.totals.created, again.totals.unchanged], [0, 3]);
    assert.ok(
      cxone.requestLog.every((e) => !e.path.endsWith('/Bulk')),
      'no Bulk request reached a provider without Bulk',
    );
    assert.equal(cxone.listUsers().filter((u) => String(u.userName).endsWith('@cx.example')).length, 3);
  });

  it('registerWebhooks creates the subscription on the discovered API base', async () => {
    const url = 'http://127.0.0.1:9/hooks/cx';
    const result = await client().workflow.execute(registerWebhooks, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `register-${randomUUID()}`,
      args: [{ tenant: 'cx', url }],
    });
    assert.equal(result.created?.url, url);
    assert.ok(cxone.requestLog.some((e) => e.method === 'POST' && e.path === '/api/v2/webhooks' && e.status === 201));
  });

  it('every strategy runs a workflow whose history holds none of its secrets', async () => {
    for (const [i, type] of STRATEGIES.entries()) {
      const tenant = tenants[i];
      assert.equal(tenant.auth.type, type);
      const { ok, report } = await runConfigure(client(), worker.settings.taskQueue, {
        tenant: tenant.tenantId,
        desired,
        mode: 'verify',
      });
      assert.equal(ok, true, `${type}: ${report.error}`);
      const history = await historyText(client().workflow.getHandle(report.workflowId));
      assert.ok(history.includes('discoverServiceProviderConfig'), `${type}: the history names the step`);
      for (const secret of [...authSecrets(tenant.auth), tenant.webhookSecret as string]) {
        assert.ok(!history.includes(secret), `${type}: a secret is in the history`);
      }
    }
  });

  it('`tenants check` prints auth, discovered API base, token expiry and capabilities, never a secret', async () => {
    const env = {
      ...process.env,
      CXONE_AUTH: 'cxone-access-key',
      CXONE_ISSUER: cxone.issuer,
      CXONE_CLIENT_ID: cxone.clientId,
      CXONE_CLIENT_SECRET: cxone.clientSecret,
      CXONE_ACCESS_KEY_ID: cxone.accessKeyId,
      CXONE_ACCESS_KEY_SECRET: cxone.accessKeySecret,
    };
    const cli = path.resolve(__dirname, '../src/cli/main.js');
    const { stdout } = await run(process.execPath, [cli, 'tenants', 'check'], { env });
    assert.match(stdout, /tenant default: OK/);
    assert.match(stdout, /auth {10}cxone-access-key \(issuer http:\/\/127\.0\.0\.1:\d+, client sandbox-client\)/);
    assert.match(stdout, new RegExp(`API base {6}${cxone.url.replace(/\./g, '\\.')} \\(discovered\\)`));
    assert.match(stdout, /token {9}expires \d{4}-\d\d-\d\dT.* \(in \d+ s\)/);
    assert.match(stdout, /capabilities {2}bulk: no, etag: no, patch: yes, filter: yes \(max 1000\), paging: yes/);
    assert.ok(!stdout.includes(cxone.accessKeySecret) && !stdout.includes(cxone.clientSecret));

    const wrong = await run(process.execPath, [cli, 'tenants', 'check', '--tenant', 'default'], {
      env: { ...env, CXONE_ACCESS_KEY_SECRET: 'not-the-key-1' },
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
});
