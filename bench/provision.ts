// Benchmark: provision N users into the CXone sandbox three ways, in one run:
//   1. the provisionUsers workflow (embedded Temporal dev server, worker in its own process,
//      users from a CSV file with an attribute mapping);
//   2. a direct-HTTP bulk baseline: the same discovery, plan and Bulk requests (the same
//      activity code, called as plain functions), same requests in flight, no Temporal — run
//      before and after the workflow, the ratio taken against their mean (the machine's load moves);
//   3. a client that POSTs one user per request to /Users, same concurrency;
// then, against a sandbox with Bulk off and 20 ms latency, the workflow's per-resource path
// beside a direct HTTP client making the same calls at the same concurrency (bench/per-resource.ts),
// with the ratio of their throughputs; and the per-resource path against the same sandbox rate
// limited (a token bucket of N requests, N per second), with the tenant's maxRequestsPerSecond set
// to N: the requests it got through per second, as a ratio of N.
// Prints users/s for each, the worker's peak RSS, and the largest history length of any run of
// the workflow or its batches (counted from the histories themselves).
//
// Usage: npm run bench:provision -- --users 10000 [--in-flight 4] [--max-operations 1000] [--async]
//        [--per-resource-users 10000] [--records-in-flight 4] [--rate-limit 100] [--rate-limit-users 2000]
//        [--only bulk,per-resource,rate-limit]
//        npm run bench:provision -- --memory [--memory-users 10000,1000000] [--memory-per-resource-users 10000,200000]
//          [--worker-heap-mb 256]
//          (at each size: worker peak RSS, largest event payload and largest history of the run and its
//          batches, and their ratios to the smallest size; --worker-heap-mb caps the worker's V8 old space)
// Each way gets a fresh in-memory sandbox in this process (no latency, no faults).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { Command } from 'commander';
import { createBulkChunkActivities, type ChunkSubmission } from '../src/activities/bulk-chunks';
import { createProvisioningActivities, type ProvisionPlan } from '../src/activities/provisioning';
import { createActivityDeps } from '../src/activities';
import { sandboxTenant } from '../src/cli/dev';
import { TenantRegistry } from '../src/config/tenants';
import { ScimClient, TenantTokenProvider } from '../src/http';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import { bulkLimitsOf, userSchemaModel } from '../src/scim/user-validation';
import { startTemporal } from '../src/temporal/server';
import { provisionUsers, type ProvisionUsersInput, type ProvisionUsersResult } from '../src/workflows';
import { printMemoryFigures } from './memory';
import { perResourceSandbox, scimRequests, viaDirectPerResource } from './per-resource';
import { withBenchWorker } from './worker-process';

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';

const MAPPING = {
  attributes: {
    userName: { source: 'email', transform: ['trim', 'lowercase'] },
    externalId: 'employee_id',
    'name.givenName': 'first_name',
    'name.familyName': 'last_name',
    displayName: { source: ['first_name', 'last_name'], join: ' ' },
    'emails[type eq "work"].value': { source: 'email', transform: 'lowercase' },
    'emails[type eq "work"].primary': { constant: true },
    active: { source: 'enabled', transform: 'boolean', default: true },
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department': 'department',
  },
};

interface Figures {
  way: string;
  users: number;
  seconds: number;
  requests: number;
}

function writeCsv(file: string, users: number): void {
  const lines = ['employee_id,email,first_name,last_name,department,enabled'];
  for (let i = 0; i < users; i++)
    lines.push(`E${i},Bench.User${i}@Example.com,Bench,User ${i},Dept ${i % 20},${i % 50 === 0 ? 'false' : 'true'}`);
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
}

/** Bytes of payload an event carries: every byte string in it (payload data and metadata). */
function payloadBytesOf(value: unknown): number {
  if (value instanceof Uint8Array) return value.length;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + payloadBytesOf(v), 0);
  if (value && typeof value === 'object')
    return Object.values(value).reduce((n: number, v) => n + payloadBytesOf(v), 0);
  return 0;
}

