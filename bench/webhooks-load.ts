// Load script: signed CXone webhook deliveries → receiver → Temporal signal-with-start, on loopback.
// Usage: node dist/bench/webhooks-load.js [--events 2000] [--users 200] [--concurrency 32] [--idp] [--json]
//   (npm run bench:webhooks -- --events 5000)
// Starts an embedded Temporal dev server (or uses TEMPORAL_ADDRESS), a worker and the receiver
// (its own lazy Temporal connection, as `cxone-scim webhook-server` has), then fires the events
// with the given concurrency. "Ack latency" is the sender's round trip until the 2xx, which the
// receiver sends only after Temporal accepted the signal. Afterwards it waits until every
// workflow has applied its events (queries `state`) and checks that none was lost.
// --idp also syncs every change to a second in-process sandbox (the IdP) through activities.
import { randomUUID } from 'node:crypto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { sandboxTenant } from '../src/cli/dev';
import { TenantRegistry, type TenantConfig } from '../src/config/tenants';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import { temporalSettingsFromEnv } from '../src/temporal/connection';
import { startTemporal } from '../src/temporal/server';
import { silentLogger, startWebhookReceiver } from '../src/webhooks/receiver';
import { sendSignedDelivery } from '../src/http/webhook-delivery';
import { LazyTemporalClient } from '../src/webhooks/temporal-client';
import { createProjectWorker } from '../src/worker';
import { latencyStats } from '../src/scim/tally';
import { stateQuery, userLifecycleWorkflowId } from '../src/workflows/user-lifecycle';

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
const WITH_IDP = process.argv.includes('--idp');
const AS_JSON = process.argv.includes('--json');
const log = (line: string) => !AS_JSON && console.log(`[bench] ${line}`);

function makeEvents(runId: string, count: number, users: number) {
  const base = Date.now();
  return Array.from({ length: count }, (_, i) => {
    const u = i % users;
    const userId = `${runId}-u${u}`;
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

async function fire(url: string, events: ReturnType<typeof makeEvents>, concurrency: number) {
  const latencies: number[] = [];
  const failures = new Map<number, number>();
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < events.length) {
        const event = events[next++];
        const answer = await sendSignedDelivery({ url, secret: SECRET, body: event });
        if (answer.status >= 200 && answer.status < 300) latencies.push(answer.latencyMs);
        else failures.set(answer.status, (failures.get(answer.status) ?? 0) + 1);
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, latencies: latencies.sort((a, b) => a - b), failures };
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const temporal = await startTemporal({});
  let idp: Sandbox | undefined;
  const cleanups: Array<() => Promise<unknown>> = [() => temporal.stop()];
  try {
    const tenants: TenantConfig[] = [
      { tenantId: TENANT, baseUrl: 'http://127.0.0.1:9', scimPath: '/scim/v2', auth: { type: 'bearer', token: 'x' }, webhookSecret: SECRET },
    ];
    if (WITH_IDP) {
      idp = await startSandbox({ port: 0 });
      cleanups.unshift(() => idp!.close());
      tenants.push(sandboxTenant(idp, 'idp'));
    }
    const settings = { ...temporalSettingsFromEnv(process.env, temporal.address), namespace: temporal.namespace, taskQueue: `bench-${randomUUID()}` };
    const worker = await createProjectWorker({ settings, tenants: new TenantRegistry(tenants), connection: temporal.testEnv.nativeConnection, maxConcurrentActivityTaskExecutions: 100 });
    const running = worker.run();
    cleanups.unshift(async () => {
      worker.shutdown();
      await running;
    });
    const client = new LazyTemporalClient(settings);
    cleanups.unshift(() => client.close());
    const receiver = await startWebhookReceiver({
      tenants: new TenantRegistry(tenants),
      temporal: client,
      taskQueue: settings.taskQueue,
      idp: WITH_IDP ? { type: 'scim', tenant: 'idp' } : { type: 'none' },
      log: silentLogger,
    });
    cleanups.unshift(() => receiver.close());
    const url = receiver.callbackUrl(TENANT);
    log(`Temporal ${temporal.address}, receiver ${url}, IdP sync ${WITH_IDP ? 'on' : 'off'}`);

    const warmup = makeEvents(`warm-${randomUUID().slice(0, 6)}`, Math.min(200, EVENTS), Math.min(20, USERS));
    await fire(url, warmup, Math.min(CONCURRENCY, 8));
    log(`warm-up: ${warmup.length} events`);

    const runId = `load-${randomUUID().slice(0, 6)}`;
    const events = makeEvents(runId, EVENTS, USERS);
    log(`firing ${EVENTS} signed events for ${USERS} users with concurrency ${CONCURRENCY}`);
    const processingStarted = performance.now();
    const result = await fire(url, events, CONCURRENCY);
    const { latencies } = result;

    // Every acknowledged event must be in a workflow: applied, or ignored as out of order (the
    // concurrency reorders one user's events) — never lost.
    const expected = new Map<string, number>();
    for (const e of events) expected.set(e.userId, (expected.get(e.userId) ?? 0) + 1);
    let accounted = 0;
    const deadline = Date.now() + 180_000;
    for (const [userId, count] of expected) {
      const handle = temporal.testEnv.client.workflow.getHandle(userLifecycleWorkflowId(TENANT, userId));
      for (;;) {
        const state = await handle.query(stateQuery);
        const seen = state.counts.applied + state.counts.outOfOrder + state.counts.duplicates;
        if (seen >= count && state.pending === 0) {
          accounted += seen;
          break;
        }
        if (Date.now() > deadline) throw new Error(`user ${userId}: ${seen}/${count} events processed after 180 s`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const processedSeconds = (performance.now() - processingStarted) / 1000;

    const figures = {
      events: EVENTS,
      users: USERS,
      concurrency: CONCURRENCY,
      idpSync: WITH_IDP,
      acknowledged: latencies.length,
      rejected: Object.fromEntries(result.failures),
      seconds: Number(result.seconds.toFixed(2)),
      eventsPerSecond: Number((latencies.length / result.seconds).toFixed(1)),
      ackLatencyMs: roundedStats(latencies),
      processedByWorkflows: accounted,
      allProcessedAfterSeconds: Number(processedSeconds.toFixed(2)),
    };
    if (AS_JSON) console.log(JSON.stringify(figures));
    else {
      log(`acknowledged ${figures.acknowledged}/${EVENTS} in ${figures.seconds} s → ${figures.eventsPerSecond} events/s sustained`);
      log(`ack latency p50 ${figures.ackLatencyMs.p50} ms, p95 ${figures.ackLatencyMs.p95} ms, p99 ${figures.ackLatencyMs.p99} ms, max ${figures.ackLatencyMs.max} ms`);
      if (result.failures.size > 0) log(`non-2xx answers: ${JSON.stringify(figures.rejected)}`);
      log(`all ${accounted} events processed by the workflows ${figures.allProcessedAfterSeconds} s after the first was sent`);
    }
    if (accounted !== EVENTS || result.failures.size > 0) process.exitCode = 1;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((err: unknown) => console.error(err));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

/** Latency figures to a tenth of a millisecond, for printing. */
function roundedStats(latencies: number[]): { p50: number; p95: number; p99: number; max: number } {
  const { p50, p95, p99, max } = latencyStats(latencies);
  const tenth = (ms: number) => Number(ms.toFixed(1));
  return { p50: tenth(p50), p95: tenth(p95), p99: tenth(p99), max: tenth(max) };
}
