// Webhook ingest benchmark, in one run against one embedded Temporal dev server and one worker
// (its own process, `cxone-scim worker`), with the same concurrency for every way:
//   1. raw signal-with-start: a bare Temporal client (one connection) sending lifecycleEvent
//      straight to the workflows (the baseline: what Temporal itself sustains here); --baseline
//      grpc-js (default: the SDK's Client default), native (the connection the receiver uses), or
//      both (two baselines, each in every round);
//   2. the receiver: signed deliveries over HTTP on loopback, acknowledged once Temporal recorded
//      them; the production receiver with its own Temporal connection (one native connection), run
//      in the bench process like the baseline's client (--receiver-process: its own process, as
//      deployed; see receiver-under-test.ts for what that changes on a small machine);
//   3. raw update-with-start of the lifecycleEvent update (a worker answers each one), for comparison;
//   4. a burst: `--burst` deliveries sent at once, each counted by the answer to its first try.
// Fair to both: warm-up (at the same concurrency) excluded from both; deliveries signed before a
// slice starts and sent over keep-alive node:http sockets (see signed-sender.ts), since the senders
// share the CPU with everything else; 1 and 2 alternate in --rounds slices (AB, BA, …; with two
// baselines each round rotates the order) so that all see the same load on a shared machine, and
// the median of the rounds' ratios is printed. After
// each slice every workflow is queried until it has applied its events (none may be lost), so that
// the next slice starts on a quiet server and none pays for another's backlog.
// Prints events/s and ack latency for each, the receiver's ratios to the baseline, and CPU per event by process.
//
// Usage: npm run bench:webhooks -- [--events 3000] [--users 300] [--concurrency 32] [--burst 1000] [--rounds 10]
//                                  [--receiver-process] [--baseline grpc-js|native|both] [--profile dir] [--json]
import { randomUUID } from 'node:crypto';
import { Client, WithStartWorkflowOperation } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { startTemporal } from '../src/temporal/server';
import type { LifecycleEvent } from '../src/scim/lifecycle-events';
import { KeepAliveSender, signDeliveries } from './signed-sender';
import { spawnCli, startReceiverUnderTest, stopCli, type ReceiverUnderTest } from './receiver-under-test';
import { latencyStats } from '../src/core/tally';
import { measureCpu, median, roundedStats } from './measure';
import {
  lifecycleEventSignal,
  lifecycleEventUpdate,
  stateQuery,
  userLifecycleWorkflowId,
  type userLifecycle,
} from '../src/workflows/user-lifecycle/workflow';

const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const SECRET = 'bench-webhook-secret';
const TENANT = 'bench';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const EVENTS = flag('events', 3000);
const USERS = Math.min(flag('users', 300), EVENTS);
const CONCURRENCY = flag('concurrency', 32);
const BURST = flag('burst', 1000);
const ROUNDS = Math.max(1, flag('rounds', 10));
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
      user: {
        schemas: [USER_SCHEMA],
        id: userId,
        userName: `${userId}@bench.example.com`,
        displayName: `Bench ${u} v${Math.floor(i / users)}`,
        active: true,
      },
    };
  });
}

interface Sample {
  latencies: number[];
  failures: Record<string, number>;
  seconds: number;
  acknowledged: LifecycleEvent[];
}

/** What one way did, summed over its slices. */
class Tally {
  readonly latencies: number[] = [];
  readonly failures: Record<string, number> = {};
  readonly cpuSeconds: Record<string, number> = {};
  seconds = 0;

  constructor(readonly way: string) {}

  add(sample: Sample, cpu: Record<string, number>): void {
    this.latencies.push(...sample.latencies);
    this.seconds += sample.seconds;
    for (const [k, n] of Object.entries(sample.failures)) this.failures[k] = (this.failures[k] ?? 0) + n;
    for (const [k, n] of Object.entries(cpu)) this.cpuSeconds[k] = (this.cpuSeconds[k] ?? 0) + n;
  }