/** The largest history (events) and the largest event payload of the runs of these workflow ids. */
export interface HistoryFigures {
  largest: number;
  where: string;
  largestPayload: number;
  payloadWhere: string;
}

/** Every run of each workflow id (newest backwards along continue-as-new), read one at a time. */
async function historyFigures(client: Client, workflowIds: string[]): Promise<HistoryFigures> {
  const figures: HistoryFigures = { largest: 0, where: '', largestPayload: 0, payloadWhere: '' };
  for (const workflowId of workflowIds) {
    let runId: string | undefined;
    for (let run = 1; ; run++) {
      const events = (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
      const where = `${workflowId}${run > 1 ? ` (run ${run} from the last)` : ''}`;
      if (events.length > figures.largest) Object.assign(figures, { largest: events.length, where });
      for (const event of events) {
        const bytes = payloadBytesOf(event);
        if (bytes > figures.largestPayload)
          Object.assign(figures, {
            largestPayload: bytes,
            payloadWhere: `${where}, event ${event.eventId} ${proto.api.enums.v1.EventType[event.eventType ?? 0]}`,
          });
      }
      const previous = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
      if (!previous) break;
      runId = previous;
    }
  }
  return figures;
}

/** How a workflow run is set up: its sandbox (started, switches set), input extras, users in the file. */
interface WorkflowWay {
  way: string;
  users: number;
  sandbox: () => Promise<Sandbox>;
  input: Partial<ProvisionUsersInput>;
  /** The worker's environment on top of the sandbox tenant's (e.g. its rate limit). */
  env?: Record<string, string>;
  /** Reads what it needs from the sandbox after the run, before it closes. */
  inspect?: (sandbox: Sandbox) => void;
}

async function viaWorkflow(
  options: Options,
  file: string,
  setup: WorkflowWay = {
    way: 'provisionUsers workflow (Temporal)',
    users: options.users,
    sandbox: () => startSandbox({ port: 0, bulkMaxOperations: options.maxOperations, requestLogLimit: 1000 }),
    input: { preferAsync: options.async },
  },
): Promise<
  Figures & {
    failed: number;
    peakRssMb: number;
    history: HistoryFigures & { runs: number; batchRuns: number };
  }
> {
  const temporal = await startTemporal({});
  const sandbox = await setup.sandbox();
  const taskQueue = `provision-bench-${process.pid}`;
  try {
    return await withBenchWorker(
      { temporal, sandbox, taskQueue, tenantId: 'bench', env: setup.env },
      async (worker) => {
        const client = temporal.testEnv.client;
        const workflowId = `provision-bench-${Date.now()}`;
        const started = performance.now();
        const result: ProvisionUsersResult = await client.workflow.execute(provisionUsers, {
          taskQueue,
          workflowId,
          args: [
            {
              tenant: 'bench',
              source: { path: file, mapping: MAPPING },
              maxChunksInFlight: options.inFlight,
              ...setup.input,
            },
          ],
        });
        const seconds = (performance.now() - started) / 1000;
        if (result.totals.succeeded !== setup.users || sandbox.countUsers() !== setup.users) {
          throw new Error(
            `workflow: ${result.totals.succeeded} succeeded, sandbox has ${sandbox.countUsers()} of ${setup.users}`,
          );
        }
        setup.inspect?.(sandbox);
        const largest = await historyFigures(client, [
          workflowId,
          ...Array.from({ length: result.batches }, (_, i) => `${workflowId}-batch-${i}`),
        ]);
        return {
          way: setup.way,
          users: result.totals.succeeded,
          failed: result.totals.failed + result.totals.invalid,
          seconds,
          requests: result.chunks.requests,
          peakRssMb: worker.peakRssMb(),
          history: { ...largest, runs: result.runs, batchRuns: result.batchRuns },
        };
      },
    );
  } finally {
    await sandbox.close();
    await temporal.stop();
  }
}

/** The same calls as the workflow's activities, as plain async functions, `inFlight` at once. */
async function viaDirectHttp(options: Options, file: string): Promise<Figures> {
  const sandbox = await startSandbox({ port: 0, bulkMaxOperations: options.maxOperations, requestLogLimit: 1000 });
  try {
    const tenant = sandboxTenant(sandbox, 'bench');
    const deps = createActivityDeps(new TenantRegistry([tenant]));
    const activities = { ...createProvisioningActivities(deps), ...createBulkChunkActivities(deps) };
    const client = new ScimClient({ tenant, tokens: deps.tokens });
    const started = performance.now();
    const [spc, resourceTypes, schemas] = await Promise.all(
      ['/ServiceProviderConfig', '/ResourceTypes', '/Schemas'].map((p) => client.get(p)),
    );
    const limits = bulkLimitsOf(spc.body);
    const model = userSchemaModel(resourceTypes.body, schemas.body);
    if (!limits.ok || !model.ok) throw new Error('discovery failed');
    const plan: ProvisionPlan = await activities.planProvisioning({
      tenant: 'bench',
      source: { kind: 'file', path: file, mapping: MAPPING },
      model: model.model,
      limits: { maxOperations: limits.limits.maxOperations, maxPayloadSize: limits.limits.maxPayloadSize },
      maxReported: 100,
    });
    let succeeded = 0;
    let next = 0;
    const base = {
      tenant: 'bench',
      source: plan.file!,
      endpoint: model.model.endpoint,
      patchSupported: true,
      maxReported: 100,
      preferAsync: options.async,
    };
    await Promise.all(
      Array.from({ length: options.inFlight }, async () => {
        while (next < plan.chunks.length) {
          const chunk = plan.chunks[next++];
          let submission: ChunkSubmission = await activities.submitBulkChunk({ ...base, chunk });
          while (submission.state === 'pending') {
            await new Promise((resolve) =>
              setTimeout(resolve, submission.state === 'pending' ? (submission.retryAfterMs ?? 500) : 0),
            );
            submission = await activities.pollBulkChunk({ ...base, chunk, jobUrl: submission.jobUrl });
          }
          if (submission.state !== 'completed' || submission.retry.length > 0 || submission.failed > 0)
            throw new Error(`chunk ${chunk.id} did not fully succeed`);
          succeeded += submission.created + submission.updated + submission.unchanged;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    if (succeeded !== options.users || sandbox.countUsers() !== options.users)
      throw new Error(`direct: ${succeeded} succeeded, sandbox has ${sandbox.countUsers()}`);
    return {
      way: 'direct HTTP bulk (same calls, no Temporal)',
      users: succeeded,
      seconds,
      requests: plan.chunks.length,
    };
  } finally {
    await sandbox.close();
  }
}

async function viaSingleUserPosts(options: Options): Promise<Figures> {
  const sandbox = await startSandbox({ port: 0, requestLogLimit: 1000 });
  try {
    const client = new ScimClient({ tenant: sandboxTenant(sandbox, 'bench'), tokens: new TenantTokenProvider() });
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: options.inFlight }, async () => {
        while (next < options.users) {
          const i = next++;
          await client.post('/Users', {
            schemas: [CORE, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
            userName: `bench.user${i}@example.com`,
            externalId: `E${i}`,
            name: { givenName: 'Bench', familyName: `User ${i}` },
            displayName: `Bench User ${i}`,
            emails: [{ value: `bench.user${i}@example.com`, type: 'work', primary: true }],
            active: i % 50 !== 0,
            'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: `Dept ${i % 20}` },
          });
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    if (sandbox.countUsers() !== options.users) throw new Error(`single: sandbox has ${sandbox.countUsers()}`);
    return { way: 'one POST /Users per user', users: options.users, seconds, requests: options.users };
  } finally {
    await sandbox.close();
  }
}

/** Bulk: the workflow, the direct-HTTP bulk baseline and one POST per user, on `file`. */
async function bulkSection(options: Options, file: string): Promise<void> {
  // The baseline before and after the workflow, so that a change in the machine's load shows.
  const before = await viaDirectHttp(options, file);
  const workflow = await viaWorkflow(options, file);
  // A copy of the file, so that nothing kept by path from the first baseline's read serves the second.
  const copy = path.join(path.dirname(file), `after-${path.basename(file)}`);
  fs.copyFileSync(file, copy);
  const after = await viaDirectHttp(options, copy);
  const single = await viaSingleUserPosts(options);
  const rows = [
    { ...before, way: `${before.way}, before` },
    workflow,
    { ...after, way: `${after.way}, after` },
    single,
  ];
  const pad = Math.max(...rows.map((r) => r.way.length));
  console.log(`${'way'.padEnd(pad)}  users/s   seconds  requests`);
  for (const r of rows) {
    console.log(
      `${r.way.padEnd(pad)}  ${(r.users / r.seconds).toFixed(0).padStart(7)}  ${r.seconds.toFixed(2).padStart(8)}  ${String(r.requests).padStart(8)}`,
    );
  }
  console.log(`peak worker RSS: ${workflow.peakRssMb.toFixed(0)} MB`);
  console.log(
    `largest history: ${workflow.history.largest} events (${workflow.history.where}); ` +
      `parent runs ${workflow.history.runs}, batch runs ${workflow.history.batchRuns}`,
  );
  console.log(`largest event payload: ${workflow.history.largestPayload} bytes (${workflow.history.payloadWhere})`);
  console.log(`ratio bulk, workflow / direct: ${ratioOf(workflow, [before, after])}`);
}

/** The workflow's users/s over the mean of the baseline's runs before and after it, and the range against each. */
function ratioOf(workflow: Figures, baselines: Figures[]): string {
  const rate = (f: Figures) => f.users / f.seconds;
  const each = baselines.map((b) => rate(workflow) / rate(b));
  const mean = baselines.reduce((sum, b) => sum + rate(b), 0) / baselines.length;
  return `${(rate(workflow) / mean).toFixed(2)} (users/s, against the mean of the baseline before and after; ${Math.min(...each).toFixed(2)}–${Math.max(...each).toFixed(2)} against each)`;
}

/**
 * Per resource (a provider without Bulk, 20 ms latency): the workflow against a direct HTTP
 * client making the same calls (one lookup, then a POST) with as many requests in flight.
 */
async function perResourceSection(options: Options, dir: string): Promise<void> {
  const file = path.join(dir, 'per-resource.csv');
  writeCsv(file, options.perResourceUsers);
  const concurrency = options.inFlight * options.recordsInFlight;
  let workflowRequests = 0;
  const before = await viaDirectPerResource(file, MAPPING, options.perResourceUsers, concurrency);
  const perResource = await viaWorkflow(options, file, {
    way: 'provisionUsers per resource (Temporal)',
    users: options.perResourceUsers,
    sandbox: () => perResourceSandbox(),
    input: { maxChunksInFlight: options.inFlight, recordsInFlight: options.recordsInFlight },
    inspect: (sandbox) => (workflowRequests = scimRequests(sandbox).total),
  });
  const after = await viaDirectPerResource(file, MAPPING, options.perResourceUsers, concurrency);
  console.log(
    `\nper resource: ${options.perResourceUsers} users, Bulk off, 20 ms latency, ${concurrency} requests in flight both ways (per user: one lookup by userName or externalId, then a POST)`,
  );
  const rows = [
    { ...before, way: `${before.way}, before` },
    { ...perResource, requests: workflowRequests },
    { ...after, way: `${after.way}, after` },
  ];
  const pad = Math.max(...rows.map((r) => r.way.length));
  console.log(`${'way'.padEnd(pad)}  users/s   seconds  requests`);
  for (const r of rows) {
    console.log(
      `${r.way.padEnd(pad)}  ${(r.users / r.seconds).toFixed(0).padStart(7)}  ${r.seconds.toFixed(2).padStart(8)}  ${String(r.requests).padStart(8)}`,
    );
  }
  console.log(`ratio per resource, workflow / direct: ${ratioOf(perResource, [before, after])}`);
}

/**
 * Per resource against a sandbox that answers 429 (with Retry-After) past a token bucket of N
 * requests refilled at N per second: once with the tenant's maxRequestsPerSecond set to N, once
 * with no limit configured (Retry-After alone). The figure is the /Users requests answered while
 * records were being written, as a ratio of the most the bucket allows over that time (N at
 * once, then N per second).
 */
async function rateLimited(options: Options, dir: string): Promise<void> {
  const file = path.join(dir, 'rate-limited.csv');
  writeCsv(file, options.rateLimitUsers);
  const n = options.rateLimit;
  console.log(
    `\nper resource at a rate limit: ${options.rateLimitUsers} users, sandbox bucket:${n}/${n} (429 + Retry-After past it), 20 ms latency, ${options.inFlight * options.recordsInFlight} records in flight`,
  );
  for (const configured of [true, false]) {
    let answered = { accepted: 0, throttled: 0, seconds: 0 };
    const run = await viaWorkflow(options, file, {
      way: 'provisionUsers per resource, rate limited',
      users: options.rateLimitUsers,
      sandbox: () => perResourceSandbox({ mode: 'tokenBucket', capacity: n, refillPerSecond: n }),
      input: { maxChunksInFlight: options.inFlight, recordsInFlight: options.recordsInFlight },
      env: configured ? { CXONE_MAX_REQUESTS_PER_SECOND: String(n) } : {},
      inspect: (sandbox) => (answered = sustained(sandbox)),
    });
    const allowed = n + n * answered.seconds;
    console.log(
      `${configured ? `tenant maxRequestsPerSecond ${n}` : 'no tenant limit (Retry-After only)'}: ${run.users} users in ${run.seconds.toFixed(2)} s, ` +
        `${run.users} succeeded, ${run.failed} failed; ${answered.accepted} requests answered in ${answered.seconds.toFixed(2)} s while writing ` +
        `(${(answered.accepted / answered.seconds).toFixed(1)}/s), ${answered.throttled} answered 429`,
    );
    console.log(
      `ratio sustained / limit${configured ? '' : ' (no tenant limit)'}: ${(answered.accepted / allowed).toFixed(2)} (${answered.accepted} of at most ${allowed.toFixed(0)})`,
    );
  }
}

/** Requests to /Users answered (not 429), and the time from the first to the last of them. */
function sustained(sandbox: Sandbox): { accepted: number; throttled: number; seconds: number } {
  const writes = sandbox.requestLog.filter((r) => /\/Users(\/|$)/.test(r.path));
  const accepted = writes.filter((r) => r.status !== 429);
  const times = accepted.map((r) => Date.parse(r.at));
  return {
    accepted: accepted.length,
    throttled: writes.length - accepted.length,
    seconds: (Math.max(...times) - Math.min(...times)) / 1000,
  };
}

interface Options {
  users: number;
  inFlight: number;
  maxOperations: number;
  async: boolean;
  perResourceUsers: number;
  recordsInFlight: number;
  rateLimit: number;
  rateLimitUsers: number;
  only: string;
  memory: boolean;
  memoryUsers: number[];
  memoryPerResourceUsers: number[];
  workerHeapMb?: number;
}

const SECTIONS = ['bulk', 'per-resource', 'rate-limit'];

/** `10000,1000000` → [10000, 1000000]; an empty list is none. */
function sizes(list: string): number[] {
  return list
    .split(',')
    .filter((v) => v.trim() !== '')
    .map((v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) throw new Error(`not a number of users: ${v}`);
      return n;
    });
}

async function main(): Promise<void> {
  const program = new Command()
    .option('--users <n>', 'users to provision', (v) => Number(v), 10_000)
    .option('--in-flight <n>', 'requests in flight (all three ways)', (v) => Number(v), 4)
    .option('--max-operations <n>', "the sandbox's bulk.maxOperations", (v) => Number(v), 1000)
    .option('--async', 'ask for asynchronous bulk (202 + job)', false)
    .option(
      '--per-resource-users <n>',
      'users for the per-resource comparison (Bulk off, 20 ms latency)',
      (v) => Number(v),
      10_000,
    )
    .option('--records-in-flight <n>', 'per resource: records of a slice written at once', (v) => Number(v), 4)
    .option(
      '--rate-limit <n>',
      'per resource at a rate limit: the sandbox answers 429 past bucket:N/N',
      (v) => Number(v),
      100,
    )
    .option('--rate-limit-users <n>', 'users for the rate-limited run', (v) => Number(v), 2000)
    .option('--only <sections>', `comma-separated: ${SECTIONS.join(', ')} (default: all)`, SECTIONS.join(','))
    .option('--memory', "only the workflow, at each of --memory-users: the worker's peak RSS and the ratio", false)
    .option('--memory-users <list>', 'source sizes for --memory, through Bulk', sizes, [10_000, 100_000])
    .option(
      '--memory-per-resource-users <list>',
      'source sizes for --memory, per resource (Bulk off, no latency); none by default',
      sizes,
      [],
    )
    .option('--worker-heap-mb <n>', "the worker's V8 old space limit (--max-old-space-size), default V8's", (v) =>
      Number(v),
    )
    .parse(process.argv);
  const options = program.opts<Options>();
  const sections = new Set(options.only.split(',').map((v) => v.trim()));
  for (const section of sections)
    if (!SECTIONS.includes(section))
      throw new Error(`--only: unknown section "${section}" (sections: ${SECTIONS.join(', ')})`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-provision-'));
  // The chunks' stored users (claim checks) go with the benchmark's files, for the worker and the baseline alike.
  process.env.CXONE_SCIM_CLAIM_STORE ??= path.join(dir, 'claims');
  if (options.workerHeapMb)
    process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=${options.workerHeapMb}`.trim(); // the worker inherits it
  if (options.memory) {
    // One size at a time: its file and its claims are removed before the next.
    const atSize = async (users: number, setup?: WorkflowWay) => {
      const file = path.join(dir, `memory-${users}.csv`);
      writeCsv(file, users);
      try {
        return await viaWorkflow({ ...options, users }, file, setup && { ...setup, users });
      } finally {
        fs.rmSync(file);
        const claims = path.join(dir, 'claims');
        if (process.env.CXONE_SCIM_CLAIM_STORE === claims) fs.rmSync(claims, { recursive: true, force: true });
      }
    };
    try {
      if (options.memoryUsers.length > 0)
        await printMemoryFigures(
          `Bulk (≤ ${options.maxOperations} operations per request)`,
          options.memoryUsers,
          (users) => atSize(users),
        );
      if (options.memoryPerResourceUsers.length > 0)
        await printMemoryFigures(
          `per resource (Bulk off, no latency, ${options.inFlight * options.recordsInFlight} records in flight)`,
          options.memoryPerResourceUsers,
          (users) =>
            atSize(users, {
              way: 'provisionUsers per resource (Temporal)',
              users,
              sandbox: async () => {
                const sandbox = await perResourceSandbox();
                sandbox.setSwitches({ latencyMs: 0 });
                return sandbox;
              },
              input: { maxChunksInFlight: options.inFlight, recordsInFlight: options.recordsInFlight },
            }),
        );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    return;
  }
  const file = path.join(dir, 'users.csv');
  writeCsv(file, options.users);
  console.log(
    `provision benchmark: ${options.users} users (CSV ${(fs.statSync(file).size / 1e6).toFixed(1)} MB + mapping), ` +
      `bulk ≤ ${options.maxOperations} operations, ${options.inFlight} requests in flight, ${options.async ? 'async' : 'sync'} bulk; ` +
      `${os.cpus().length} CPUs, Node ${process.version}`,
  );
  try {
    if (sections.has('bulk')) await bulkSection(options, file);
    if (sections.has('per-resource')) await perResourceSection(options, dir);
    if (sections.has('rate-limit')) await rateLimited(options, dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
