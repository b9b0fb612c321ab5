import { randomUUID } from 'node:crypto';
import { bundleWorkflowCode, DefaultLogger, Runtime, type Worker, type WorkflowBundle } from '@temporalio/worker';
import { TenantRegistry, type TenantConfig } from '../../src/config/tenants';
import type { TemporalSettings } from '../../src/temporal/connection';
import { startTemporal, type EmbeddedServerOptions, type TemporalEnvironment } from '../../src/temporal/server';
import { createProjectWorker, WORKFLOWS_PATH } from '../../src/worker';
import { historyAsText } from './history-files';

let bundle: Promise<WorkflowBundle> | undefined;

/** The workflow bundle, built once per test file (webpack takes seconds). */
export function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
  return bundle;
}

const noop = () => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: console.error, log: noop };

let runtimeInstalled = false;

/** Worker state changes are logged at INFO; tests only want warnings and errors. Once per process. */
export function installTestRuntime(level: 'WARN' | 'ERROR' = 'WARN'): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger: new DefaultLogger(process.env.TEST_LOG_LEVEL === 'DEBUG' ? 'DEBUG' : level) });
  runtimeInstalled = true;
}

/** A real Temporal dev server (or TEMPORAL_ADDRESS), one per test file: stop it in `after`. */
export function startTestTemporal(
  options: Pick<EmbeddedServerOptions, 'uiPort' | 'uiCodecEndpoint'> = {},
): Promise<TemporalEnvironment> {
  installTestRuntime();
  return startTemporal(options);
}

export interface TestWorker {
  worker: Worker;
  settings: TemporalSettings;
  stop(): Promise<void>;
}

/** A worker on its own task queue, bound to the given tenants; `stop()` drains and shuts it down. */
export async function startTestWorker(
  temporal: TemporalEnvironment,
  tenants: TenantConfig[],
  extra: { requestTimeoutMs?: number; payloadKey?: string } = {},
): Promise<TestWorker> {
  const settings: TemporalSettings = {
    address: temporal.address,
    namespace: temporal.namespace,
    taskQueue: `test-${randomUUID()}`,
    ...(extra.payloadKey ? { payloadKey: extra.payloadKey } : {}),
  };
  const worker = await createProjectWorker({
    settings,
    tenants: new TenantRegistry(tenants),
    connection: temporal.testEnv.nativeConnection,
    workflowBundle: await workflowBundle(),
    requestTimeoutMs: extra.requestTimeoutMs,
  });
  const running = worker.run();
  return {
    worker,
    settings,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}

/** A workflow history as searchable text, payload bytes decoded as UTF-8 (to look for secrets). */
export async function historyText(handle: { fetchHistory(): Promise<unknown> }): Promise<string> {
  return historyAsText(await handle.fetchHistory());
}
