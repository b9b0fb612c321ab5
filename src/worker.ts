import v8 from 'node:v8';
import { Client } from '@temporalio/client';
import type { NativeConnection, Worker, WorkerOptions } from '@temporalio/worker';
import { createActivities, createActivityDeps } from './activities';
import { TenantRegistry } from './config/tenants';
import { connectWorker, createWorker, dataConverter, type TemporalSettings } from './temporal/connection';
import { installRuntime } from './temporal/runtime';

export const WORKFLOWS_PATH = require.resolve('./workflows');

export interface ProjectWorkerOptions {
  settings: TemporalSettings;
  tenants: TenantRegistry;
  connection: NativeConnection;
  /** A pre-built workflow bundle (tests build it once per file); defaults to bundling WORKFLOWS_PATH. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  requestTimeoutMs?: number;
  maxConcurrentActivityTaskExecutions?: number;
}

/** The worker: every workflow of the project, every activity bound to the configured tenants. */
export async function createProjectWorker(options: ProjectWorkerOptions): Promise<Worker> {
  const deps = createActivityDeps(options.tenants, options.requestTimeoutMs);
  // A client on the worker's own connection, with its data converter (payloads encrypted alike): for activities that signal workflows.
  const { namespace, taskQueue } = options.settings;
  deps.temporal = {
    client: new Client({ connection: options.connection, namespace, dataConverter: dataConverter(options.settings) }),
    taskQueue,
  };
  return createWorker(options.settings, {
    connection: options.connection,
    activities: createActivities(deps),
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions,
  });
}

/**
 * How far V8 may grow the heap past what its last full collection kept, in percent. A worker's
 * live data is small and steady (sources are streamed, an activity holds one chunk of users), but
 * by default V8 lets the garbage of a long run pile up to several times that before collecting,
 * so the peak would grow with the run; 50 keeps it near the live set at little CPU cost.
 * CXONE_SCIM_HEAP_GROWING_PERCENT overrides it (0: V8's own policy).
 */
export function boundHeapGrowth(env: NodeJS.ProcessEnv = process.env): void {
  const raw = env.CXONE_SCIM_HEAP_GROWING_PERCENT?.trim() || '50';
  const percent = Number(raw);
  if (!Number.isInteger(percent) || percent < 0) {
    throw new Error(
      `CXONE_SCIM_HEAP_GROWING_PERCENT must be a whole number of percent (0 for V8's own policy), got "${raw}"`,
    );
  }
  // Read by V8 at every full collection, so it applies though the VM is already running.
  if (percent > 0) v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/** `cxone-scim worker`: tenants from env / tenant file; runs until SIGINT or SIGTERM. */
export async function runWorker(settings: TemporalSettings, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  boundHeapGrowth(env);
  installRuntime(env);
  const tenants = TenantRegistry.fromEnv(env);
  if (tenants.ids().length === 0) {
    throw new Error(
      'No tenant configured: set CXONE_BASE_URL and CXONE_CLIENT_ID/CXONE_CLIENT_SECRET, or CXONE_TENANTS_FILE.',
    );
  }
  const connection = await connectWorker(settings);
  try {
    const worker = await createProjectWorker({ settings, tenants, connection });
    // The SDK shuts the worker down gracefully on SIGINT/SIGTERM: it stops polling and lets
    // in-flight activities finish (up to shutdownGraceTime) before run() resolves.
    await worker.run();
  } finally {
    await connection.close();
  }
}
