// Lifecycle end to end: from a CXone webhook to the IdP having the change, against a raw baseline
// in the same run, on one embedded Temporal dev server and one worker (its own process, the
// project's worker with the bench's workflows added: lifecycle-worker.ts), with the same
// concurrency both ways:
//   1. baseline: a bare Temporal client signal-with-starts `lifecycleBaseline` (lifecycle-workflows.ts),
//      a minimal workflow per user making the same IdP call (create, then PATCH) in one activity;
//   2. lifecycle: signed deliveries over HTTP to the production receiver (in the bench process by
//      default, --receiver-process: its own process, as deployed), which signal-with-starts
//      userLifecycle with the IdP as its target.
// Each slice sends N users' USER_CREATED, then their USER_UPDATED (--updates per user), to fresh
// users. An event counts once the IdP (a sandbox in this process) answered the write that carries
// it: the bench sees every answer the sandbox sends (node:http's diagnostics channel) and reads the
// user it wrote. Lag: from sending the event to that answer; events/s: events over the time from
// the first send to the last answer. The two ways alternate in --rounds slices (AB, BA, …).
// After each slice, the histories of a sample of its workflows show where the time goes: history
// events, workflow tasks, activities and local activities per event, schedule-to-start times.
// Prints both ways, their ratios (per round and median), and CPU per event by process.
//
// Usage: npx tsc -b && node dist/bench/lifecycle.js [--users 150] [--updates 1] [--concurrency 32]
//          [--rounds 4] [--idp-latency-ms 0] [--history-sample 20] [--receiver-process] [--baseline-local-activity]
//          [--json]
import { randomUUID } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import { latencyStats } from '../src/core/tally';
import type { LifecycleEvent } from '../src/scim/lifecycle-events';
import { startTemporal } from '../src/temporal/server';
import { userLifecycleWorkflowId } from '../src/workflows/user-lifecycle/workflow';
import { measureCpu, median, roundedStats } from './measure';
import { startReceiverUnderTest, stopCli, type CliProcess, type ReceiverUnderTest } from './receiver-under-test';
import { KeepAliveSender, signDeliveries } from './signed-sender';
import { spawn } from 'node:child_process';

const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const SECRET = 'bench-webhook-secret';
const TENANT = 'bench';
const IDP_TENANT = 'idp';
const IDP_TOKEN = 'bench-idp-token';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const USERS = flag('users', 150);
const UPDATES = flag('updates', 1);
const CONCURRENCY = flag('concurrency', 32);
const ROUNDS = Math.max(1, flag('rounds', 4));
const IDP_LATENCY_MS = flag('idp-latency-ms', 0);
const HISTORY_SAMPLE = flag('history-sample', 20);
const DEADLINE_S = flag('deadline-s', 300);
// --baseline-local-activity: the baseline calls the IdP from a local activity too.
const BASELINE_LOCAL = process.argv.includes('--baseline-local-activity');
const RECEIVER_PROCESS = process.argv.includes('--receiver-process');
const AS_JSON = process.argv.includes('--json');
const log = (line: string) => !AS_JSON && console.log(`[bench] ${line}`);

const displayName = (u: number, version: number) => `Bench ${u} v${version}`;

/** Every user's USER_CREATED, then each user's USER_UPDATED `updates` times (a new displayName each). */
function makeEvents(prefix: string, users: number, updates: number): LifecycleEvent[] {
  const base = Date.now();
  const events: LifecycleEvent[] = [];
  for (let version = 0; version <= updates; version++) {
    for (let u = 0; u < users; u++) {
      const userId = `${prefix}-u${u}`;
      events.push({
        eventId: randomUUID(),
        eventType: version === 0 ? 'USER_CREATED' : 'USER_UPDATED',
        userId,
        timestamp: new Date(base + events.length).toISOString(),
        tenantId: 'bench-tenant',
        user: {
          schemas: [USER_SCHEMA],
          id: userId,
          userName: `${userId}@bench.example.com`,
          displayName: displayName(u, version),
          active: true,
        },
      });
    }
  }
  return events;
}

