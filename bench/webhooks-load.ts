// Webhook ingest benchmark, in one run against one embedded Temporal dev server and one worker
// (its own process, `cxone-scim worker`), with the same concurrency for every way:
//   1. raw signal-with-start: a bare Temporal client sending lifecycleEvent straight to the
//      workflows (the baseline: what Temporal itself sustains here);
//   2. the receiver (its own process, `cxone-scim webhook-server`, as in production): signed
//      deliveries over HTTP on loopback, acknowledged once Temporal recorded them;
//   3. raw update-with-start of the lifecycleEvent update (a worker answers each one), for comparison;
//   4. a burst: `--burst` deliveries sent at once, each counted by the answer to its first try.
// After each way, every workflow is queried until it has applied its events (none may be lost),
// so that the next way starts on a quiet server.
// Prints events/s and ack latency for each, and the receiver's ratios to the baseline.
//
// Usage: npm run bench:webhooks -- [--events 2000] [--users 200] [--concurrency 32] [--burst 1000] [--json]
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startTemporal } from '../src/temporal/server';
import type { LifecycleEvent } from '../src/scim/lifecycle-events';
import { sendSignedDelivery } from '../src/http/webhook-delivery';
import { percentile } from '../src/workflows/report';
import { lifecycleEventSignal, lifecycleEventUpdate, stateQuery, userLifecycleWorkflowId, type userLifecycle } from '../src/workflows/user-lifecycle';

const ROOT = path.resolve(__dirname, '..', '..');
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const SECRET = 'bench-webhook-secret';
const TENANT = 'bench';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const EVENTS = flag('events', 2000);
const USERS = Math.min(flag('users', 200), EVENTS);
const CONCURRENCY = flag('concurrency', 32);
const BURST = flag('burst', 1000);
const AS_JSON = process.argv.includes('--json');
const log = (line: string) => !AS_JSON && console.log(`[bench] ${line}`);

function makeEvents(prefix: string, count: number, users: number): LifecycleEvent[] {
  const base = Date.now();
  return Array.from({ length: count }, (_, i) => {
    const u = i % users;
    const userId = `${prefix}-u${u}`;
    return {
      eventId: randomUUID(),
      eventType: i < users ? 'USER_CREATED' : 'USER_UPDATED',
      userId,
      timestamp: new Date(base + i).toISOString(),
      tenantId: 'bench-tenant',
      user: { schemas: [USER_SCHEMA], id: userId, userName: `${userId}@bench.example.com`, displayName: `Bench ${u} v${Math.floor(i / users)}`, active: true },
    };
  });
}