  figures(): Figures {
    const sorted = [...this.latencies].sort((x, y) => x - y);
    const round = (n: number) => Number(n.toFixed(1));
    const perEvent = (seconds: number) => Number(((seconds * 1000) / Math.max(1, sorted.length)).toFixed(2));
    return {
      way: this.way,
      acknowledged: sorted.length,
      failures: this.failures,
      seconds: round(this.seconds),
      eventsPerSecond: round(sorted.length / this.seconds),
      ackLatencyMs: roundedStats(sorted),
      cpuMsPerEvent: Object.fromEntries(Object.entries(this.cpuSeconds).map(([k, v]) => [k, perEvent(v)])),
    };
  }
}

interface Figures {
  way: string;
  acknowledged: number;
  failures: Record<string, number>;
  seconds: number;
  eventsPerSecond: number;
  ackLatencyMs: { p50: number; p95: number; p99: number; max: number };
  /** Over sending and draining. */
  cpuMsPerEvent: Record<string, number>;
}

/** Prepares a slice's sending (untimed: e.g. signing) and returns what sends one event. */
type Way = (events: LifecycleEvent[]) => (e: LifecycleEvent) => Promise<number>;

interface RoundRatio {
  throughputRatio: number;
  p99DeltaMs: number;
}

/** One round's receiver slice against its baseline slice. */
function roundRatio(baseline: Sample, receiver: Sample): RoundRatio {
  const rate = (s: Sample) => s.latencies.length / s.seconds;
  const p99 = (s: Sample) => latencyStats(s.latencies).p99;
  return {
    throughputRatio: Number((rate(receiver) / rate(baseline)).toFixed(2)),
    p99DeltaMs: Number((p99(receiver) - p99(baseline)).toFixed(1)),
  };
}

function totalCpuMs(figures: Figures): number {
  return Number(
    Object.values(figures.cpuMsPerEvent)
      .reduce((sum, ms) => sum + ms, 0)
      .toFixed(2),
  );
}

/** Sends every event with `concurrency` callers; `send` returns an HTTP-like status. */
async function fire(
  events: LifecycleEvent[],
  concurrency: number,
  send: (e: LifecycleEvent) => Promise<number>,
): Promise<Sample> {
  const sample: Sample = { latencies: [], failures: {}, seconds: 0, acknowledged: [] };
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < events.length) {
        const event = events[next++];
        const t0 = performance.now();
        const status = await send(event).catch((err: unknown) => `error ${(err as Error)?.message?.slice(0, 60)}`);
        if (typeof status === 'number' && status >= 200 && status < 300) {
          sample.latencies.push(performance.now() - t0);
          sample.acknowledged.push(event);
        } else sample.failures[String(status)] = (sample.failures[String(status)] ?? 0) + 1;
      }
    }),
  );
  sample.seconds = (performance.now() - started) / 1000;
  return sample;
}

// --receiver-process: the receiver as a process of its own (see receiver-under-test.ts).
const RECEIVER_PROCESS = process.argv.includes('--receiver-process');
// --profile <dir>: the receiver process writes a V8 CPU profile there (open it in Chrome DevTools);
// in the default placement, profile the bench itself: node --cpu-prof dist/bench/webhooks-load.js.
// --baseline: which connection the baseline's client uses. gRPC-JS (default) is the SDK's Client
// default and the baseline of the figures before the receiver moved to the native connection;
// native is the receiver's own kind, the strictest comparison; both runs the two in every round.
const BASELINE_KINDS = { 'grpc-js': ['gRPC-JS'], native: ['native'], both: ['gRPC-JS', 'native'] } as const;
const BASELINE_FLAG = process.argv.includes('--baseline')
  ? process.argv[process.argv.indexOf('--baseline') + 1]
  : 'grpc-js';
