import fs from 'node:fs';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Command } from 'commander';
import { connectClient, temporalSettingsFromEnv } from '../temporal/connection';
import { configureWorkflowId } from '../temporal/constants';
import { DEFAULT_TENANT_ID } from '../config/tenants';
import { configureServiceProvider, type ConfigureServiceProviderInput } from '../workflows';
import { reportQuery, type WorkflowReport } from '../workflows/report';
import { printReport } from './print-report';

/** Starts configureServiceProvider under the tenant's workflow id; a second concurrent run is refused. */
export async function startConfigure(client: Client, taskQueue: string, input: ConfigureServiceProviderInput) {
  const workflowId = configureWorkflowId(input.tenant);
  try {
    return await client.workflow.start(configureServiceProvider, { taskQueue, workflowId, args: [input] });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new Error(
        `a configureServiceProvider run for tenant "${input.tenant}" is already running (workflow id ${workflowId}); ` +
          'wait for it to finish: two runs never write one tenant\'s ServiceProviderConfig at once',
      );
    }
    throw err;
  }
}

/** Runs it to the end and returns the `report` query's answer, whether the run succeeded or not. */
export async function runConfigure(
  client: Client,
  taskQueue: string,
  input: ConfigureServiceProviderInput,
): Promise<{ ok: boolean; report: WorkflowReport }> {
  const handle = await startConfigure(client, taskQueue, input);
  const ok = await handle.result().then(
    () => true,
    () => false,
  );
  return { ok, report: await handle.query(reportQuery) };
}

export function registerConfigureCommand(program: Command): void {
  program
    .command('configure')
    .description('Apply (or, with --verify, check) a desired ServiceProviderConfig and print the report.')
    .argument('<file>', 'desired ServiceProviderConfig JSON (RFC 7643 §5)')
    .option('--verify', 'compare desired and actual; change nothing')
    .option('--tenant <id>', 'tenant id', process.env.CXONE_TENANT_ID || DEFAULT_TENANT_ID)
    .option('--notify-url <url>', 'POST a signed scim.config.updated event here after a change')
    .option('--format <format>', 'report format: text or json', 'text')
    .option('--max-bulk-operations <n>', "the gateway's largest bulk.maxOperations (CXone: 5000)", Number)
    .option('--max-filter-results <n>', "the gateway's largest filter.maxResults (CXone: 1000)", Number)
    .action(async (file: string, options: { verify?: boolean; tenant: string; notifyUrl?: string; format: string; maxBulkOperations?: number; maxFilterResults?: number }) => {
      const desired: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
      const settings = temporalSettingsFromEnv();
      const client = await connectClient(settings);
      try {
        const { ok, report } = await runConfigure(client, settings.taskQueue, {
          tenant: options.tenant,
          desired,
          mode: options.verify ? 'verify' : 'apply',
          notifyUrl: options.notifyUrl,
          limits: {
            ...(options.maxBulkOperations !== undefined ? { maxBulkOperations: options.maxBulkOperations } : {}),
            ...(options.maxFilterResults !== undefined ? { maxFilterResults: options.maxFilterResults } : {}),
          },
        });
        printReport(report, options.format);
        if (!ok) process.exitCode = 1;
      } finally {
        await client.connection.close();
      }
    });
}