/**
 * When the IdP sandbox answered the write that brought each expected (userName, displayName):
 * every answer to a POST or PATCH of a user (node:http's diagnostics channel, in this process)
 * is followed by reading that user from the sandbox.
 */
class IdpWatcher {
  private readonly expected = new Map<string, Array<{ displayName: string; acknowledged: (at: number) => void }>>();
  private readonly onFinish = (message: unknown) => {
    const { request, response } = message as { request: IncomingMessage; response: ServerResponse };
    if (request.socket.localPort !== this.idp.port) return;
    const url = request.url ?? '';
    let id: string | undefined;
    if (request.method === 'POST' && response.statusCode === 201 && url.endsWith('/Users'))
      // fastify hands its headers to writeHead, so they are only in the head as sent.
      id = /^location: \S*\/Users\/(\S+)\r$/im.exec((response as unknown as { _header?: string })._header ?? '')?.[1];
    else if (request.method === 'PATCH' && response.statusCode === 200 && url.includes('/Users/'))
      id = decodeURIComponent(url.split('/').pop() ?? '');
    if (!id) return;
    const user = this.idp.getUser(id);
    if (user) this.seen(String(user.userName), String(user.displayName), performance.now());
  };

  constructor(private readonly idp: Sandbox) {
    diagnostics.subscribe('http.server.response.finish', this.onFinish);
  }

  expect(userName: string, displayName: string): Promise<number> {
    return new Promise((acknowledged) => {
      const list = this.expected.get(userName) ?? [];
      list.push({ displayName, acknowledged });
      this.expected.set(userName, list);
    });
  }

  expectedOf(userName: string): string[] {
    return (this.expected.get(userName) ?? []).map((e) => e.displayName);
  }

  pendingUsers(): string[] {
    return [...this.expected.keys()];
  }

  get outstanding(): number {
    let n = 0;
    for (const list of this.expected.values()) n += list.length;
    return n;
  }

  /** The IdP has this snapshot: that event, and every earlier one of the user, are acknowledged. */
  private seen(userName: string, name: string, at: number): void {
    const list = this.expected.get(userName);
    if (!list) return;
    const index = list.findIndex((e) => e.displayName === name);
    if (index < 0) return;
    for (const e of list.splice(0, index + 1)) e.acknowledged(at);
    if (list.length === 0) this.expected.delete(userName);
  }

  close(): void {
    diagnostics.unsubscribe('http.server.response.finish', this.onFinish);
  }
}

/** Where one slice's time went, from the histories of a sample of its workflows. */
interface HistoryFigures {
  workflows: number;
  historyEventsPerEvent: number;
  workflowTasksPerEvent: number;
  activitiesPerEvent: number;
  localActivitiesPerEvent: number;
  activityScheduleToStartMs: { p50: number; p95: number };
  workflowTaskScheduleToStartMs: { p50: number; p95: number };
  workflowTaskRunMs: { p50: number; p95: number };
}

const EventType = proto.api.enums.v1.EventType;

function timeMs(event: proto.api.history.v1.IHistoryEvent): number {
  const t = event.eventTime;
  return t ? Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : 0;
}

