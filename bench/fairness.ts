// Fair scheduling: tenant B's CXone lifecycle events (one userLifecycle workflow per user, synced
// to B's identity provider) arrive while tenant A provisions users one resource at a time on the
// same worker, whose activity slots A's slices fill (a backlog forms on the task queue). B's lag
// per event: from the signal to the IdP write completed, read from each workflow's history.
// Three runs on one dev server (Priority and Fairness on, src/temporal/server.ts):
//   B alone; B during A's load with priorities (B lifecycle 2, A bulk 4, tenant fairness keys);
//   B during A's load with no priority or fairness key (arrival order, as before).
// Scaled down to run in a few minutes: A starts a 20 000-user run and is terminated once B's
// events are measured; the worker has --slots activity slots.
//
// Usage: npx tsc -b && node dist/bench/fairness.js [--users 20000] [--events 40] [--every-ms 250] [--slots 8]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { Command } from 'commander';
import { startSandbox } from 'cxone-sandbox';
import { sandboxTenant } from '../src/cli/dev';
import { TenantRegistry } from '../src/config/tenants';
import { workPriority } from '../src/temporal/priority';
import { startTemporal, type TemporalEnvironment } from '../src/temporal/server';
import { createProjectWorker } from '../src/worker';
import { userLifecycleWorkflowId } from '../src/workflows/user-lifecycle/workflow';
import { lifecycleEventSignal, provisionUsers, stateQuery, userLifecycle } from '../src/workflows';
import { perResourceSandbox } from './per-resource';

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';

interface Options {
  users: number;
  events: number;
  everyMs: number;
  slots: number;
}

interface LagFigures {
  label: string;
  lagsMs: number[];
  aWritten?: number;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Signal to IdP write completed, from the workflow's history (server clock both ends). */
async function lagOf(client: Client, workflowId: string): Promise<number> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const signaled = events.find((e) => e.workflowExecutionSignaledEventAttributes);
  const synced = events.find((e) => e.activityTaskCompletedEventAttributes);
  const ms = (e: (typeof events)[number] | undefined) =>
    Number(e?.eventTime?.seconds ?? 0) * 1000 + Math.round((e?.eventTime?.nanos ?? 0) / 1e6);
  if (!signaled || !synced) throw new Error(`${workflowId}: no signal or no completed IdP write in its history`);
  return ms(synced) - ms(signaled);
}

