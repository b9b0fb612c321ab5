// What most end-to-end suites start: a Temporal test server, a sandbox, a worker bound to the
// sandbox's tenant, and a scratch folder; stopped together, in reverse order.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import { sandboxTenant } from '../../src/cli/dev';
import type { TemporalEnvironment } from '../../src/temporal/server';
import { startTestTemporal, startTestWorker, type TestWorker } from './temporal';

export interface SandboxWorld {
  temporal: TemporalEnvironment;
  sandbox: Sandbox;
  worker: TestWorker;
  /** A scratch folder, removed by stop(). */
  dir: string;
  stop(): Promise<void>;
}

export async function startSandboxWorld(dirPrefix: string): Promise<SandboxWorld> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), dirPrefix));
  const [temporal, sandbox] = await Promise.all([startTestTemporal(), startSandbox({ port: 0 })]);
  const worker = await startTestWorker(temporal, [sandboxTenant(sandbox)]);
  return {
    temporal,
    sandbox,
    worker,
    dir,
    async stop() {
      await worker.stop();
      await sandbox.close();
      await temporal.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