async function historyFigures(
  client: Client,
  workflowIds: string[],
  eventsPerWorkflow: number,
): Promise<HistoryFigures> {
  let historyEvents = 0;
  let workflowTasks = 0;
  let activities = 0;
  let localActivities = 0;
  const activityStart: number[] = [];
  const taskStart: number[] = [];
  const taskRun: number[] = [];
  for (const id of workflowIds) {
    const history = await client.workflow.getHandle(id).fetchHistory();
    const events = history.events ?? [];
    historyEvents += events.length;
    const byId = new Map(events.map((e) => [Number(e.eventId), e]));
    for (const e of events) {
      switch (e.eventType) {
        case EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: {
          workflowTasks++;
          const started = byId.get(Number(e.workflowTaskCompletedEventAttributes?.startedEventId));
          if (started) taskRun.push(timeMs(e) - timeMs(started));
          break;
        }
        case EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED: {
          const scheduled = byId.get(Number(e.workflowTaskStartedEventAttributes?.scheduledEventId));
          if (scheduled) taskStart.push(timeMs(e) - timeMs(scheduled));
          break;
        }
        case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
          activities++;
          break;
        case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
          const scheduled = byId.get(Number(e.activityTaskStartedEventAttributes?.scheduledEventId));
          if (scheduled) activityStart.push(timeMs(e) - timeMs(scheduled));
          break;
        }
        case EventType.EVENT_TYPE_MARKER_RECORDED:
          if (e.markerRecordedEventAttributes?.markerName === 'core_local_activity') localActivities++;
          break;
      }
    }
  }
  const sent = Math.max(1, workflowIds.length * eventsPerWorkflow);
  const two = (n: number) => Number(n.toFixed(2));
  const p = (values: number[]) => {
    const { p50, p95 } = latencyStats(values);
    return { p50: Number(p50.toFixed(1)), p95: Number(p95.toFixed(1)) };
  };
  return {
    workflows: workflowIds.length,
    historyEventsPerEvent: two(historyEvents / sent),
    workflowTasksPerEvent: two(workflowTasks / sent),
    activitiesPerEvent: two(activities / sent),
    localActivitiesPerEvent: two(localActivities / sent),
    activityScheduleToStartMs: p(activityStart),
    workflowTaskScheduleToStartMs: p(taskStart),
    workflowTaskRunMs: p(taskRun),
  };
}

interface Sample {
  events: number;
  /** From the first send to the last IdP answer. */
  seconds: number;
  lagMs: number[];
  ackMs: number[];
  failures: Record<string, number>;
  history?: HistoryFigures;
}

class Tally {
  readonly lagMs: number[] = [];
  readonly ackMs: number[] = [];
  readonly failures: Record<string, number> = {};
  readonly cpuSeconds: Record<string, number> = {};
  readonly histories: HistoryFigures[] = [];
  events = 0;
  seconds = 0;

  constructor(readonly way: string) {}

  add(sample: Sample, cpu: Record<string, number>): void {
    this.lagMs.push(...sample.lagMs);
    this.ackMs.push(...sample.ackMs);
    this.events += sample.events;
    this.seconds += sample.seconds;
    if (sample.history) this.histories.push(sample.history);
    for (const [k, n] of Object.entries(sample.failures)) this.failures[k] = (this.failures[k] ?? 0) + n;
    for (const [k, n] of Object.entries(cpu)) this.cpuSeconds[k] = (this.cpuSeconds[k] ?? 0) + n;
  }

  figures() {
    const perEvent = (seconds: number) => Number(((seconds * 1000) / Math.max(1, this.events)).toFixed(2));
    const cpuMsPerEvent = Object.fromEntries(Object.entries(this.cpuSeconds).map(([k, v]) => [k, perEvent(v)]));
    return {
      way: this.way,
      events: this.events,
      synced: this.lagMs.length,
      failures: this.failures,
      seconds: Number(this.seconds.toFixed(1)),
      eventsPerSecond: Number((this.lagMs.length / this.seconds).toFixed(1)),
      idpLagMs: roundedStats(this.lagMs),
      ackMs: roundedStats(this.ackMs),
      cpuMsPerEvent,
      cpuMsPerEventTotal: Number(
        Object.values(cpuMsPerEvent)
          .reduce((a, b) => a + b, 0)
          .toFixed(2),
      ),
      history: this.histories.at(-1),
    };
  }
}