/** CPU seconds (user + system) of a process and of the ones it started, from /proc (Linux); undefined elsewhere. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime, stime, cutime, cstime (fields 14-17 of proc(5); here 0-based after the name)
    return fields.slice(11, 15).reduce((sum, f) => sum + Number(f), 0) / 100;
  } catch {
    return undefined;
  }
}

/** This process's children by name: the Temporal dev server, the worker, the receiver. */
function childPids(): Map<string, number> {
  const found = new Map<string, number>();
  if (!fs.existsSync('/proc')) return found;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.split(') ')[1].split(' ')[1]) !== process.pid) continue;
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const name = cmd.includes('webhook-server') ? 'receiver' : cmd.includes('worker') ? 'worker' : /temporal/.test(cmd[0]) ? 'temporal server' : path.basename(cmd[0]);
      found.set(name, Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** CPU ms per event, by process, over one phase. */
async function measureCpu<T extends { acknowledged: number }>(phase: () => Promise<T>): Promise<T & { cpuMsPerEvent: Record<string, number> }> {
  const pids = childPids();
  const before = new Map([...pids].map(([name, pid]) => [name, cpuSeconds(pid) ?? 0]));
  const self = process.cpuUsage();
  const result = await phase();
  const used = process.cpuUsage(self);
  const perEvent = (seconds: number) => Number(((seconds * 1000) / Math.max(1, result.acknowledged)).toFixed(2));
  const cpuMsPerEvent: Record<string, number> = { 'bench (senders)': perEvent((used.user + used.system) / 1e6) };
  for (const [name, pid] of pids) cpuMsPerEvent[name] = perEvent((cpuSeconds(pid) ?? 0) - (before.get(name) ?? 0));
  return { ...result, cpuMsPerEvent };
}

interface Figures {
  way: string;
  acknowledged: number;
  failures: Record<string, number>;
  seconds: number;
  eventsPerSecond: number;
  ackLatencyMs: { p50: number; p90: number; p99: number; max: number };
}

/** Sends every event with `concurrency` callers; `send` returns an HTTP-like status. */
async function fire(way: string, events: LifecycleEvent[], concurrency: number, send: (e: LifecycleEvent) => Promise<number>, acknowledged: LifecycleEvent[] = []): Promise<Figures> {
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < events.length) {
        const event = events[next++];
        const t0 = performance.now();
        const status = await send(event).catch((err: unknown) => `error ${(err as Error)?.message?.slice(0, 60)}`);
        if (typeof status === 'number' && status >= 200 && status < 300) {
          latencies.push(performance.now() - t0);
          acknowledged.push(event);
        } else failures[String(status)] = (failures[String(status)] ?? 0) + 1;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const round = (n: number) => Number(n.toFixed(1));
  return {
    way,
    acknowledged: latencies.length,
    failures,
    seconds: round(seconds),
    eventsPerSecond: round(latencies.length / seconds),
    ackLatencyMs: { p50: round(percentile(latencies, 50)), p90: round(percentile(latencies, 90)), p99: round(percentile(latencies, 99)), max: round(latencies.at(-1) ?? 0) },
  };
}

// --profile <dir>: the receiver writes a V8 CPU profile there (open it in Chrome DevTools).
const PROFILE_DIR = process.argv.includes('--profile') ? process.argv[process.argv.indexOf('--profile') + 1] : undefined;

function spawnCli(args: string[], env: NodeJS.ProcessEnv, nodeFlags: string[] = []): { child: ChildProcess; output: string[] } {
  const child = spawn(process.execPath, [...nodeFlags, path.join(ROOT, 'dist', 'src', 'cli', 'main.js'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const keep = (chunk: Buffer) => output.push(chunk.toString()) > 200 && output.shift();
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const temporal = await startTemporal({});
  const taskQueue = `bench-${randomUUID()}`;
  const env = {
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: temporal.namespace,
    TEMPORAL_TASK_QUEUE: taskQueue,
    // A tenant for the receiver to verify with; nothing calls its (unused) SCIM endpoint.
    CXONE_BASE_URL: 'http://127.0.0.1:9',
    CXONE_CLIENT_ID: 'bench',
    CXONE_CLIENT_SECRET: 'bench',
    CXONE_TENANT_ID: TENANT,
    CXONE_WEBHOOK_SECRET: SECRET,
  };
  const worker = spawnCli(['worker'], env);
  const receiver = spawnCli(['webhook-server', '--port', '0'], env, PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] : []);
  const client: Client = temporal.testEnv.client;
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the receiver did not start:\n${receiver.output.join('')}`)), 30_000);
      receiver.child.stdout?.on('data', (chunk: Buffer) => {
        const match = /POST (http:\/\/\S+\/webhooks\/cxone\/bench)/.exec(chunk.toString());
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    });
    const input = (userId: string) => ({ tenant: TENANT, userId, idp: { type: 'none' as const } });
    const workflowId = (e: LifecycleEvent) => userLifecycleWorkflowId(TENANT, e.userId);
    const viaSignal = async (e: LifecycleEvent) => {
      await client.workflow.signalWithStart<typeof userLifecycle, [LifecycleEvent]>('userLifecycle', {
        workflowId: workflowId(e), taskQueue, args: [input(e.userId)], signal: lifecycleEventSignal, signalArgs: [e],
      });
      return 202;
    };
    const viaUpdate = async (e: LifecycleEvent) => {
      const startWorkflowOperation = new WithStartWorkflowOperation<typeof userLifecycle>('userLifecycle', {
        workflowId: workflowId(e), taskQueue, args: [input(e.userId)], workflowIdConflictPolicy: 'USE_EXISTING',
      });
      await client.workflow.executeUpdateWithStart(lifecycleEventUpdate, { args: [e], updateId: e.eventId, startWorkflowOperation });
      return 202;
    };
    const viaReceiver = async (e: LifecycleEvent) => (await sendSignedDelivery({ url, secret: SECRET, body: e, timeoutMs: 60_000 })).status;
    log(`Temporal ${temporal.address}, receiver ${url} (own process), worker (own process), task queue ${taskQueue}`);

    // Warm-up: the worker bundles its workflows, connections open, code paths get compiled.
    await fire('warm-up', makeEvents(`warm-sig-${randomUUID().slice(0, 6)}`, 200, 20), 8, viaSignal);
    await fire('warm-up', makeEvents(`warm-upd-${randomUUID().slice(0, 6)}`, 200, 20), 8, viaUpdate);
    await fire('warm-up', makeEvents(`warm-rcv-${randomUUID().slice(0, 6)}`, 200, 20), 8, viaReceiver);

    // Every acknowledged event must reach its workflow: applied, or ignored as out of order.
    // Each way drains (its workflows applied everything) before the next starts, so that none
    // pays for another's backlog; its CPU figures include the drain.
    let acknowledgedEvents = 0;
    let accounted = 0;
    const drain = async (acknowledged: LifecycleEvent[]) => {
      const expected = new Map<string, number>();
      for (const e of acknowledged) expected.set(workflowId(e), (expected.get(workflowId(e)) ?? 0) + 1);
      const deadline = Date.now() + 300_000;
      for (const [id, count] of expected) {
        for (;;) {
          const state = await client.workflow.getHandle(id).query(stateQuery);
          const seen = state.counts.applied + state.counts.outOfOrder;
          if (seen >= count && state.pending === 0) {
            accounted += Math.min(seen, count);
            break;
          }
          if (Date.now() > deadline) throw new Error(`${id}: ${seen}/${count} acknowledged events processed after 300 s`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      acknowledgedEvents += acknowledged.length;
    };
    const run = async (way: string, prefix: string, send: (e: LifecycleEvent) => Promise<number>, count = EVENTS, concurrency = CONCURRENCY, users = USERS) => {
      const events = makeEvents(`${prefix}-${randomUUID().slice(0, 6)}`, count, users);
      log(`${way}: ${count} events for ${users} users, ${concurrency} at a time`);
      return measureCpu(async () => {
        const acknowledged: LifecycleEvent[] = [];
        const figures = await fire(way, events, concurrency, send, acknowledged);
        await drain(acknowledged);
        return figures;
      });
    };
    // The receiver right after the baseline; the update-with-start way (workers in the loop) last.
    const [baseline, receiverRun, updateRun] = [
      await run('raw signal-with-start (baseline)', 'sig', viaSignal),
      await run('receiver (HTTP, signed)', 'rcv', viaReceiver),
      await run('raw update-with-start', 'upd', viaUpdate),
    ];
    const results = [baseline, receiverRun, updateRun];
    const burst = await run(`burst of ${BURST} deliveries at once`, 'burst', viaReceiver, BURST, BURST, Math.min(USERS, BURST));
    const figures = {
      events: EVENTS, users: USERS, concurrency: CONCURRENCY,
      results: [...results, burst],
      receiverToBaseline: {
        throughputRatio: Number((receiverRun.eventsPerSecond / baseline.eventsPerSecond).toFixed(2)),
        p99DeltaMs: Number((receiverRun.ackLatencyMs.p99 - baseline.ackLatencyMs.p99).toFixed(1)),
      },
      burstFirstTry: { acknowledged: burst.acknowledged, of: BURST, failures: burst.failures },
      lost: acknowledgedEvents - accounted,
    };
    if (AS_JSON) console.log(JSON.stringify(figures));
    else {
      for (const r of figures.results) {
        log(`${r.way.padEnd(38)} ${String(r.eventsPerSecond).padStart(7)} events/s   ack p50 ${r.ackLatencyMs.p50} ms  p99 ${r.ackLatencyMs.p99} ms  max ${r.ackLatencyMs.max} ms   ${r.acknowledged} acknowledged${Object.keys(r.failures).length ? `, not: ${JSON.stringify(r.failures)}` : ''}`);
      }
      log(`receiver / baseline: ${figures.receiverToBaseline.throughputRatio}× events/s (goal ≥ 0.8), p99 ${figures.receiverToBaseline.p99DeltaMs >= 0 ? '+' : ''}${figures.receiverToBaseline.p99DeltaMs} ms (goal ≤ +20)`);
      log(`burst: ${burst.acknowledged}/${BURST} acknowledged on the first try; lost events: ${figures.lost} of ${acknowledgedEvents} acknowledged`);
      log('CPU ms per acknowledged event, by process (where the time goes):');
      for (const r of figures.results) log(`  ${r.way.padEnd(38)} ${Object.entries(r.cpuMsPerEvent).map(([name, ms]) => `${name} ${ms}`).join(' · ')}`);
    }
    if (figures.lost !== 0 || [...results, burst].some((r) => Object.keys(r.failures).length > 0)) process.exitCode = 1;
  } catch (err) {
    process.stderr.write(`receiver log:\n${receiver.output.join('')}\nworker log:\n${worker.output.join('')}\n`);
    throw err;
  } finally {
    await stop(receiver.child);
    await stop(worker.child);
    await temporal.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
