import type { NativeConnection, Worker, WorkerOptions } from '@temporalio/worker';
import { createActivities, createActivityDeps } from './activities';
import { TenantRegistry } from './config/tenants';
import { connectWorker, createWorker, type TemporalSettings } from './temporal/connection';
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
  return createWorker(options.settings, {
    connection: options.connection,
    activities: createActivities(deps),
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions,
  });
}

/** `cxone-scim worker`: tenants from env / tenant file; runs until SIGINT or SIGTERM. */
export async function runWorker(settings: TemporalSettings, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  installRuntime(env);
  const tenants = TenantRegistry.fromEnv(env);
  if (tenants.ids().length === 0) {
    throw new Error('No tenant configured: set CXONE_BASE_URL and CXONE_CLIENT_ID/CXONE_CLIENT_SECRET, or CXONE_TENANTS_FILE.');
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
