// The worker's /metrics (CXONE_SCIM_METRICS_ADDRESS) carries the project's own metrics next to the
// Temporal runtime's: a real `cxone-scim worker` process (the runtime is installed once per
// process), a real Temporal dev server and two CXone sandboxes on loopback. A provision that meets
// 429s, a sync that waits for an approval and a lifecycle event are run, then /metrics is scraped:
// every figure must match what the runs report, and every metric the Grafana dashboard in
// ops/grafana queries must be there.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import type { TemporalEnvironment } from '../src/temporal/server';
import { METRIC } from '../src/temporal/business-metrics';
import {
  approveDeletionsUpdate,
  discoverServiceProvider,
  lifecycleEventSignal,
  provisionUsers,
  stateQuery,
  syncProgressQuery,
  syncUsers,
  userLifecycle,
} from '../src/workflows';
import { userLifecycleWorkflowId } from '../src/workflows/user-lifecycle/workflow';
import { dashboardSchemaErrors } from './helpers/grafana-schema';
import { freePort } from './helpers/object-store';
import { startTestTemporal } from './helpers/temporal';

const ROOT = path.join(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const DASHBOARD = path.join(ROOT, 'ops', 'grafana', 'cxone-scim-dashboard.json');
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function user(userName: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schemas: [CORE],
    userName,
    name: { givenName: 'Metric', familyName: 'User' },
    displayName: `User ${userName}`,
    emails: [{ value: userName, type: 'work', primary: true }],
    active: true,
    ...extra,
  };
}

/** One sample of a Prometheus text exposition. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    assert.ok(match, `not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of the samples of `name` whose labels include `labels` (0 when none). */
function sampled(samples: Sample[], name: string, labels: Record<string, string>): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);
}

