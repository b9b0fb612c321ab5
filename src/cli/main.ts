#!/usr/bin/env node
import { Command } from 'commander';
import { registerSandboxCommand } from './sandbox';
import { registerWebhookServerCommand } from '../webhooks/command';
import { registerAuditCommand } from './audit';
import { registerCodecServerCommand } from './codec-server';
import { registerConfigureCommand } from './configure';
import { registerProvisionCommand } from './provision';
import { registerReportCommand } from './report';
import { registerTenantsCommand } from './tenants';
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

function positiveInteger(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number, got "${value}"`);
    return n;
  };
}

program
  .command('dev')
  .description(
    'The end-to-end demo: embedded Temporal dev server (or TEMPORAL_ADDRESS), CXone and IdP sandboxes, the worker and the ' +
      'webhook receiver; configures the provider, registers webhooks, provisions users, lets lifecycle events flow, prints the report.',
  )
  .option('--users <n>', 'users to generate and provision', positiveInteger('--users'), 1000)
  .option('--db-file <path>', 'persist the embedded Temporal server to this SQLite file')
  .option('--ui-port <port>', 'Temporal UI port of the embedded server (0: no UI)', positiveInteger('--ui-port'), 8233)
  .option('--keep-running', 'stay up after the demo until Ctrl-C')
  .option('--profile <name>', 'CXone sandbox profile: full (every optional feature) or cxone (access keys with discovery, no Bulk, no ETags, read-only config)', 'full')
  .action(async (options: { users: number; dbFile?: string; uiPort: number; keepRunning?: boolean; profile: string }) => {
    if (options.profile !== 'full' && options.profile !== 'cxone') throw new Error(`--profile must be full or cxone, got "${options.profile}"`);
    await runDev({ ...options, profile: options.profile });
  });

registerSandboxCommand(program);
registerWebhookServerCommand(program);
registerConfigureCommand(program);
registerProvisionCommand(program);
registerReportCommand(program);
registerAuditCommand(program);
registerCodecServerCommand(program);
registerTenantsCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`cxone-scim: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
