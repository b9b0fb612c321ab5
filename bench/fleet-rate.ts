// One rate limit for the fleet: worker processes provision users one resource at a time against a
// sandbox that answers 429 (Retry-After) past a token bucket of R requests refilled at R per
// second, with the tenant's maxRequestsPerSecond set to R. Printed for one worker, for three (the
// tenant's tenantRateLimiter shares R among them), and for three with CXONE_SCIM_RATE_LIMIT_SCOPE=
// worker (each keeps R alone: the fleet asks for 3 R): the requests answered per second in the
// steady part of the run as a ratio of R, and the share of requests answered 429.
//
// Usage: npx tsc -b && node dist/bench/fleet-rate.js [--rate 50] [--users 900] [--seconds-per-run]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import type { Sandbox } from 'cxone-sandbox';
import { startTemporal, type TemporalEnvironment } from '../src/temporal/server';
import { rateLimiterWorkflowId } from '../src/temporal/rate-limit-protocol';
import { provisionUsers } from '../src/workflows';
import { perResourceSandbox } from './per-resource';
import { type BenchWorker, withBenchWorker } from './worker-process';

const MAPPING = {
  attributes: {
    userName: { source: 'email', transform: ['trim', 'lowercase'] },
    externalId: 'employee_id',
    'name.givenName': 'first_name',
    'name.familyName': 'last_name',
    'emails[type eq "work"].value': { source: 'email', transform: 'lowercase' },
    'emails[type eq "work"].primary': { constant: true },
  },
};

export interface RateFigures {
  workers: number;
  scope: 'fleet' | 'worker';
  /** Requests answered (not 429) per second in the steady window, and that window. */
  sustained: number;
  windowSeconds: number;
  requests: number;
  throttled: number;
  users: number;
  seconds: number;
  /** Worker processes that asked the tenant's limiter for a share (0: scope=worker). */
  askers: number;
}

/** The distinct workers whose requestBudget updates the tenant's limiter accepted (every run of it). */
export async function limiterAskers(temporal: TemporalEnvironment, taskQueue: string, tenant: string): Promise<number> {
  const workers = new Set<string>();
  let runId: string | undefined;
  for (;;) {
    const history = await temporal.testEnv.client.workflow
      .getHandle(rateLimiterWorkflowId(taskQueue, tenant), runId)
      .fetchHistory();
    for (const event of history.events ?? []) {
      const payload = event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.args?.payloads?.[0];
      if (payload?.data)
        workers.add((JSON.parse(Buffer.from(payload.data).toString('utf8')) as { worker: string }).worker);
    }
    runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
    if (!runId) return workers.size;
  }
}

/** Starts `count` worker processes one after the other, runs `body` with all of them up, stops them. */
export async function withWorkers<T>(
  count: number,
  options: Parameters<typeof withBenchWorker>[0],
  body: (workers: BenchWorker[]) => Promise<T>,
  started: BenchWorker[] = [],
): Promise<T> {
  if (started.length === count) return body(started);
  return withBenchWorker(options, (worker) => withWorkers(count, options, body, [...started, worker]));
}

/** SCIM requests the sandbox saw, answered and 429, and the steady rate: answered per second between 2 s after the first and 2 s before the last. */
export function measuredAtSandbox(sandbox: Sandbox): {
  answered: number;
  throttled: number;
  sustained: number;
  windowSeconds: number;
} {
  const scim = sandbox.requestLog.filter((r) => r.path.startsWith('/scim/'));
  const answered = scim.filter((r) => r.status !== 429).map((r) => Date.parse(r.at));
  const first = Math.min(...answered);
  const last = Math.max(...answered);
  const from = first + 2000;
  const to = last - 2000;
  const inWindow = answered.filter((t) => t >= from && t <= to).length;
  return {
    answered: answered.length,
    throttled: scim.length - answered.length,
    sustained: inWindow / ((to - from) / 1000),
    windowSeconds: (to - from) / 1000,
  };
}

