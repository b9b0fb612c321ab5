import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import { bulkIdFor } from '../src/activities/provisioning';
import { sandboxTenant } from '../src/cli/dev';
import type { TenantConfig } from '../src/config/tenants';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import type { TemporalEnvironment } from '../src/temporal/server';
import { gatherReport } from '../src/cli/report';
import { progressQuery, provisionUsers, type ProvisionUsersInput, type ProvisionUsersResult } from '../src/workflows';
import { reportQuery } from '../src/workflows/report';
import { startScriptedServer, throughProxy } from './helpers/http';
import { historyText, startTestTemporal, startTestWorker, type TestWorker } from './helpers/temporal';

// provisionUsers end to end: real Temporal dev server, real worker(s), the CXone sandbox behind
// loopback proxies that can inject per-operation faults or advertise limits the provider does
// not honour.

const ROOT = path.join(__dirname, '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'provision');
const MAPPING = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'mapping.json'), 'utf8')) as unknown;
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const CSV_HEADER = 'employee_id,email,first_name,last_name,department,enabled,phone';
const run = promisify(execFile);

type Attrs = Record<string, unknown>;

/** `n` valid CSV rows for the fixture mapping. */
function csvRows(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const id = String(i).padStart(4, '0');
    return `${prefix}${id},${prefix}.user${id}@Example.com,Given${id},Family${id},Dept${i % 7},${i % 10 === 0 ? 'false' : 'true'},+1 555 ${id}`;
  });
}

function inlineUser(userName: string, extra: Attrs = {}): Attrs {
  return {
    schemas: [CORE],
    userName,
    displayName: `User ${userName}`,
    emails: [{ value: userName, type: 'work', primary: true }],
    active: true,
    ...extra,
  };
}

interface Proxy {
  url: string;
  close(): Promise<void>;
  /** Bodies of the POST /Bulk requests that went through. */
  bulkBodies: Array<{ Operations: Array<{ bulkId: string; data: Attrs }> }>;
  /** Per-operation faults: operations at these positions, the first time their bulkId is seen, answer this status. */
  faults?: { every: number; status: number[] };
  faulted: Set<string>;
  /** Rewrites the ServiceProviderConfig body the provider sends. */
  spc?: (body: Attrs) => Attrs;
  /** Holds the answer to a POST /Bulk this long after the provider has applied it. */
  holdBulkAnswerMs?: number;
}

const HOP_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'content-encoding', 'keep-alive']);

async function startProxy(upstream: () => string): Promise<Proxy> {
  const proxy: Proxy = { url: '', close: async () => undefined, bulkBodies: [], faulted: new Set() };
  const server = await startScriptedServer(
    async (req: http.IncomingMessage, body: string, res: http.ServerResponse) => {
      let forwarded = body;
      let removed: Array<{ bulkId: string; status: number }> = [];
      const isBulk = req.method === 'POST' && req.url?.endsWith('/Bulk');
      if (isBulk) {
        const request = JSON.parse(body) as Proxy['bulkBodies'][number];
        proxy.bulkBodies.push(request);
        if (proxy.faults) {
          const { every, status } = proxy.faults;
          const keep: typeof request.Operations = [];
          request.Operations.forEach((op, i) => {
            if (i % every === 0 && !proxy.faulted.has(op.bulkId)) {
              removed.push({ bulkId: op.bulkId, status: status[removed.length % status.length] });
            } else keep.push(op);
          });
          forwarded = JSON.stringify({ ...request, Operations: keep });
        }
      }
      const response = await fetch(`${upstream()}${req.url}`, {
        method: req.method,
        headers: Object.fromEntries(
          Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length'),
        ) as Record<string, string>,
        body: req.method === 'GET' || req.method === 'HEAD' ? undefined : forwarded,
      });
      let text = await response.text();
      if (isBulk && proxy.holdBulkAnswerMs) await new Promise((resolve) => setTimeout(resolve, proxy.holdBulkAnswerMs));
      if (proxy.spc && req.method === 'GET' && req.url?.endsWith('/ServiceProviderConfig') && response.ok) {
        text = JSON.stringify(proxy.spc(JSON.parse(text) as Attrs));
      }
      // Only a request the provider answered counts: after a whole-request 429/5xx the same operations come again.
      if (isBulk && removed.length > 0 && response.status === 200) {
        const answer = JSON.parse(text) as { Operations: unknown[] };
        for (const { bulkId, status } of removed) {
          proxy.faulted.add(bulkId);
          answer.Operations.push({
            method: 'POST',
            bulkId,
            status: String(status),
            response: {
              schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
              status: String(status),
              detail: 'injected by the test proxy',
            },
          });
        }
        text = JSON.stringify(answer);
      }
      removed = [];
      res.writeHead(response.status, Object.fromEntries([...response.headers].filter(([k]) => !HOP_HEADERS.has(k))));
      res.end(text);
    },
  );
  proxy.url = server.url;
  proxy.close = server.close;
  return proxy;
}

