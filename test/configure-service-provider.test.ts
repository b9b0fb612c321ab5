import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { auditTrail, formatAudit } from '../src/cli/audit';
import { runConfigure, startConfigure } from '../src/cli/configure';
import { printReport } from '../src/cli/print-report';
import { sandboxTenant } from '../src/cli/dev';
import { formatReport, gatherReport } from '../src/cli/report';
import type { TenantConfig } from '../src/config/tenants';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import { FailureType } from '../src/core/failures';
import { configureWorkflowId } from '../src/temporal/constants';
import { resolveTemporalServer, type TemporalEnvironment } from '../src/temporal/server';
import { verifySignature } from '../src/http/webhook-signature';
import { reportQuery } from '../src/workflows/report';
import { sendJson, startScriptedServer, throughProxy } from './helpers/http';
import { historyText, startTestTemporal, startTestWorker, type TestWorker } from './helpers/temporal';

const run = promisify(execFile);
const SPC_URN = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';

/** The sandbox's initial config (without meta), read once: desired configs differ from it in two limits. */
let baseline: Record<string, unknown>;

function desired(maxOperations: number, maxResults = 200): Record<string, unknown> {
  return {
    ...baseline,
    bulk: { supported: true, maxOperations, maxPayloadSize: 1048576 },
    filter: { supported: true, maxResults },
  };
}