describe("business metrics on the worker's /metrics", () => {
  let temporal: TemporalEnvironment;
  let north: Sandbox;
  let south: Sandbox;
  let worker: ChildProcess | undefined;
  const workerLog: string[] = [];
  let metricsUrl: string;
  let taskQueue: string;
  let scratch: string;

  before(async () => {
    north = await startSandbox({ port: 0 });
    south = await startSandbox({ port: 0 });
    temporal = await startTestTemporal();
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'business-metrics-'));
    const tenant = (id: string, sandbox: Sandbox, secretEnv: string) => ({
      id,
      baseUrl: sandbox.url,
      tokenUrl: sandbox.tokenUrl,
      clientId: sandbox.clientId,
      clientSecretEnv: secretEnv,
      scopes: sandbox.scopes,
    });
    const tenantsFile = path.join(scratch, 'tenants.json');
    fs.writeFileSync(
      tenantsFile,
      JSON.stringify({
        tenants: [tenant('north', north, 'NORTH_SECRET'), tenant('south', south, 'SOUTH_SECRET')],
      }),
    );
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    taskQueue = `metrics-${randomUUID()}`;
    worker = spawn(process.execPath, [MAIN, 'worker'], {
      cwd: scratch,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: scratch,
        TEMPORAL_ADDRESS: temporal.address,
        TEMPORAL_NAMESPACE: temporal.namespace,
        TEMPORAL_TASK_QUEUE: taskQueue,
        CXONE_TENANTS_FILE: tenantsFile,
        NORTH_SECRET: north.clientSecret,
        SOUTH_SECRET: south.clientSecret,
        CXONE_SCIM_DATA_DIR: path.join(scratch, 'data'),
        CXONE_SCIM_METRICS_ADDRESS: `127.0.0.1:${port}`,
        CXONE_SCIM_LOG_LEVEL: 'WARN',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    worker.stderr?.on('data', (chunk: Buffer) => workerLog.push(chunk.toString()) > 50 && workerLog.shift());
    // Answers once it has bundled its workflows and polls the task queue.
    await temporal.testEnv.client.workflow.execute(discoverServiceProvider, {
      taskQueue,
      workflowId: `metrics-warmup-${randomUUID()}`,
      args: [{ tenant: 'south' }],
    });
  });

  after(async () => {
    if (worker?.pid && worker.exitCode === null && worker.signalCode === null) {
      const exited = new Promise((resolve) => worker?.once('exit', resolve));
      process.kill(worker.pid, 'SIGTERM');
      await exited;
    }
    await temporal?.stop();
    await north?.close();
    await south?.close();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  async function scrape(): Promise<Sample[]> {
    const response = await fetch(metricsUrl);
    assert.equal(response.status, 200);
    return parseExposition(await response.text());
  }

  /** Scrapes until `ok` holds (metrics from workflows reach the exporter a moment after the run moves on). */
  async function scrapeUntil(ok: (samples: Sample[]) => boolean, what: string): Promise<Sample[]> {
    let samples: Sample[] = [];
    for (let i = 0; i < 100; i++) {
      samples = await scrape();
      if (ok(samples)) return samples;
      await pause(100);
    }
    assert.fail(
      `${what}; /metrics has:\n${samples
        .filter((s) => s.name.startsWith('cxone_scim_'))
        .map(show)
        .join('\n')}`,
    );
  }
  const show = (s: Sample) => `${s.name}${JSON.stringify(s.labels)} ${s.value}`;

  it('counts records by tenant, job and outcome, provider answers, 429s and Retry-After waits, approvals waiting and lifecycle lag', {
    timeout: 240_000,
  }, async (t) => {
    const client = temporal.testEnv.client;

    // north: a provision of 5 new users, 2 existing ones that differ, 1 invalid record; every 3rd request answers 429.
    for (const name of ['m.old0@north.example', 'm.old1@north.example'])
      north.adminCreateUser({ schemas: [CORE], userName: name, displayName: 'Old', active: true });
    north.setSwitches({ rateLimit: { mode: 'everyNth', n: 3 }, retryAfterSeconds: 1 });
    north.clearRequestLog();
    const users = [
      ...Array.from({ length: 5 }, (_, i) => user(`m.new${i}@north.example`)),
      user('m.old0@north.example'),
      user('m.old1@north.example'),
      { schemas: [CORE], displayName: 'no userName' },
    ];
    const provisionId = `metrics-provision-${randomUUID()}`;
    const provisioned = await client.workflow.execute(provisionUsers, {
      taskQueue,
      workflowId: provisionId,
      args: [{ tenant: 'north', users, mode: 'per-resource' }],
    });
    north.setSwitches({ rateLimit: null });
    const totals = provisioned.totals;
    assert.deepEqual([totals.created, totals.updated, totals.invalid, totals.failed], [5, 2, 1, 0]);
    // What the worker asked of north's SCIM API (its token endpoint is not a SCIM client's request).
    const northScim = north.requestLog.filter((r) => r.path.includes('/scim/'));
    const north429 = northScim.filter((r) => r.status === 429).length;
    assert.ok(north429 > 0, 'the sandbox answered some 429s');

    const provisionJob = { tenant: 'north', job: 'provisionUsers' };
    let samples = await scrapeUntil(
      (s) => sampled(s, METRIC.records, { ...provisionJob, outcome: 'created' }) === 5,
      'records created by the provision',
    );
    for (const outcome of ['created', 'updated', 'unchanged', 'invalid', 'failed'] as const)
      assert.equal(
        sampled(samples, METRIC.records, { ...provisionJob, outcome }),
        totals[outcome],
        `records ${outcome} for tenant north, job provisionUsers`,
      );
    // Every answer the worker got from north is counted, by status class.
    const answered = (cls: string) => northScim.filter((r) => `${Math.floor(r.status / 100)}xx` === cls).length;
    for (const cls of ['2xx', '4xx'])
      assert.equal(
        sampled(samples, METRIC.providerResponses, { tenant: 'north', status_class: cls }),
        answered(cls),
        `north responses ${cls}`,
      );
    assert.equal(sampled(samples, METRIC.throttled, { tenant: 'north' }), north429, '429s of north');
    assert.equal(sampled(samples, `${METRIC.retryAfterWait}_count`, { tenant: 'north' }), north429, 'waits asked for');
    assert.equal(sampled(samples, `${METRIC.retryAfterWait}_sum`, { tenant: 'north' }), north429, 'seconds asked for');
    assert.equal(sampled(samples, METRIC.throttled, { tenant: 'south' }), 0, 'no 429 counted for south');

    // south: a sync with 2 joiners and 3 leavers: above the deletion threshold, it waits for an approval.
    for (let i = 0; i < 3; i++)
      south.adminCreateUser({ schemas: [CORE], userName: `m.leaver${i}@south.example`, active: true });
    const handle = await client.workflow.start(syncUsers, {
      taskQueue,
      workflowId: `metrics-sync-${randomUUID()}`,
      args: [
        {
          tenant: 'south',
          users: [user('m.join0@south.example'), user('m.join1@south.example')],
          deletionThreshold: { maxCount: 1 },
          // The test's tenant was never adopted: its leavers are leavers all the same.
          orphans: 'leavers',
        },
      ],
    });
    const syncJob = { tenant: 'south', job: 'syncUsers' };
    let planHash: string | undefined;
    for (let i = 0; i < 300 && !planHash; i++) {
      const progress = await handle.query(syncProgressQuery);
      if (progress.phase === 'awaitingApproval') planHash = progress.awaitingApproval?.planHash;
      else await pause(100);
    }
    assert.ok(planHash, 'the sync waits for an approval');
    await scrapeUntil((s) => sampled(s, METRIC.approvalsWaiting, syncJob) === 1, 'approvals waiting 1 while it waits');
    await handle.executeUpdate(approveDeletionsUpdate, { args: [{ planHash }] });
    const synced = await handle.result();
    assert.deepEqual([synced.outcome, synced.applied.create, synced.applied.deactivate], ['succeeded', 2, 3]);
    samples = await scrapeUntil(
      (s) => sampled(s, METRIC.approvalsWaiting, syncJob) === 0 && sampled(s, METRIC.records, syncJob) > 0,
      'approvals waiting 0 once approved, and the sync counted',
    );
    assert.equal(sampled(samples, METRIC.records, { ...syncJob, outcome: 'created' }), 2);
    assert.equal(sampled(samples, METRIC.records, { ...syncJob, outcome: 'deactivated' }), 3);
    assert.equal(sampled(samples, METRIC.records, { ...syncJob, outcome: 'failed' }), 0);
    assert.equal(
      sampled(samples, METRIC.records, { tenant: 'north', job: 'syncUsers' }),
      0,
      'nothing of north as sync',
    );

    // A lifecycle event of CXone tenant "acme", synced to the IdP south: one record created, one lag sample.
    const userId = `u-${randomUUID()}`;
    const lifecycle = await client.workflow.signalWithStart(userLifecycle, {
      taskQueue,
      workflowId: userLifecycleWorkflowId('acme', userId),
      args: [{ tenant: 'acme', userId, idp: { type: 'scim', tenant: 'south' } }],
      signal: lifecycleEventSignal,
      signalArgs: [
        {
          eventId: randomUUID(),
          eventType: 'USER_CREATED',
          userId,
          timestamp: new Date(Date.now() - 2000).toISOString(),
          user: user(`${userId}@acme.example`, { id: userId }),
        },
      ],
    });
    for (let i = 0; i < 200; i++) {
      if ((await lifecycle.query(stateQuery)).counts.synced === 1) break;
      await pause(100);
    }
    assert.equal((await lifecycle.query(stateQuery)).idpSync, 'in-sync');
    const lifecycleJob = { tenant: 'acme', job: 'userLifecycle' };
    samples = await scrapeUntil(
      (s) => sampled(s, `${METRIC.lifecycleLag}_count`, lifecycleJob) === 1,
      'one lifecycle lag sample',
    );
    assert.equal(sampled(samples, METRIC.records, { ...lifecycleJob, outcome: 'created' }), 1);
    const lag = sampled(samples, `${METRIC.lifecycleLag}_sum`, lifecycleJob);
    assert.ok(lag >= 2 && lag < 60, `lag ${lag} s: from the event's timestamp (2 s before it was sent) to the IdP`);
    // Label cardinality stays bounded: no user, record or workflow id in any label of ours.
    const identifiers = [
      userId,
      handle.workflowId,
      lifecycle.workflowId,
      provisionId,
      ...users.flatMap((u) => (typeof u.userName === 'string' ? [u.userName] : [])),
      'join0',
      'leaver0',
    ];
    for (const s of samples.filter((s) => s.name.startsWith('cxone_scim_')))
      for (const value of Object.values(s.labels))
        assert.ok(!identifiers.some((id) => value.includes(id)), `${show(s)} carries an identifier`);

    if (process.env.METRICS_DUMP) fs.writeFileSync(process.env.METRICS_DUMP, await (await fetch(metricsUrl)).text());
    // The dashboard queries only metrics this worker exports.
    const exported = new Set(samples.map((s) => s.name));
    const used = dashboardMetricNames();
    assert.ok(used.length >= 8, `the dashboard queries ${used.length} metrics`);
    const missing = used.filter((name) => !exported.has(name));
    assert.deepEqual(missing, [], 'metrics the dashboard queries that /metrics does not export');
    t.diagnostic(`dashboard metrics all exported: ${used.join(', ')}`);
  });
});

describe('the Grafana dashboard (ops/grafana)', () => {
  // Grafana itself is not in any package registry this project uses (its server is AGPL and not
  // packaged for Debian), so the dashboard is checked against Grafana's published schema instead.
  const schemaTypes = path.join(ROOT, 'node_modules', '@grafana', 'schema', 'dist', 'types', 'index.d.ts');
  it('fits the dashboard schema of @grafana/schema', (t) => {
    if (!fs.existsSync(schemaTypes)) {
      t.skip('devDependency @grafana/schema is not installed');
      return;
    }
    assert.deepEqual(dashboardSchemaErrors(fs.readFileSync(DASHBOARD, 'utf8'), schemaTypes), []);
  });
});

/** Every metric name the dashboard's PromQL queries use. */
function dashboardMetricNames(): string[] {
  const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as {
    panels: Array<{ targets?: Array<{ expr: string }> }>;
  };
  const names = new Set<string>();
  for (const panel of dashboard.panels)
    for (const target of panel.targets ?? [])
      for (const [name] of target.expr.matchAll(/\b(?:cxone_scim|temporal)_\w+/g)) names.add(name);
  return [...names].sort();
}