async function run(
  temporal: TemporalEnvironment,
  options: { rate: number; users: number; workers: number; scope: 'fleet' | 'worker'; file: string },
): Promise<RateFigures> {
  const sandbox = await perResourceSandbox({
    mode: 'tokenBucket',
    capacity: options.rate,
    refillPerSecond: options.rate,
  });
  const taskQueue = `fleet-rate-${options.workers}-${options.scope}-${process.pid}`;
  try {
    return await withWorkers(
      options.workers,
      {
        temporal,
        sandbox,
        taskQueue,
        tenantId: 'bench',
        env: { CXONE_MAX_REQUESTS_PER_SECOND: String(options.rate), CXONE_SCIM_RATE_LIMIT_SCOPE: options.scope },
      },
      async () => {
        sandbox.clearRequestLog();
        const started = performance.now();
        const result = await temporal.testEnv.client.workflow.execute(provisionUsers, {
          taskQueue,
          workflowId: `${taskQueue}-${Date.now()}`,
          args: [
            {
              tenant: 'bench',
              source: { path: options.file, mapping: MAPPING },
              mode: 'per-resource',
              // Far more requests in flight than R allows, spread over every worker.
              maxChunksInFlight: 3 * options.workers,
              // One slice per batch: each batch lands on whichever worker polls first, and its
              // activities run there (eager dispatch), so every worker sends.
              chunksPerBatch: 1,
              recordsPerSlice: 50,
              recordsInFlight: 8,
            },
          ],
        });
        const seconds = (performance.now() - started) / 1000;
        if (result.totals.succeeded !== options.users || sandbox.countUsers() !== options.users)
          throw new Error(
            `${result.totals.succeeded} succeeded, sandbox has ${sandbox.countUsers()} of ${options.users}`,
          );
        const at = measuredAtSandbox(sandbox);
        const askers = options.scope === 'fleet' ? await limiterAskers(temporal, taskQueue, 'bench') : 0;
        return {
          workers: options.workers,
          scope: options.scope,
          sustained: at.sustained,
          windowSeconds: at.windowSeconds,
          requests: at.answered + at.throttled,
          throttled: at.throttled,
          users: result.totals.succeeded,
          seconds,
          askers,
        };
      },
    );
  } finally {
    await sandbox.close();
  }
}

export function printRate(f: RateFigures, rate: number): void {
  const label = `${f.workers} worker${f.workers > 1 ? 's' : ''}${f.scope === 'worker' ? ' (scope=worker: R per process)' : ''}`;
  console.log(
    `${label.padEnd(42)}${f.askers ? ` (${f.askers} asked the limiter)` : ''} sustained ${f.sustained.toFixed(1).padStart(6)}/s = ${(f.sustained / rate).toFixed(3)} R over ${f.windowSeconds.toFixed(1)} s; ` +
      `429: ${f.throttled} of ${f.requests} requests = ${((100 * f.throttled) / f.requests).toFixed(2)} %; ${f.users} users in ${f.seconds.toFixed(1)} s`,
  );
}

async function main(): Promise<void> {
  const options = new Command()
    .option(
      '--rate <n>',
      'R: the sandbox bucket (R at once, R per second) and the tenant maxRequestsPerSecond',
      Number,
      50,
    )
    .option('--users <n>', 'users per run (about two requests each)', Number, 900)
    .option('--skip-control', 'leave out three workers with scope=worker')
    .parse()
    .opts<{ rate: number; users: number; skipControl?: boolean }>();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-rate-'));
  const temporal = await startTemporal({});
  try {
    console.log(
      `fleet rate limit: sandbox token bucket R=${options.rate}/s (429 + Retry-After past it), 20 ms latency; tenant maxRequestsPerSecond R; ${options.users} users per run, per resource`,
    );
    const runs: Array<[number, 'fleet' | 'worker']> = [
      [1, 'fleet'],
      [3, 'fleet'],
      ...(options.skipControl ? [] : ([[3, 'worker']] as Array<[number, 'worker']>)),
    ];
    for (const [workers, scope] of runs) {
      const file = path.join(dir, `users-${workers}-${scope}.csv`);
      const lines = ['employee_id,email,first_name,last_name'];
      for (let i = 0; i < options.users; i++)
        lines.push(`E${workers}${scope}${i},fleet.${workers}.${scope}.${i}@example.com,Fleet,User ${i}`);
      fs.writeFileSync(file, `${lines.join('\n')}\n`);
      printRate(await run(temporal, { ...options, workers, scope, file }), options.rate);
    }
  } finally {
    await temporal.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