/** Starts the bench worker process and waits until it polls. */
async function startWorker(env: NodeJS.ProcessEnv): Promise<CliProcess> {
  const child = spawn(process.execPath, [path.join(__dirname, 'lifecycle-worker.js')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const keep = (chunk: Buffer) => output.push(chunk.toString()) > 200 && output.shift();
  child.stderr?.on('data', keep);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the worker did not start:\n${output.join('')}`)), 120_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      keep(chunk);
      if (chunk.toString().includes('bench worker running')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`the worker exited (${code}):\n${output.join('')}`)));
  });
  return { child, output };
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const temporal = await startTemporal({});
  const idp = await startSandbox({ tenantId: IDP_TENANT, staticToken: IDP_TOKEN, latencyMs: IDP_LATENCY_MS });
  const watcher = new IdpWatcher(idp);
  const taskQueue = `bench-${randomUUID()}`;
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lifecycle-bench-'));
  const tenantsFile = path.join(workDir, 'tenants.json');
  fs.writeFileSync(
    tenantsFile,
    JSON.stringify({ tenants: [{ id: IDP_TENANT, baseUrl: idp.url, auth: 'bearer', tokenEnv: 'BENCH_IDP_TOKEN' }] }),
  );
  const env = {
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: temporal.namespace,
    TEMPORAL_TASK_QUEUE: taskQueue,
    // The CXone tenant the deliveries come from (its SCIM endpoint is never called) and the IdP.
    CXONE_BASE_URL: 'http://127.0.0.1:9',
    CXONE_CLIENT_ID: 'bench',
    CXONE_CLIENT_SECRET: 'bench',
    CXONE_TENANT_ID: TENANT,
    CXONE_WEBHOOK_SECRET: SECRET,
    CXONE_TENANTS_FILE: tenantsFile,
    BENCH_IDP_TOKEN: IDP_TOKEN,
  };
  let worker: CliProcess | undefined;
  let receiver: ReceiverUnderTest | undefined;
  let sender: KeepAliveSender | undefined;
  try {
    worker = await startWorker(env);
    receiver = await startReceiverUnderTest({
      env,
      tenant: TENANT,
      ownProcess: RECEIVER_PROCESS,
      idpTenant: IDP_TENANT,
    });
    sender = new KeepAliveSender(receiver.url, CONCURRENCY);
    const client: Client = temporal.testEnv.client;
    log(
      `Temporal ${temporal.address}, IdP sandbox ${idp.url} (latency ${IDP_LATENCY_MS} ms), receiver ${receiver.placement}, worker (own process)`,
    );

    type Way = {
      name: string;
      workflowId: (userId: string) => string;
      /** Prepares a slice (untimed: signing) and returns what sends one event. */
      prepare: (events: LifecycleEvent[]) => (e: LifecycleEvent) => Promise<number>;
    };
    const baseline: Way = {
      name: `baseline: signal-with-start, 1 ${BASELINE_LOCAL ? 'local ' : ''}activity`,
      workflowId: (userId) => `lifecycle-baseline:${userId}`,
      prepare: () => async (e) => {
        await client.workflow.signalWithStart('lifecycleBaseline', {
          workflowId: `lifecycle-baseline:${e.userId}`,
          taskQueue,
          args: [{ idpTenant: IDP_TENANT, userId: e.userId, localActivity: BASELINE_LOCAL }],
          signal: 'baselineEvent',
          signalArgs: [e],
        });
        return 202;
      },
    };
    const viaReceiver = sender;
    const lifecycle: Way = {
      name: 'webhook → receiver → userLifecycle',
      workflowId: (userId) => userLifecycleWorkflowId(TENANT, userId),
      prepare: (events) => {
        const signed = new Map(signDeliveries(events, SECRET).map((request) => [request.event, request]));
        return (e) => viaReceiver.send(signed.get(e) as NonNullable<ReturnType<typeof signed.get>>);
      },
    };

    /** Sends a slice's events (`concurrency` at a time) and waits until the IdP has every one. */
    const runSlice = async (way: Way, users: number, sample: boolean): Promise<Sample> => {
      const prefix = `${way === baseline ? 'base' : 'lc'}-${randomUUID().slice(0, 6)}`;
      const events = makeEvents(prefix, users, UPDATES);
      const send = way.prepare(events);
      const result: Sample = { events: events.length, seconds: 0, lagMs: [], ackMs: [], failures: {} };
      const synced: Promise<void>[] = [];
      let next = 0;
      const started = performance.now();
      let lastSynced = started;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < events.length) {
            const event = events[next++];
            const user = event.user as { userName: string; displayName: string };
            const t0 = performance.now();
            const idpHasIt = watcher.expect(user.userName, user.displayName);
            const status = await send(event).catch((err: unknown) => `error ${(err as Error)?.message?.slice(0, 60)}`);
            if (typeof status === 'number' && status >= 200 && status < 300) {
              result.ackMs.push(performance.now() - t0);
              synced.push(
                idpHasIt.then((at) => {
                  result.lagMs.push(at - t0);
                  lastSynced = Math.max(lastSynced, at);
                }),
              );
            } else result.failures[String(status)] = (result.failures[String(status)] ?? 0) + 1;
          }
        }),
      );
      const deadline = new Promise<never>((_, reject) =>
        setTimeout(async () => {
          const stuck = watcher.pendingUsers()[0]?.split('@')[0];
          const history = stuck ? await client.workflow.getHandle(way.workflowId(stuck)).fetchHistory() : undefined;
          const last = (history?.events ?? []).map(
            (e) =>
              `${e.eventType} ${JSON.stringify(e.activityTaskScheduledEventAttributes?.activityType ?? e.signalExternalWorkflowExecutionInitiatedEventAttributes ?? '')}`,
          );
          const idpUser = idp.listUsers().find((u) => String(u.userName).startsWith(`${stuck}@`));
          last.push(JSON.stringify(idpUser), JSON.stringify(watcher.expectedOf(`${stuck}@bench.example.com`)));
          reject(
            new Error(
              `${watcher.outstanding} events not at the IdP after ${DEADLINE_S} s; ${stuck}: ${last.join('\n')}`,
            ),
          );
        }, DEADLINE_S * 1000).unref(),
      );
      await Promise.race([Promise.all(synced), deadline]);
      result.seconds = (lastSynced - started) / 1000;
      if (sample) {
        const ids = Array.from({ length: Math.min(HISTORY_SAMPLE, users) }, (_, u) =>
          way.workflowId(`${prefix}-u${u}`),
        );
        result.history = await historyFigures(client, ids, UPDATES + 1);
      }
      return result;
    };

    // Warm-up (not counted): the worker's workflow code and connections, both ways.
    await runSlice(baseline, 20, false);
    await runSlice(lifecycle, 20, false);

    const tallies = new Map<Way, Tally>([
      [baseline, new Tally(baseline.name)],
      [lifecycle, new Tally(lifecycle.name)],
    ]);
    const rounds: Array<{ throughputRatio: number; p99Ratio: number }> = [];
    log(
      `${ROUNDS} rounds of ${USERS} users × (1 create + ${UPDATES} update${UPDATES === 1 ? '' : 's'}) each way, ${CONCURRENCY} sent at a time, alternating`,
    );
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? [baseline, lifecycle] : [lifecycle, baseline];
      const samples = new Map<Way, Sample>();
      for (const way of order) {
        const { result, cpuSeconds } = await measureCpu(() => runSlice(way, USERS, false));
        samples.set(way, result);
        tallies.get(way)?.add(result, cpuSeconds);
      }
      const rate = (s: Sample) => s.lagMs.length / s.seconds;
      const p99 = (s: Sample) => latencyStats(s.lagMs).p99;
      const [b, l] = [samples.get(baseline) as Sample, samples.get(lifecycle) as Sample];
      rounds.push({
        throughputRatio: Number((rate(l) / rate(b)).toFixed(2)),
        p99Ratio: Number((p99(l) / p99(b)).toFixed(2)),
      });
      log(
        `round ${round + 1}: lifecycle/baseline ${rounds.at(-1)?.throughputRatio}× events/s, p99 lag ${rounds.at(-1)?.p99Ratio}×`,
      );
    }
    // Where the time goes: one more slice each way, its histories read (outside the figures above).
    const profiles = {
      baseline: (await runSlice(baseline, USERS, true)).history,
      lifecycle: (await runSlice(lifecycle, USERS, true)).history,
    };
    const [b, l] = [tallies.get(baseline)?.figures(), tallies.get(lifecycle)?.figures()] as const;
    if (!b || !l) throw new Error('no figures');
    const figures = {
      users: USERS,
      updates: UPDATES,
      concurrency: CONCURRENCY,
      idpLatencyMs: IDP_LATENCY_MS,
      receiver: receiver.placement,
      results: [b, l],
      lifecycleToBaseline: {
        rounds,
        medianThroughputRatio: median(rounds.map((r) => r.throughputRatio)),
        medianP99LagRatio: median(rounds.map((r) => r.p99Ratio)),
        pooledThroughputRatio: Number((l.eventsPerSecond / b.eventsPerSecond).toFixed(2)),
        pooledP99LagRatio: Number((l.idpLagMs.p99 / b.idpLagMs.p99).toFixed(2)),
        cpuRatio: Number((b.cpuMsPerEventTotal / l.cpuMsPerEventTotal).toFixed(2)),
      },
      profiles,
    };
    if (AS_JSON) console.log(JSON.stringify(figures));
    else {
      for (const r of figures.results)
        log(
          `${r.way.padEnd(40)} ${String(r.eventsPerSecond).padStart(6)} events/s  IdP lag p50 ${r.idpLagMs.p50} ms p95 ${r.idpLagMs.p95} ms p99 ${r.idpLagMs.p99} ms max ${r.idpLagMs.max} ms  ack p99 ${r.ackMs.p99} ms  ${r.synced}/${r.events} at the IdP${Object.keys(r.failures).length ? `, not sent: ${JSON.stringify(r.failures)}` : ''}`,
        );
      const ratios = figures.lifecycleToBaseline;
      log(
        `lifecycle / baseline per round: ${rounds.map((r) => `${r.throughputRatio}× p99 ${r.p99Ratio}×`).join(', ')}`,
      );
      log(
        `lifecycle / baseline: median of rounds ${ratios.medianThroughputRatio}× events/s, p99 lag ${ratios.medianP99LagRatio}×; pooled ${ratios.pooledThroughputRatio}×, p99 ${ratios.pooledP99LagRatio}× (goal ≥ 0.8×, ≤ 2×)`,
      );
      log(
        'CPU ms per event, by process (bench: senders, baseline client, IdP sandbox, and the receiver unless --receiver-process):',
      );
      for (const r of figures.results)
        log(
          `  ${r.way.padEnd(40)} ${Object.entries(r.cpuMsPerEvent)
            .map(([name, ms]) => `${name} ${ms}`)
            .join(' · ')} · all ${r.cpuMsPerEventTotal}`,
        );
      log(`CPU per event, baseline / lifecycle: ${ratios.cpuRatio}`);
      log(`where the time goes (histories of ${HISTORY_SAMPLE} workflows of one more slice each way), per event:`);
      for (const [name, h] of Object.entries(profiles))
        if (h)
          log(
            `  ${name.padEnd(10)} history events ${h.historyEventsPerEvent} · workflow tasks ${h.workflowTasksPerEvent} · activities ${h.activitiesPerEvent} · local activities ${h.localActivitiesPerEvent} · activity schedule→start p50 ${h.activityScheduleToStartMs.p50} p95 ${h.activityScheduleToStartMs.p95} ms · task schedule→start p50 ${h.workflowTaskScheduleToStartMs.p50} p95 ${h.workflowTaskScheduleToStartMs.p95} ms · task run p50 ${h.workflowTaskRunMs.p50} p95 ${h.workflowTaskRunMs.p95} ms`,
          );
    }
    if ([b, l].some((r) => r.synced !== r.events)) process.exitCode = 1;
  } catch (err) {
    process.stderr.write(`receiver log:\n${receiver?.log() ?? ''}\nworker log:\n${worker?.output.join('') ?? ''}\n`);
    throw err;
  } finally {
    sender?.close();
    watcher.close();
    await receiver?.stop();
    if (worker) await stopCli(worker);
    await idp.close();
    await temporal.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