describe('provisionUsers end to end (real Temporal dev server, CXone sandbox)', () => {
  let temporal: TemporalEnvironment;
  let sandbox: Sandbox;
  /** A second sandbox that accepts at most 8 operations per Bulk request. */
  let small: Sandbox;
  let proxy: Proxy;
  let lying: Proxy;
  let worker: TestWorker;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'provision-e2e-'));
  const workerProcesses: ChildProcess[] = [];

  const client = () => temporal.testEnv.client;
  const withPrefix = (s: Sandbox, prefix: string) => s.listUsers().filter((u) => String(u.userName).startsWith(prefix));

  async function provision(input: ProvisionUsersInput, workflowId: string, taskQueue = worker.settings.taskQueue) {
    const handle = await client().workflow.start(provisionUsers, {
      taskQueue,
      workflowId: `${workflowId}-${Date.now()}`,
      args: [input],
    });
    const result = await handle.result();
    return { handle, result };
  }

  function assertNoDuplicates(users: Attrs[]): void {
    const names = users.map((u) => String(u.userName).toLowerCase());
    assert.equal(new Set(names).size, names.length, 'duplicate userNames in the sandbox');
  }

  before(async () => {
    sandbox = await startSandbox({ port: 0 });
    small = await startSandbox({ port: 0, bulkMaxOperations: 8 });
    proxy = await startProxy(() => sandbox.url);
    // Advertises 1000 operations per request; the provider behind it takes 8 and answers 413.
    lying = await startProxy(() => small.url);
    lying.spc = (spc) => ({ ...spc, bulk: { ...(spc.bulk as Attrs), maxOperations: 1000 } });
    const tenants: TenantConfig[] = [
      sandboxTenant(sandbox),
      throughProxy(sandboxTenant(sandbox), 'proxied', proxy.url),
      throughProxy(sandboxTenant(small), 'lying', lying.url),
    ];
    temporal = await startTestTemporal();
    worker = await startTestWorker(temporal, tenants);
  });

  after(async () => {
    for (const child of workerProcesses)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await worker?.stop();
    await temporal?.stop();
    await proxy?.close();
    await lying?.close();
    await sandbox?.close();
    await small?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  // ---------------------------------------------------------------------------------------------
  const syncFile = path.join(tmp, 'sync.csv');
  const INVALID_ROWS = [
    'S-bad-1,,No,Email,Sales,true,', // userName (from email) missing
    'S-bad-2,sync.maybe@example.com,May,Be,Sales,maybe,', // "maybe" is not a boolean
    'S-bad-3,SYNC.USER0007@example.com,Du,Plicate,Sales,true,', // same userName as row 8, other case
  ];
  let syncInput: ProvisionUsersInput;

  it('sync bulk from a CSV file with a mapping: invalid records are reported with reasons and never sent', async () => {
    const rows = csvRows('sync', 150);
    rows.splice(3, 0, INVALID_ROWS[0]);
    rows.splice(60, 0, INVALID_ROWS[1]);
    rows.push(INVALID_ROWS[2]);
    fs.writeFileSync(syncFile, [CSV_HEADER, ...rows].join('\n'));
    syncInput = {
      tenant: 'proxied',
      source: { path: syncFile, mapping: MAPPING },
      maxOperationsPerRequest: 20,
      maxChunksInFlight: 3,
      chunksPerBatch: 2,
    };
    proxy.bulkBodies = [];

    const { handle, result } = await provision(syncInput, 'provision-sync');
    assert.deepEqual(
      { ...result.totals },
      {
        total: 153,
        validated: 150,
        invalid: 3,
        submitted: 150,
        succeeded: 150,
        created: 150,
        updated: 0,
        unchanged: 0,
        failed: 0,
        retried: 0,
        inFlight: 0,
      },
    );
    const users = withPrefix(sandbox, 'sync.');
    assert.equal(users.length, 150);
    assertNoDuplicates(users);
    const sample = users.find((u) => u.userName === 'sync.user0042@example.com') as Attrs;
    assert.equal(sample.displayName, 'Given0042 Family0042');
    assert.deepEqual(sample['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'], {
      department: 'Dept0',
      employeeNumber: 'sync0042',
    });

    assert.deepEqual(
      result.invalidRecords.map((r) => [r.record, r.reasons]),
      [
        [4, ['userName: is required']],
        [61, ['active: cannot read "maybe" as a boolean (source "enabled")']],
        [153, ['userName: duplicates record 9 (userName is unique, case-insensitively)']],
      ],
    );
    // What went over the wire: 8 requests of at most 20 operations, no invalid record, deterministic bulkIds.
    const sent = proxy.bulkBodies.flatMap((b) => b.Operations);
    assert.equal(proxy.bulkBodies.length, 8);
    assert.ok(proxy.bulkBodies.every((b) => b.Operations.length <= 20));
    assert.equal(sent.length, 150);
    assert.ok(!sent.some((op) => ['sync.maybe@example.com', ''].includes(String(op.data.userName))));
    assert.ok(sent.every((op) => op.bulkId === bulkIdFor('proxied', String(op.data.userName))));
    assert.deepEqual(
      result.chunks.outcomes.map((o) => o.mode).filter((m) => m !== 'sync'),
      [],
    );
    assert.equal(result.chunks.requests, 8);

    const progress = await handle.query(progressQuery);
    assert.equal(progress.phase, 'completed');
    assert.deepEqual([progress.total, progress.succeeded, progress.invalid, progress.inFlight], [153, 150, 3, 0]);
    assert.deepEqual(progress.chunks, { planned: 8, done: 8, inFlight: 0 });
    const report = await handle.query(reportQuery);
    assert.equal(report.status, 'partial', 'a run with invalid records is partial');
    assert.deepEqual(
      report.steps.slice(0, 4).map((s) => s.step),
      [
        'discover ServiceProviderConfig',
        'discover ResourceTypes',
        'discover Schemas',
        'plan: read, map, validate, chunk',
      ],
    );
    assert.equal(report.totals.attempted, 153);
    assert.equal(report.totals.succeeded, 150);
    assert.ok(report.totals.latencyMs.p95 > 0);
    assert.equal((report.request as Attrs).source !== undefined, true);

    // A file source keeps user data out of workflow history: only ranges, counts and reasons.
    const parentHistory = await historyText(handle);
    const childHistory = await historyText(client().workflow.getHandle(`${handle.workflowId}-batch-0`));
    for (const history of [parentHistory, childHistory]) {
      assert.ok(!history.includes('sync.user0042@example.com'), 'a user of the file is in workflow history');
      assert.ok(!history.includes('sandbox-secret'), 'the client secret is in workflow history');
    }
    assert.ok(childHistory.includes('submitBulkChunk'));
    // Batches answer `report` too (their Bulk requests as steps), without search attributes of their own.
    const batch = client().workflow.getHandle(`${handle.workflowId}-batch-0`);
    const batchReport = await batch.query(reportQuery);
    assert.equal(batchReport.status, 'succeeded');
    assert.deepEqual(
      batchReport.steps.map((s) => [s.step, s.httpStatus, s.outcome]),
      [
        ['bulk request c0 (20 operations, sync)', 200, 'succeeded'],
        ['bulk request c1 (20 operations, sync)', 200, 'succeeded'],
      ],
    );
    assert.equal(batchReport.totals.succeeded, 40);
    assert.equal(
      (await batch.describe()).typedSearchAttributes.get({ name: 'ScimOperation', type: 'KEYWORD' } as never),
      undefined,
    );
  });

  it('re-running the same input creates no duplicates and changes nothing; a drifted user is updated', async () => {
    const before = new Map(withPrefix(sandbox, 'sync.').map((u) => [u.id, (u.meta as Attrs).version]));
    const again = await provision(syncInput, 'provision-rerun');
    assert.deepEqual(
      [
        again.result.totals.created,
        again.result.totals.unchanged,
        again.result.totals.updated,
        again.result.totals.failed,
      ],
      [0, 150, 0, 0],
    );
    const after = withPrefix(sandbox, 'sync.');
    assert.equal(after.length, 150);
    assertNoDuplicates(after);
    assert.deepEqual(new Map(after.map((u) => [u.id, (u.meta as Attrs).version])), before, 'a re-run changed a user');

    const drifted = after.find((u) => u.userName === 'sync.user0100@example.com') as Attrs;
    sandbox.adminUpdateUser(String(drifted.id), { displayName: 'Changed In The Console' });
    const third = await provision(syncInput, 'provision-rerun-drift');
    assert.deepEqual(
      [third.result.totals.created, third.result.totals.unchanged, third.result.totals.updated],
      [0, 149, 1],
    );
    assert.equal(sandbox.getUser(String(drifted.id))?.displayName, 'Given0100 Family0100');
    assert.equal(withPrefix(sandbox, 'sync.').length, 150);
  });

  it('async bulk (202 + job): durable polling with timers, Retry-After honoured; invalid inline users reported', async () => {
    const users: Attrs[] = Array.from({ length: 60 }, (_, i) => inlineUser(`async.${i}@example.com`));
    users.splice(10, 0, inlineUser('async.readonly@example.com', { groups: [{ value: 'g1' }] }));
    users.splice(
      20,
      0,
      inlineUser('async.canonical@example.com', { emails: [{ value: 'x@example.com', type: 'pigeon' }] }),
    );
    users.push(inlineUser('async.type@example.com', { active: 'yes' }));
    sandbox.clearRequestLog();
    const { handle, result } = await provision(
      {
        tenant: 'sandbox',
        users,
        preferAsync: true,
        maxOperationsPerRequest: 20,
        maxChunksInFlight: 3,
        chunksPerBatch: 1,
      },
      'provision-async',
    );
    assert.deepEqual([result.totals.created, result.totals.invalid, result.totals.failed], [60, 3, 0]);
    assert.deepEqual(
      result.invalidRecords.map((r) => r.userName),
      ['async.readonly@example.com', 'async.canonical@example.com', 'async.type@example.com'],
    );
    assert.match(
      result.invalidRecords[1].reasons[0],
      /^emails\[0\]\.type: "pigeon" is not one of the canonical values/,
    );
    assert.deepEqual(new Set(result.chunks.outcomes.map((o) => o.mode)), new Set(['async']));
    assert.equal(withPrefix(sandbox, 'async.').length, 60);
    assert.ok(
      !withPrefix(sandbox, 'async.').some((u) =>
        ['async.readonly@example.com', 'async.type@example.com'].includes(String(u.userName)),
      ),
    );

    const polls = sandbox.requestLog.filter((r) => r.method === 'GET' && /\/Bulk\/[^/]+$/.test(r.path));
    assert.ok(polls.length >= 3, `polled ${polls.length} times`);
    assert.ok(
      sandbox.requestLog.filter((r) => r.method === 'POST' && r.path.endsWith('/Bulk')).every((r) => r.status === 202),
    );
    // The first wait is the short initial delay; after a poll that said Retry-After: 1, the wait is 1 s.
    const { events } = await client().workflow.getHandle(`${handle.workflowId}-batch-0`).fetchHistory();
    const timers = (events ?? []).flatMap((e) =>
      e.timerStartedEventAttributes
        ? [
            Number(e.timerStartedEventAttributes.startToFireTimeout?.seconds ?? 0) * 1000 +
              Math.round(Number(e.timerStartedEventAttributes.startToFireTimeout?.nanos ?? 0) / 1e6),
          ]
        : [],
    );
    assert.ok(timers.length >= 1, 'polling uses workflow timers');
    assert.equal(timers[0], 500);
    if (timers.length > 1) assert.equal(timers[1], 1000);
  });

  it('a 413 splits the request in halves until the provider takes it', async () => {
    const users = Array.from({ length: 40 }, (_, i) => inlineUser(`split.${i}@example.com`));
    const { result } = await provision({ tenant: 'lying', users }, 'provision-413');
    assert.equal(result.limits.discovered.maxOperations, 1000, 'the proxy advertised 1000');
    assert.equal(result.chunks.planned, 1);
    assert.deepEqual([result.totals.created, result.totals.failed], [40, 0]);
    const outcomes = result.chunks.outcomes;
    const splits = outcomes.filter((o) => o.httpStatus === 413);
    assert.deepEqual(
      splits.map((o) => [o.chunk, o.operations]),
      [
        ['c0', 40],
        ['c0a', 20],
        ['c0aa', 10],
        ['c0ab', 10],
        ['c0b', 20],
        ['c0ba', 10],
        ['c0bb', 10],
      ],
    );
    assert.match(splits[0].detail ?? '', /413: split into c0a \(20\) and c0b \(20\)/);
    const sent = outcomes.filter((o) => o.httpStatus === 200);
    assert.equal(sent.length, 8);
    assert.ok(sent.every((o) => o.operations <= 8));
    assert.equal(withPrefix(small, 'split.').length, 40);
  });

  it('injected 429/5xx, per request and per operation, are retried to an exact result', async () => {
    const users = Array.from({ length: 80 }, (_, i) => inlineUser(`faults.${i}@example.com`));
    proxy.faults = { every: 4, status: [503, 429, 500] };
    proxy.faulted.clear();
    sandbox.clearRequestLog();
    sandbox.setSwitches({ rateLimit: { mode: 'everyNth', n: 6 }, failNext: 2, failStatus: 500 });
    try {
      const { result } = await provision(
        { tenant: 'proxied', users, maxOperationsPerRequest: 20, maxChunksInFlight: 2 },
        'provision-faults',
      );
      assert.equal(proxy.faulted.size, 20, 'every 4th operation answered 429/5xx once');
      assert.equal(result.totals.succeeded, 80);
      assert.equal(result.totals.failed, 0);
      assert.ok(result.totals.retried >= 20, `retried ${result.totals.retried}`);
      assert.ok(result.chunks.outcomes.some((o) => /resend \d+: HTTP (503|429|500)/.test(o.detail ?? '')));
    } finally {
      proxy.faults = undefined;
      sandbox.setSwitches({ rateLimit: null, failNext: 0 });
    }
    const statuses = new Set(sandbox.requestLog.map((r) => r.status));
    assert.ok(statuses.has(429) && statuses.has(500), `sandbox answered ${[...statuses].join(', ')}`);
    const users80 = withPrefix(sandbox, 'faults.');
    assert.equal(users80.length, 80);
    assertNoDuplicates(users80);
  });

  it('continue-as-new (forced with a low history limit) in the parent and in batches, with exact totals', async () => {
    const users = Array.from({ length: 120 }, (_, i) => inlineUser(`can.${i}@example.com`));
    const { handle, result } = await provision(
      {
        tenant: 'sandbox',
        users,
        maxOperationsPerRequest: 10,
        chunksPerBatch: 6,
        maxChunksInFlight: 1,
        historyEventLimit: 20,
      },
      'provision-can',
    );
    assert.deepEqual([result.totals.created, result.totals.failed, result.batches], [120, 0, 2]);
    assert.ok(result.runs >= 2, `parent ran ${result.runs} time(s)`);
    assert.ok(result.batchRuns > result.batches, `batches ran ${result.batchRuns} times for ${result.batches} batches`);
    assert.equal(withPrefix(sandbox, 'can.').length, 120);

    const startedFrom = async (h: WorkflowHandle) =>
      (await h.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
    assert.ok(await startedFrom(handle), 'the parent run that finished was continued from an earlier one');
    assert.ok(
      await startedFrom(client().workflow.getHandle(`${handle.workflowId}-batch-0`)),
      'batch 0 continued as new',
    );
    const progress = await handle.query(progressQuery);
    assert.equal(progress.run, result.runs);
    assert.equal(progress.succeeded, 120);
    const report = await handle.query(reportQuery);
    assert.equal(report.steps[0].step, 'discover ServiceProviderConfig', 'steps of earlier runs are carried');
    assert.equal(report.steps.filter((s) => s.step.startsWith('provision: batches')).length, result.runs);

    // `cxone-scim report` counts the run once, not once per continued run.
    const gathered = await gatherReport(client(), { tenant: 'sandbox', type: 'provisionUsers' });
    const runs = gathered.runs.filter((r) => r.workflowId === handle.workflowId);
    assert.equal(runs.length, 1, 'continued runs are not counted again');
    assert.equal(runs[0].totals.succeeded, 120);
  });

  it('a worker killed mid-run and restarted finishes with the exact user count and no duplicates', async (t) => {
    const file = path.join(tmp, 'kill.ndjson');
    const count = 300;
    fs.writeFileSync(
      file,
      Array.from({ length: count }, (_, i) => JSON.stringify(inlineUser(`kill.${i}@example.com`))).join('\n'),
    );
    const taskQueue = `provision-kill-${Date.now()}`;
    const env = {
      ...process.env,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: temporal.namespace,
      TEMPORAL_TASK_QUEUE: taskQueue,
      // Through the proxy, which holds each Bulk answer for 300 ms after the sandbox applied it:
      // the kill lands while users exist that the killed worker never heard about.
      CXONE_BASE_URL: proxy.url,
      CXONE_CLIENT_ID: 'sandbox-client',
      CXONE_CLIENT_SECRET: 'sandbox-secret',
      CXONE_SCOPES: 'scim:write',
      CXONE_TENANT_ID: 'killtest',
    };
    const startWorker = () => {
      const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'worker'], {
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr?.resume();
      workerProcesses.push(child);
      return child;
    };
    proxy.holdBulkAnswerMs = 300;
    try {
      const first = startWorker();
      const handle = await client().workflow.start(provisionUsers, {
        taskQueue,
        workflowId: `provision-kill-${Date.now()}`,
        args: [
          {
            tenant: 'killtest',
            source: { path: file },
            maxOperationsPerRequest: 10,
            maxChunksInFlight: 2,
            chunksPerBatch: 3,
          },
        ],
      });
      // Kill it once a good part, but not all, of the users exist.
      const deadline = Date.now() + 120_000;
      while (withPrefix(sandbox, 'kill.').length < 60) {
        assert.ok(Date.now() < deadline, 'the first worker never got going');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      first.kill('SIGKILL');
      await new Promise((resolve) => first.once('exit', resolve));
      const atKill = withPrefix(sandbox, 'kill.').length;
      assert.ok(atKill < count, `all ${count} users existed before the kill`);

      startWorker();
      const result = (await handle.result()) as ProvisionUsersResult;
      const users = withPrefix(sandbox, 'kill.');
      assert.equal(users.length, count, `killed at ${atKill}`);
      assertNoDuplicates(users);
      assert.equal(result.totals.succeeded, count);
      assert.equal(result.totals.failed, 0);
      assert.equal(result.totals.created + result.totals.unchanged, count);
      assert.ok(
        result.totals.unchanged > 0,
        'the Bulk request in flight at the kill was sent again and its 409s resolved as existing users',
      );
      t.diagnostic(
        `killed with ${atKill}/${count} users created; after restart: ${result.totals.created} created, ${result.totals.unchanged} found existing`,
      );
    } finally {
      proxy.holdBulkAnswerMs = undefined;
      for (const child of workerProcesses)
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    }
  });

  it('cxone-scim provision <file> --mapping: live progress on stderr, then the report', async () => {
    const cli = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
    const outcome = await run(
      process.execPath,
      [
        cli,
        'provision',
        path.join(FIXTURES, 'users.csv'),
        '--mapping',
        path.join(FIXTURES, 'mapping.json'),
        '--tenant',
        'sandbox',
      ],
      { env: { ...process.env, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_TASK_QUEUE: worker.settings.taskQueue } },
    ).then(
      (r) => ({ code: 0, ...r }),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    assert.equal(outcome.code, 2, `exit code 2: finished with invalid records\n${outcome.stderr}`);
    assert.match(outcome.stderr, /\[#+\]\s+100% completed 10\/10 users · ok 7 · failed 0 · invalid 3/);
    assert.match(outcome.stdout, /provisionUsers provision-users-sandbox-\S+ \(tenant sandbox\): partial/);
    assert.match(
      outcome.stdout,
      /users: 10 in source, 7 valid, 3 invalid; 7 created, 0 updated, 0 unchanged, 0 failed/,
    );
    assert.match(outcome.stdout, /record 6 \(line 7\): active: cannot read "maybe" as a boolean/);
    assert.equal(
      sandbox
        .listUsers()
        .filter(
          (u) =>
            String(u.userName).endsWith('@example.com') &&
            /^(ada|grace|alan|katherine|barbara|donald|margaret)\./.test(String(u.userName)),
        ).length,
      7,
    );
  });
});
