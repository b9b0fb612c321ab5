#!/usr/bin/env node
import { Command } from 'commander';
import { registerSandboxCommand } from '../sandbox/command';
import { registerAuditCommand } from './audit';
import { registerConfigureCommand } from './configure';
import { registerReportCommand } from './report';
import { temporalSettingsFromEnv } from '../temporal/connection';
import { runWorker } from '../worker';
import { runDev } from './dev';

const program = new Command()
  .name('cxone-scim')
  .description('Durable SCIM 2.0 provisioning for NICE CXone, orchestrated by Temporal.')
  .showHelpAfterError();

program
  .command('worker')
  .description('Run the Temporal worker (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE; tenants from CXONE_* or CXONE_TENANTS_FILE).')
  .action(async () => {
    await runWorker(temporalSettingsFromEnv());
  });

program
  .command('dev')
  .description('The end-to-end demo: embedded Temporal dev server (or TEMPORAL_ADDRESS), the CXone sandbox and the worker.')
  .option('--db-file <path>', 'persist the embedded Temporal server to this SQLite file')
  .option('--ui-port <port>', 'serve the Temporal UI on this port', (v) => Number(v))
  .option('--keep-running', 'stay up after the demo until Ctrl-C')
  .action(async (options) => {
    await runDev(options);
  });

registerSandboxCommand(program);
registerConfigureCommand(program);
registerReportCommand(program);
registerAuditCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`cxone-scim: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
