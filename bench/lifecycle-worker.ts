// The lifecycle bench's worker: the project's worker (createProjectWorker: same activities, same
// settings) as a process of its own, with the bench's workflows (the project's plus the baseline);
// tenants from the environment, as `cxone-scim worker` reads them.
import { bundleWorkflowCode } from '@temporalio/worker';
import { TenantRegistry } from '../src/config/tenants';
import { connectWorker, temporalSettingsFromEnv } from '../src/temporal/connection';
import { installRuntime } from '../src/temporal/runtime';
import { boundHeapGrowth, createProjectWorker } from '../src/worker';

async function main(): Promise<void> {
  boundHeapGrowth();
  installRuntime(process.env, 'WARN');
  const settings = temporalSettingsFromEnv();
  const tenants = TenantRegistry.fromEnv();
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./lifecycle-workflows'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} } as never,
  });
  const connection = await connectWorker(settings);
  try {
    const worker = await createProjectWorker({ settings, tenants, connection, workflowBundle });
    console.log('bench worker running');
    await worker.run();
  } finally {
    await connection.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