describe('configureServiceProvider against the sandbox on a real Temporal server', () => {
  let temporal: TemporalEnvironment;
  let sandbox: Sandbox;
  let tenant: TenantConfig;
  let worker: TestWorker;
  /** A loopback proxy in front of the sandbox: lets a test slip a competing write in before our PUT. */
  let proxy: Awaited<ReturnType<typeof startScriptedServer>>;
  let raceNextPut = false;
  let notifications: Array<{ headers: Record<string, string | string[] | undefined>; body: string }> = [];
  let notifyReceiver: Awaited<ReturnType<typeof startScriptedServer>>;

  const client = () => temporal.testEnv.client;
  const taskQueue = () => worker.settings.taskQueue;
  const spcRequests = () => sandbox.requestLog.filter((r) => r.path.endsWith('/ServiceProviderConfig'));

  before(async () => {
    sandbox = await startSandbox({ port: 0 });
    const { meta: _meta, ...initial } = await getSpc(sandbox);
    assert.deepEqual(initial.schemas, [SPC_URN]);
    baseline = initial;
    proxy = await startScriptedServer(async (req, body, res) => {
      if (raceNextPut && req.method === 'PUT' && req.url?.endsWith('/ServiceProviderConfig')) {
        raceNextPut = false;
        await competingWrite(sandbox);
      }
      const upstream = await fetch(`${sandbox.url}${req.url}`, {
        method: req.method,
        headers: Object.fromEntries(
          Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length'),
        ) as Record<string, string>,
        body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
      });
      res.writeHead(upstream.status, Object.fromEntries(upstream.headers));
      res.end(await upstream.text());
    });
    notifyReceiver = await startScriptedServer((req, body, res) => {
      if (req.url === '/hooks/refuse') return sendJson(res, 405, { detail: 'no POST here' });
      notifications.push({ headers: req.headers, body });
      sendJson(res, 204, {});
    });
    tenant = sandboxTenant(sandbox);
    const proxied: TenantConfig = throughProxy(sandboxTenant(sandbox), 'proxied', proxy.url);
    temporal = await startTestTemporal();
    worker = await startTestWorker(temporal, [tenant, proxied]);
  });

  after(async () => {
    await worker?.stop();
    await temporal?.stop();
    await proxy?.close();
    await notifyReceiver?.close();
    await sandbox?.close();
  });

  beforeEach(() => {
    sandbox.setSwitches({
      rateLimit: null,
      failNext: 0,
      failRate: 0,
      latencyMs: 0,
      readOnlySpc: false,
      retryAfterSeconds: 1,
    });
    sandbox.clearRequestLog();
    notifications = [];
  });

  it('applies a change with If-Match, verifies it, notifies, and a re-run makes no PUT', async () => {
    const first = await runConfigure(client(), taskQueue(), {
      tenant: 'sandbox',
      desired: desired(500),
      notifyUrl: `${notifyReceiver.url}/hooks/config`,
    });
    assert.equal(first.ok, true, first.report.error);
    const result = first.report.result as {
      changed: boolean;
      inSync: boolean;
      differences: { path: string }[];
      notified: boolean;
    };
    assert.equal(result.changed, true);
    assert.equal(result.inSync, true);
    assert.deepEqual(result.differences.map((d) => d.path).sort(), ['$.bulk.maxOperations', '$.filter.maxResults']);
    assert.deepEqual(
      spcRequests().map((r) => `${r.method} ${r.status}`),
      ['GET 200', 'PUT 200', 'GET 200'],
    );
    const put = first.report.steps.find((s) => s.step.startsWith('PUT'));
    assert.ok(put?.etagBefore && put.etagAfter && put.etagBefore !== put.etagAfter, 'ETag before and after the PUT');
    assert.match(put.payloadSha256 ?? '', /^[0-9a-f]{64}$/);

    // The provider now reports the desired value.
    const now = await getSpc(sandbox);
    assert.equal(now.bulk.maxOperations, 500);

    // The notification is signed with the tenant's webhook secret and names what changed.
    assert.equal(notifications.length, 1);
    const n = notifications[0];
    const check = verifySignature({
      secret: tenant.webhookSecret as string,
      timestamp: n.headers['x-cxone-timestamp'] as string,
      signature: n.headers['x-cxone-signature'] as string,
      rawBody: n.body,
    });
    assert.deepEqual(check, { ok: true });
    const event = JSON.parse(n.body);
    assert.equal(event.event, 'scim.config.updated');
    assert.equal(event.tenant, 'sandbox');
    assert.equal(event.workflowId, configureWorkflowId('sandbox'));
    assert.equal(event.payloadSha256, put.payloadSha256);
    assert.deepEqual(event.changedPaths.sort(), ['$.bulk.maxOperations', '$.filter.maxResults']);

    sandbox.clearRequestLog();
    const again = await runConfigure(client(), taskQueue(), { tenant: 'sandbox', desired: desired(500) });
    assert.equal(again.ok, true);
    assert.equal((again.report.result as { changed: boolean }).changed, false);
    assert.deepEqual(
      spcRequests().map((r) => r.method),
      ['GET'],
      'a re-run with the same config makes no PUT',
    );
    assert.equal(again.report.steps.find((s) => s.step.startsWith('PUT'))?.outcome, 'skipped');
  });

  it('a refused notification fails the run as a notification failure, after the change was verified', async () => {
    const { ok, report } = await runConfigure(client(), taskQueue(), {
      tenant: 'sandbox',
      desired: desired(501),
      notifyUrl: `${notifyReceiver.url}/hooks/refuse`,
    });
    assert.equal(ok, false);
    assert.doesNotMatch(report.error ?? '', /read-only provider/);
    assert.match(report.error ?? '', /405/);
    assert.deepEqual(
      report.steps.map((s) => `${s.step}: ${s.outcome}`),
      [
        'discovery GET ServiceProviderConfig: succeeded',
        'PUT ServiceProviderConfig (If-Match): succeeded',
        'discovery GET ServiceProviderConfig (verify): succeeded',
        'notify scim.config.updated: failed',
      ],
    );
    // Put the expected state back for the tests that follow.
    assert.equal((await runConfigure(client(), taskQueue(), { tenant: 'sandbox', desired: desired(500) })).ok, true);
  });

  it('verify mode reports the drift and writes nothing', async () => {
    const { ok, report } = await runConfigure(client(), taskQueue(), {
      tenant: 'sandbox',
      desired: desired(42, 77),
      mode: 'verify',
    });
    assert.equal(ok, true);
    const result = report.result as {
      inSync: boolean;
      differences: { path: string; desired: unknown; actual: unknown }[];
    };
    assert.equal(result.inSync, false);
    const drift = Object.fromEntries(result.differences.map((d) => [d.path, [d.desired, d.actual]]));
    assert.deepEqual(drift['$.bulk.maxOperations'], [42, 500]);
    assert.deepEqual(drift['$.filter.maxResults'], [77, 200]);
    assert.ok(
      spcRequests().every((r) => r.method === 'GET'),
      'verify never writes',
    );
    const description = await client().workflow.getHandle(configureWorkflowId('sandbox')).describe();
    assert.equal(description.typedSearchAttributes.get({ name: 'ScimOutcome', type: 'KEYWORD' } as never), 'drift');
  });

  it('rejects an invalid config with every violation and its JSON path, and sends nothing', async () => {
    const bad = {
      ...desired(9000, 5000),
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', 'not a urn'],
      authenticationSchemes: [{ type: 'oauthbearertoken' }],
      bulkConfig: { supported: true },
    };
    const handle = await startConfigure(client(), taskQueue(), { tenant: 'sandbox', desired: bad });
    const failure = await handle.result().then(
      () => assert.fail('an invalid config must fail the workflow'),
      (err: unknown) => err,
    );
    assert.ok(failure instanceof WorkflowFailedError);
    const message = String((failure.cause as Error).message);
    for (const expected of [
      '$.schemas',
      '$.schemas[1]',
      '$.authenticationSchemes[0].name',
      '$.bulk.maxOperations',
      '$.filter.maxResults',
      '$.bulkConfig',
    ]) {
      assert.ok(message.includes(expected), `violation at ${expected} is reported:\n${message}`);
    }
    assert.deepEqual(sandbox.requestLog, [], 'no request of any kind reached the provider');
  });

  it('maps tutorial names explicitly (bulkConfig → bulk)', async () => {
    const { bulk, ...rest } = desired(321);
    const { ok, report } = await runConfigure(client(), taskQueue(), {
      tenant: 'sandbox',
      desired: { ...rest, bulkConfig: bulk },
    });
    assert.equal(ok, true, report.error);
    assert.deepEqual((report.result as { mappedNames: string[] }).mappedNames, ['bulkConfig → bulk']);
  });

  it('re-reads and retries when someone else wrote in between (412)', async () => {
    raceNextPut = true;
    const { ok, report } = await runConfigure(client(), taskQueue(), { tenant: 'proxied', desired: desired(777) });
    assert.equal(ok, true, report.error);
    assert.deepEqual(
      spcRequests()
        .filter((r) => r.method === 'PUT')
        .map((r) => r.status),
      [200, 412, 200],
      'the competing write, our refused PUT, our retried PUT',
    );
    const puts = report.steps.filter((s) => s.step.startsWith('PUT'));
    assert.deepEqual(
      puts.map((s) => [s.outcome, s.httpStatus]),
      [
        ['failed', 412],
        ['succeeded', 200],
      ],
    );
  });

  it('gives up clearly when the config keeps changing under it', async () => {
    raceNextPut = true;
    const handle = await startConfigure(client(), taskQueue(), {
      tenant: 'proxied',
      desired: desired(778),
      maxPreconditionRetries: 0,
    });
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.match(String((err as WorkflowFailedError).cause?.message), /412 Precondition Failed/);
      return true;
    });
  });

  it('reports a read-only provider (405) and points at verify mode', async () => {
    sandbox.setSwitches({ readOnlySpc: true });
    const { ok, report } = await runConfigure(client(), taskQueue(), { tenant: 'sandbox', desired: desired(600) });
    assert.equal(ok, false);
    assert.match(report.error ?? '', /read-only provider.*verify mode/i);
    assert.equal(report.errorType, FailureType.ReadOnlyProvider);
    assert.equal(spcRequests().filter((r) => r.method === 'PUT').length, 1, '405 is not retried');
    let printed = '';
    printReport(report, 'text', {
      write: (chunk: string) => ((printed += chunk), true),
    } as unknown as NodeJS.WritableStream);
    assert.match(printed, /ReadOnlyProvider \(fatal\): .* Fix: Run configure with --verify/);
  });

  it('honours Retry-After on 429 and recovers from 5xx', async () => {
    sandbox.setSwitches({ rateLimit: { mode: 'firstN', n: 1 }, retryAfterSeconds: 2 });
    const throttled = await runConfigure(client(), taskQueue(), { tenant: 'sandbox', desired: desired(610) });
    assert.equal(throttled.ok, true, throttled.report.error);
    const log = sandbox.requestLog;
    const refused = log.findIndex((r) => r.status === 429);
    assert.ok(refused >= 0, 'the sandbox answered 429');
    const retried = log
      .slice(refused + 1)
      .find((r) => r.path === log[refused].path && r.method === log[refused].method);
    assert.ok(retried, 'the same request was retried');
    const waited = Date.parse(retried.at) - Date.parse(log[refused].at);
    assert.ok(waited >= 1900 && waited < 5000, `retried after ${waited} ms; Retry-After said 2 s`);

    sandbox.clearRequestLog();
    sandbox.setSwitches({ rateLimit: null, failNext: 2, failStatus: 500 });
    const faulty = await runConfigure(client(), taskQueue(), { tenant: 'sandbox', desired: desired(620) });
    assert.equal(faulty.ok, true, faulty.report.error);
    assert.deepEqual(
      sandbox.requestLog.slice(0, 3).map((r) => r.status),
      [500, 500, 200],
    );
  });

  it('refreshes an expired token once on 401 and goes on', async () => {
    sandbox.expireTokens();
    const { ok, report } = await runConfigure(client(), taskQueue(), { tenant: 'sandbox', desired: desired(630) });
    assert.equal(ok, true, report.error);
    assert.deepEqual(
      sandbox.requestLog.slice(0, 3).map((r) => `${r.method} ${r.path.replace(/^.*\//, '')} ${r.status}`),
      ['GET ServiceProviderConfig 401', 'POST token 200', 'GET ServiceProviderConfig 200'],
    );
  });

  it('refuses a second concurrent run for the same tenant', async () => {
    sandbox.setSwitches({ latencyMs: 1500 });
    const first = await startConfigure(client(), taskQueue(), { tenant: 'sandbox', desired: desired(640) });
    await assert.rejects(
      startConfigure(client(), taskQueue(), { tenant: 'sandbox', desired: desired(641) }),
      /already running/,
    );
    await first.result();
    // A run under another workflow id (e.g. from the Temporal CLI) is refused too.
    const stray = await client().workflow.start('configureServiceProvider', {
      taskQueue: taskQueue(),
      workflowId: `stray-${Date.now()}`,
      args: [{ tenant: 'sandbox', desired: desired(642) }],
    });
    await assert.rejects(stray.result(), (err: unknown) =>
      /must run with workflow id/.test(String((err as WorkflowFailedError).cause?.message)),
    );
  });

  it('runs the same way when started from the Temporal CLI, and its history holds no secret', async () => {
    const cli = resolveTemporalServer({ ...process.env, TEMPORAL_ADDRESS: '' });
    assert.equal(cli.kind, 'executable', 'the Temporal CLI is installed (npm run setup)');
    const workflowId = configureWorkflowId('sandbox');
    const input = JSON.stringify({ tenant: 'sandbox', desired: desired(650), mode: 'apply' });
    const common = ['--address', temporal.address, '--namespace', temporal.namespace];
    await run(cli.kind === 'executable' ? cli.path : 'temporal', [
      'workflow',
      'execute',
      ...common,
      '--type',
      'configureServiceProvider',
      '--task-queue',
      taskQueue(),
      '--workflow-id',
      workflowId,
      '--input',
      input,
    ]);
    const { stdout } = await run(cli.kind === 'executable' ? cli.path : 'temporal', [
      'workflow',
      'query',
      ...common,
      '--workflow-id',
      workflowId,
      '--name',
      'report',
      '--output',
      'json',
    ]);
    assert.match(stdout, /"status":\s*"succeeded"/);
    const handle = client().workflow.getHandle(workflowId);
    assert.equal((await handle.query(reportQuery)).status, 'succeeded');
    const history = await historyText(handle);
    assert.ok(history.includes('replaceServiceProviderConfig'), 'the history names the step');
    assert.ok(!history.includes(sandbox.clientSecret), 'no client secret in history');
    assert.ok(!history.includes(tenant.webhookSecret as string), 'no webhook secret in history');
  });

  it('the CLI `configure` command starts, waits and prints the report', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'configure-')), 'spc.json');
    fs.writeFileSync(file, JSON.stringify(desired(660)));
    const outcome = await run(
      process.execPath,
      [path.resolve(__dirname, '../src/cli/main.js'), 'configure', file, '--tenant', 'sandbox', '--verify'],
      {
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: temporal.address,
          TEMPORAL_NAMESPACE: temporal.namespace,
          TEMPORAL_TASK_QUEUE: taskQueue(),
        },
      },
    ).then(
      (r) => ({ code: 0, ...r }),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    assert.equal(outcome.code, 3, `exit code 3: drift found\n${outcome.stderr}`);
    assert.match(
      outcome.stdout,
      /configureServiceProvider configure-service-provider-sandbox \(tenant sandbox\): succeeded/,
    );
    assert.match(outcome.stdout, /verify mode: 1 difference/);
    assert.match(outcome.stdout, /drift: \$\.bulk\.maxOperations: desired 660, provider has 650/);
  });

  it('`report` aggregates the runs found through the search attributes; `audit` reads the history', async () => {
    const gathered = await gatherReport(client(), { tenant: 'sandbox', type: 'configureServiceProvider' });
    const summary = gathered.summaries.find((s) => s.workflowType === 'configureServiceProvider');
    assert.ok(summary, 'configureServiceProvider runs are found by ScimTenant/WorkflowType');
    assert.equal(summary.runs, gathered.runs.length);
    assert.ok(summary.runs >= 8, `found ${summary.runs} runs`);
    assert.ok(summary.runsFailed >= 2, 'the invalid and read-only runs count as failed');
    assert.ok(
      summary.failures.some((f) => /read-only provider/.test(f.error) && f.type === FailureType.ReadOnlyProvider),
    );
    assert.ok(
      gathered.runs.every((r) => r.tenant === 'sandbox'),
      'only the asked tenant',
    );
    const csv = formatReport(gathered, 'csv').trim().split('\n');
    assert.equal(csv[0].split(',')[0], 'workflow type');
    assert.equal(csv[1].split(',')[0], 'configureServiceProvider');
    assert.match(formatReport(gathered, 'md'), /^# SCIM compliance report/);
    assert.match(
      formatReport(gathered, 'md'),
      /^- `configure-service-provider-sandbox` \(ReadOnlyProvider\): read-only provider/m,
    );

    const lines = await auditTrail(client(), configureWorkflowId('sandbox'));
    assert.equal(lines[0].outcome, 'started');
    assert.ok(
      lines.some(
        (l) =>
          l.step === 'discoverServiceProviderConfig' && l.outcome === 'completed' && /HTTP 200/.test(l.detail ?? ''),
      ),
    );
    assert.equal(lines[lines.length - 1].outcome, 'completed');
    assert.ok(lines.every((l) => !l.payloadSha256 || /^[0-9a-f]{64}$/.test(l.payloadSha256)));
    const jsonl = formatAudit(lines, 'jsonl').trim().split('\n');
    assert.deepEqual(JSON.parse(jsonl[0]), lines[0]);
  });
});

/** Someone else (a console admin) changes the ServiceProviderConfig: its ETag moves on. */
async function competingWrite(sandbox: Sandbox): Promise<void> {
  const headers = await bearer(sandbox);
  const current = await getSpc(sandbox);
  current.filter.maxResults = current.filter.maxResults === 199 ? 198 : 199;
  const response = await fetch(`${sandbox.scimBaseUrl}/ServiceProviderConfig`, {
    method: 'PUT',
    headers: { ...headers, 'content-type': 'application/scim+json' },
    body: JSON.stringify(current),
  });
  assert.equal(response.status, 200, 'the competing write went through');
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function getSpc(sandbox: Sandbox): Promise<Record<string, any>> {
  const response = await fetch(`${sandbox.scimBaseUrl}/ServiceProviderConfig`, { headers: await bearer(sandbox) });
  assert.equal(response.status, 200);
  return (await response.json()) as Record<string, unknown>;
}

async function bearer(sandbox: Sandbox): Promise<Record<string, string>> {
  const response = await fetch(sandbox.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&client_id=sandbox-client&client_secret=sandbox-secret&scope=scim:write',
  });
  const { access_token } = (await response.json()) as { access_token: string };
  return { authorization: `Bearer ${access_token}` };
}
