// The worker of a benchmark: `cxone-scim worker` as a process of its own (so its memory is
// measured apart from the sandbox and the load generator), bound to one sandbox tenant.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Sandbox } from 'cxone-sandbox';
import type { TemporalEnvironment } from '../src/temporal/server';
import { discoverServiceProvider } from '../src/workflows';

const MAIN = path.resolve(__dirname, '..', 'src', 'cli', 'main.js');

export interface BenchWorker {
  process: ChildProcess;
  /** The worker's last stderr chunks: shown only when a run fails. */
  log: string[];
  /** Peak resident memory so far (Linux VmHWM), in MB; NaN where /proc cannot tell. */
  peakRssMb(): number;
  stop(): Promise<void>;
}

export interface BenchWorkerOptions {
  temporal: TemporalEnvironment;
  sandbox: Sandbox;
  taskQueue: string;
  tenantId: string;
  env?: Record<string, string>;
  /** Writes a V8 CPU profile of the worker into this folder. */
  profileDir?: string;
}

/**
 * Starts the worker, waits until it answers (it bundles its workflows first, so timing starts
 * after), runs `body`, and stops the worker; when `body` fails, prints the worker's last stderr lines.
 */
export async function withBenchWorker<T>(
  options: BenchWorkerOptions,
  body: (worker: BenchWorker) => Promise<T>,
): Promise<T> {
  const worker = startBenchWorker(options);
  try {
    await options.temporal.testEnv.client.workflow.execute(discoverServiceProvider, {
      taskQueue: options.taskQueue,
      workflowId: `bench-warmup-${Date.now()}`,
      args: [{ tenant: options.tenantId }],
    });
    return await body(worker);
  } catch (err) {
    process.stderr.write(`worker log (last lines):\n${worker.log.join('')}\n`);
    throw err;
  } finally {
    await worker.stop();
  }
}

function startBenchWorker(options: BenchWorkerOptions): BenchWorker {
  const { temporal, sandbox } = options;
  const child = spawn(
    process.execPath,
    [
      ...(options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(options.profileDir)}`] : []),
      MAIN,
      'worker',
    ],
    {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: temporal.address,
        TEMPORAL_NAMESPACE: temporal.namespace,
        TEMPORAL_TASK_QUEUE: options.taskQueue,
        CXONE_BASE_URL: sandbox.url,
        CXONE_CLIENT_ID: sandbox.clientId,
        CXONE_CLIENT_SECRET: sandbox.clientSecret,
        CXONE_SCOPES: 'scim:write',
        CXONE_TENANT_ID: options.tenantId,
        ...options.env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const log: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => log.push(chunk.toString()) > 200 && log.shift());
  return {
    process: child,
    log,
    peakRssMb() {
      try {
        return Number(/^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]) / 1024;
      } catch {
        return NaN;
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