if (!(BASELINE_FLAG in BASELINE_KINDS)) throw new Error(`--baseline grpc-js|native|both, not ${BASELINE_FLAG}`);
const BASELINES: readonly BaselineKind[] = BASELINE_KINDS[BASELINE_FLAG as keyof typeof BASELINE_KINDS];
type BaselineKind = 'gRPC-JS' | 'native';
const PROFILE_DIR = process.argv.includes('--profile')
  ? process.argv[process.argv.indexOf('--profile') + 1]
  : undefined;

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
  // Drain queries and update-with-start go through this one; the baseline's signals too, unless --baseline-native.
  const client: Client = temporal.testEnv.client;
  // Like the receiver's: no gzip.
  const nativeConnection = BASELINES.includes('native')
    ? await NativeConnection.connect({ address: temporal.address, grpcCompression: { codec: 'none' } })
    : undefined;
  const baselineClients: Record<BaselineKind, Client | undefined> = {
    'gRPC-JS': client,
    native: nativeConnection && new Client({ connection: nativeConnection, namespace: temporal.namespace }),
  };
  const senders: KeepAliveSender[] = [];
  let receiver: ReceiverUnderTest | undefined;
  try {
    receiver = await startReceiverUnderTest({
      env,
      tenant: TENANT,
      ownProcess: RECEIVER_PROCESS || PROFILE_DIR !== undefined,
      profileDir: PROFILE_DIR,
    });
    const url = receiver.url;
    const input = (userId: string) => ({ tenant: TENANT, userId, idp: { type: 'none' as const } });
    const workflowId = (e: LifecycleEvent) => userLifecycleWorkflowId(TENANT, e.userId);
    const viaSignal = (kind: BaselineKind) => async (e: LifecycleEvent) => {
      await baselineClients[kind]!.workflow.signalWithStart<typeof userLifecycle, [LifecycleEvent]>('userLifecycle', {
        workflowId: workflowId(e),
        taskQueue,
        args: [input(e.userId)],
        signal: lifecycleEventSignal,
        signalArgs: [e],
      });
      return 202;
    };
    const viaUpdate = async (e: LifecycleEvent) => {
      const startWorkflowOperation = new WithStartWorkflowOperation<typeof userLifecycle>('userLifecycle', {
        workflowId: workflowId(e),
        taskQueue,
        args: [input(e.userId)],
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
      await client.workflow.executeUpdateWithStart(lifecycleEventUpdate, {
        args: [e],
        updateId: e.eventId,
        startWorkflowOperation,
      });
      return 202;
    };
    // Deliveries are signed before a slice starts (the sender's work, not the receiver's).
    const receiverVia =
      (sender: KeepAliveSender): Way =>
      (events) => {
        const signed = new Map(signDeliveries(events, SECRET).map((request) => [request.event, request]));
        return (e) => sender.send(signed.get(e)!);
      };
    const sender = new KeepAliveSender(url, CONCURRENCY);
    const burstSender = new KeepAliveSender(url, BURST);
    senders.push(sender, burstSender);
    const viaReceiver = receiverVia(sender);
    log(
      `Temporal ${temporal.address}, receiver ${url} (${receiver.placement}, native connection), baseline on a ${BASELINES.join(' and a ')} connection, worker (own process), task queue ${taskQueue}`,
    );

    // Warm-up: the worker bundles its workflows, connections open, code paths get compiled.
    const warmUp = (prefix: string, way: Way) => {
      const events = makeEvents(`warm-${prefix}-${randomUUID().slice(0, 6)}`, 200, 20);
      return fire(events, CONCURRENCY, way(events));
    };
    for (const kind of BASELINES) await warmUp(`sig-${kind}`, () => viaSignal(kind));
    await warmUp('upd', () => viaUpdate);
    await warmUp('rcv', viaReceiver);

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
          if (Date.now() > deadline)
            throw new Error(`${id}: ${seen}/${count} acknowledged events processed after 300 s`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      acknowledgedEvents += acknowledged.length;
    };
    /** One slice of a way: fire, then wait until its workflows applied everything acknowledged. */
    const slice = async (
      tally: Tally,
      prefix: string,
      way: Way,
      count: number,
      concurrency: number,
      users: number,
    ): Promise<Sample> => {
      const events = makeEvents(`${prefix}-${randomUUID().slice(0, 6)}`, count, users);
      const send = way(events);
      const { result, cpuSeconds: cpu } = await measureCpu(async () => {
        const sample = await fire(events, concurrency, send);
        await drain(sample.acknowledged);
        return sample;
      });
      tally.add(result, cpu);
      return result;
    };
    // Baseline and receiver alternate in ROUNDS slices (AB, BA, …), so that both see the same load
    // on a shared machine; the ratio of each round's pair is kept, and their median printed, since
    // the machine's load drifts between rounds more than within one. The update-with-start way
    // (workers in the loop) and the burst follow.
    const baselineTallies = BASELINES.map((kind) => new Tally(`raw signal-with-start (${kind})`));
    const receiverTally = new Tally('receiver (HTTP, signed)');
    const rounds = BASELINES.map((): RoundRatio[] => []);
    const perRound = { events: Math.ceil(EVENTS / ROUNDS), users: Math.max(1, Math.ceil(USERS / ROUNDS)) };
    log(
      `baseline${BASELINES.length > 1 ? 's' : ''} and receiver: ${EVENTS} events for ${USERS} users each, ${CONCURRENCY} at a time, alternating in ${ROUNDS} rounds`,
    );
    for (let round = 0; round < ROUNDS; round++) {
      const order: Array<[Tally, string, Way]> = [
        ...BASELINES.map((kind, i): [Tally, string, Way] => [baselineTallies[i], `sig-${kind}`, () => viaSignal(kind)]),
        [receiverTally, 'rcv', viaReceiver],
      ];
      // Two ways: AB, BA, …; three: each round starts one further on (ABC, BCA, CAB, …).
      if (order.length === 2 && round % 2 === 1) order.reverse();
      if (order.length > 2) order.push(...order.splice(0, round % order.length));
      const samples = new Map<Tally, Sample>();
      for (const [tally, prefix, way] of order)
        samples.set(tally, await slice(tally, prefix, way, perRound.events, CONCURRENCY, perRound.users));
      baselineTallies.forEach((tally, i) =>
        rounds[i].push(roundRatio(samples.get(tally)!, samples.get(receiverTally)!)),
      );
    }
    const updateTally = new Tally('raw update-with-start');
    log(`update-with-start: ${EVENTS} events for ${USERS} users, ${CONCURRENCY} at a time`);
    await slice(updateTally, 'upd', () => viaUpdate, EVENTS, CONCURRENCY, USERS);
    const burstTally = new Tally(`burst of ${BURST} deliveries at once`);
    log(`burst: ${BURST} deliveries at once`);
    await slice(burstTally, 'burst', receiverVia(burstSender), BURST, BURST, Math.min(USERS, BURST));
    const [receiverRun, updateRun, burst] = [receiverTally, updateTally, burstTally].map((t) => t.figures());
    const baselines = baselineTallies.map((t) => t.figures());
    const results = [...baselines, receiverRun, updateRun];
    const ratiosTo = (baseline: Figures, perRound: RoundRatio[]) => ({
      baseline: baseline.way,
      throughputRatio: Number((receiverRun.eventsPerSecond / baseline.eventsPerSecond).toFixed(2)),
      p99DeltaMs: Number((receiverRun.ackLatencyMs.p99 - baseline.ackLatencyMs.p99).toFixed(1)),
      rounds: perRound,
      medianThroughputRatio: median(perRound.map((r) => r.throughputRatio)),
      medianP99DeltaMs: median(perRound.map((r) => r.p99DeltaMs)),
      // CPU per event of every process together: on a saturated machine throughput is the CPU
      // budget over this, so its inverse ratio estimates the throughput ratio without the
      // other tenants' load (which moves events/s by more than the receiver does).
      cpuMsPerEvent: { baseline: totalCpuMs(baseline), receiver: totalCpuMs(receiverRun) },
      cpuRatio: Number((totalCpuMs(baseline) / totalCpuMs(receiverRun)).toFixed(2)),
    });
    const byBaseline = baselines.map((baseline, i) => ratiosTo(baseline, rounds[i]));
    const figures = {
      events: EVENTS,
      users: USERS,
      concurrency: CONCURRENCY,
      results: [...results, burst],
      /** Against the first baseline (gRPC-JS unless --baseline native); every baseline in byBaseline. */
      receiverToBaseline: byBaseline[0],
      byBaseline,
      burstFirstTry: { acknowledged: burst.acknowledged, of: BURST, failures: burst.failures },
      lost: acknowledgedEvents - accounted,
    };
    if (AS_JSON) console.log(JSON.stringify(figures));
    else {
      for (const r of figures.results) {
        log(
          `${r.way.padEnd(38)} ${String(r.eventsPerSecond).padStart(7)} events/s   ack p50 ${r.ackLatencyMs.p50} ms  p99 ${r.ackLatencyMs.p99} ms  max ${r.ackLatencyMs.max} ms   ${r.acknowledged} acknowledged${Object.keys(r.failures).length ? `, not: ${JSON.stringify(r.failures)}` : ''}`,
        );
      }
      const signed = (ms: number) => `${ms >= 0 ? '+' : ''}${ms} ms`;
      for (const [i, ratios] of byBaseline.entries()) {
        const to = `receiver / ${BASELINES.length > 1 ? `${BASELINES[i]} ` : ''}baseline`;
        log(`${to} per round: ${ratios.rounds.map((r) => `${r.throughputRatio}× ${signed(r.p99DeltaMs)}`).join(', ')}`);
        log(
          `${to}: median of rounds ${ratios.medianThroughputRatio}× events/s, p99 ${signed(ratios.medianP99DeltaMs)}; all rounds pooled ${ratios.throughputRatio}×, p99 ${signed(ratios.p99DeltaMs)} (goal ≥ 0.9×, ≤ +20 ms)`,
        );
      }
      log(
        `burst: ${burst.acknowledged}/${BURST} acknowledged on the first try; lost events: ${figures.lost} of ${acknowledgedEvents} acknowledged`,
      );
      log(
        `CPU ms per acknowledged event, by process (where the time goes; bench: the senders and the raw clients${RECEIVER_PROCESS ? '' : ', and the receiver'}):`,
      );
      for (const r of figures.results)
        log(
          `  ${r.way.padEnd(38)} ${Object.entries(r.cpuMsPerEvent)
            .map(([name, ms]) => `${name} ${ms}`)
            .join(' · ')}`,
        );
      for (const [i, ratios] of byBaseline.entries())
        log(
          `CPU per event, all processes: ${BASELINES.length > 1 ? `${BASELINES[i]} ` : ''}baseline ${ratios.cpuMsPerEvent.baseline} ms, receiver ${ratios.cpuMsPerEvent.receiver} ms: baseline / receiver ${ratios.cpuRatio} (what the events/s ratio is when CPU is the limit, whatever else runs)`,
        );
    }
    if (figures.lost !== 0 || [...results, burst].some((r) => Object.keys(r.failures).length > 0)) process.exitCode = 1;
  } catch (err) {
    process.stderr.write(`receiver log:\n${receiver?.log() ?? ''}\nworker log:\n${worker.output.join('')}\n`);
    throw err;
  } finally {
    for (const sender of senders) sender.close();
    await receiver?.stop();
    await nativeConnection?.close();
    await stopCli(worker);
    await temporal.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