async function scenario(
  temporal: TemporalEnvironment,
  options: Options,
  run: { label: string; load: boolean; priorities: boolean; file: string },
): Promise<LagFigures> {
  const [a, b, idp] = await Promise.all([perResourceSandbox(), startSandbox({ port: 0 }), startSandbox({ port: 0 })]);
  const taskQueue = `fairness-${run.label.replace(/\W+/g, '-')}-${process.pid}`;
  const client = temporal.testEnv.client;
  const worker = await createProjectWorker({
    settings: { address: temporal.address, namespace: temporal.namespace, taskQueue },
    tenants: new TenantRegistry([sandboxTenant(a, 'a'), sandboxTenant(b, 'b'), sandboxTenant(idp, 'idp-b')]),
    connection: temporal.testEnv.nativeConnection,
    maxConcurrentActivityTaskExecutions: options.slots,
  });
  const running = worker.run();
  try {
    const aId = `${taskQueue}-a`;
    if (run.load) {
      await client.workflow.start(provisionUsers, {
        taskQueue,
        workflowId: aId,
        args: [
          {
            tenant: 'a',
            source: { path: run.file, mapping: { attributes: { userName: 'email', externalId: 'employee_id' } } },
            mode: 'per-resource',
            maxChunksInFlight: options.slots * 5,
            recordsPerSlice: 50,
          },
        ],
        ...(run.priorities ? { priority: workPriority('bulk', 'a') } : {}),
      });
      // Until A's slices fill the worker and queue up behind it.
      while (a.countUsers() < 200) await pause(100);
    }
    const ids: string[] = [];
    for (let i = 0; i < options.events; i++) {
      const userId = `${taskQueue}-${i}`;
      const workflowId = userLifecycleWorkflowId('b', userId);
      ids.push(workflowId);
      const userName = `b.${i}.${process.pid}.${run.load ? 'load' : 'alone'}${run.priorities ? '' : '.fifo'}@b.example.com`;
      await client.workflow.signalWithStart(userLifecycle, {
        workflowId,
        taskQueue,
        args: [{ tenant: 'b', userId, idp: { type: 'scim', tenant: 'idp-b' } }],
        signal: lifecycleEventSignal,
        signalArgs: [
          {
            eventId: `ev-${userId}`,
            eventType: 'USER_CREATED',
            userId,
            timestamp: new Date().toISOString(),
            user: { schemas: [CORE], id: userId, userName, active: true, emails: [{ value: userName, primary: true }] },
          },
        ],
        ...(run.priorities ? { priority: workPriority('lifecycle', 'b') } : {}),
      });
      await pause(options.everyMs);
    }
    for (const id of ids) {
      const handle = client.workflow.getHandle(id);
      for (let tries = 0; (await handle.query(stateQuery)).counts.synced < 1; tries++) {
        if (tries > 1200) throw new Error(`${id}: not synced after 2 minutes`);
        await pause(100);
      }
    }
    const aWritten = run.load ? a.countUsers() : undefined;
    if (run.load) await client.workflow.getHandle(aId).terminate('fairness bench: B measured');
    const lagsMs = await Promise.all(ids.map((id) => lagOf(client, id)));
    for (const id of ids) await client.workflow.getHandle(id).terminate('fairness bench done');
    return { label: run.label, lagsMs, aWritten };
  } finally {
    worker.shutdown();
    await running;
    await Promise.all([a.close(), b.close(), idp.close()]);
  }
}

function print(f: LagFigures): void {
  const sorted = [...f.lagsMs].sort((x, y) => x - y);
  const mean = sorted.reduce((s, v) => s + v, 0) / sorted.length;
  console.log(
    `${f.label.padEnd(48)} B lag ms: median ${percentile(sorted, 50)}, p95 ${percentile(sorted, 95)}, max ${sorted.at(-1)}, mean ${mean.toFixed(0)}` +
      (f.aWritten !== undefined ? `; A wrote ${f.aWritten} users meanwhile` : ''),
  );
}

async function main(): Promise<void> {
  const options = new Command()
    .option('--users <n>', "tenant A's provisioning run (terminated once B is measured)", Number, 20_000)
    .option('--events <n>', "tenant B's lifecycle events (one user each)", Number, 40)
    .option('--every-ms <n>', 'between two of B’s events', Number, 250)
    .option('--slots <n>', "the worker's activity slots", Number, 8)
    .parse()
    .opts<Options>();
  Runtime.install({ logger: new DefaultLogger('WARN') }); // the in-process worker's state changes are noise here
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fairness-'));
  const file = path.join(dir, 'a.csv');
  const lines = ['employee_id,email'];
  for (let i = 0; i < options.users; i++) lines.push(`A${i},a.${i}@a.example.com`);
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  const temporal = await startTemporal({});
  try {
    console.log(
      `fair scheduling: ${options.events} lifecycle events of tenant B, one every ${options.everyMs} ms; tenant A provisions ${options.users} users per resource (20 ms latency) on the same worker, ${options.slots} activity slots`,
    );
    print(await scenario(temporal, options, { label: 'B alone', load: false, priorities: true, file }));
    print(
      await scenario(temporal, options, {
        label: 'B during A (priority + fairness keys)',
        load: true,
        priorities: true,
        file,
      }),
    );
    print(
      await scenario(temporal, options, {
        label: 'B during A (no priority, arrival order)',
        load: true,
        priorities: false,
        file,
      }),
    );
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
