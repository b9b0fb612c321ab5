import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { Option, type Command } from 'commander';
import { configureWorkflowId } from '../temporal/constants';
import { DEFAULT_TENANT_ID } from '../config/tenants';
import {
  configureServiceProvider,
  type ConfigureServiceProviderInput,
  type ConfigureServiceProviderResult,
} from '../workflows';
import type { WorkflowReport } from '../workflows/report';
import { startMetadata } from '../workflows/ui-metadata';
import { integerOption, readJsonFile, urlOption, withTemporal, type CliContext } from './context';
import { describeError, exitCodeOf } from './exit-codes';
import { followRun, type FollowOptions } from './follow';
import { printReport } from './print-report';
import { workPriority } from '../temporal/priority';

/** Starts configureServiceProvider under the tenant's workflow id; a second concurrent run is refused. */
export async function startConfigure(client: Client, taskQueue: string, input: ConfigureServiceProviderInput) {
  const workflowId = configureWorkflowId(input.tenant);
  try {
    return await client.workflow.start(configureServiceProvider, {
      taskQueue,
      workflowId,
      args: [input],
      priority: workPriority('interactive', input.tenant),
      ...startMetadata('configureServiceProvider', input, {
        startedBy: `cxone-scim configure (${input.mode ?? 'apply'})`,
      }),
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new Error(
        `a configureServiceProvider run for tenant "${input.tenant}" is already running (workflow id ${workflowId}); ` +
          "wait for it to finish: two runs never write one tenant's ServiceProviderConfig at once",
      );
    }
    throw err;
  }
}

/** Runs it to the end (waiting through Temporal outages) and returns the `report` query's answer, whether the run succeeded or not. */
export async function runConfigure(
  client: Client,
  taskQueue: string,
  input: ConfigureServiceProviderInput,
  options: FollowOptions = {},
): Promise<{ ok: boolean; report: WorkflowReport; failure?: unknown }> {
  const handle = await startConfigure(client, taskQueue, input);
  return followRun(handle, options);
}

interface ConfigureOptions {
  verify?: boolean;
  tenant: string;
  notifyUrl?: string;
  format: string;
  maxBulkOperations?: number;
  maxFilterResults?: number;
}

/** `cxone-scim configure <file>`: exit 0 applied or in sync, 3 drift found by --verify, 4 no ServiceProviderConfig published, 1 failed. */
export async function configureCommand(file: string, options: ConfigureOptions, context: CliContext): Promise<void> {
  // A ServiceProviderConfig is a few kB; Temporal refuses inputs past 2 MB (past 4 MB only after a long retry).
  const desired = readJsonFile(file, 'desired ServiceProviderConfig', 1024 * 1024);
  const input: ConfigureServiceProviderInput = {
    tenant: options.tenant,
    desired,
    mode: options.verify ? 'verify' : 'apply',
    ...(options.notifyUrl ? { notifyUrl: options.notifyUrl } : {}),
    limits: {
      ...(options.maxBulkOperations !== undefined ? { maxBulkOperations: options.maxBulkOperations } : {}),
      ...(options.maxFilterResults !== undefined ? { maxFilterResults: options.maxFilterResults } : {}),
    },
  };
  await withTemporal(context, async (client, taskQueue) => {
    const { report, failure } = await runConfigure(client, taskQueue, input, {
      onOutage: ({ down }) =>
        context.stderr.write(down ? 'Temporal unreachable: reconnecting…\n' : 'Temporal reachable again\n'),
    });
    printReport(report, options.format, context.stdout);
    if (options.format === 'text') printDifferences(report, context.stdout);
    const result = report.result as ConfigureServiceProviderResult | undefined;
    if (result?.published === false)
      context.stdout.write(
        `the provider publishes no ServiceProviderConfig (${result.absence ?? 'not published'}): nothing compared, nothing written. ` +
          "Its capabilities come from the tenant's `capabilities` entry and defaults: see `cxone-scim tenants check`.\n",
      );
    if (failure) context.stderr.write(`cxone-scim: ${describeError(failure)}\n`);
    context.exitCode = exitCodeOf(report);
  });
}

/** What differs (the drift, in verify mode), one attribute per line. */
function printDifferences(report: WorkflowReport, out: NodeJS.WritableStream): void {
  const result = report.result as ConfigureServiceProviderResult | undefined;
  if (!result || result.differences.length === 0) return;
  const label = result.mode === 'verify' ? 'drift' : 'changed';
  const lines = result.differences.map(
    (d) => `  ${label}: ${d.path}: desired ${JSON.stringify(d.desired)}, provider has ${JSON.stringify(d.actual)}`,
  );
  out.write(`${lines.join('\n')}\n`);
}

export function registerConfigureCommand(program: Command, context: CliContext): void {
  program
    .command('configure')
    .description(
      'Apply (or, with --verify, check) a desired ServiceProviderConfig and print the report. Exit 0 done, 3 drift (--verify), 4 the provider publishes no ServiceProviderConfig, 1 failed.',
    )
    .argument('<file>', 'desired ServiceProviderConfig JSON (RFC 7643 §5)')
    .option('--verify', 'compare desired and actual; change nothing (exit 3 when they differ)')
    .option('--tenant <id>', 'tenant id', context.env.CXONE_TENANT_ID || DEFAULT_TENANT_ID)
    .option('--notify-url <url>', 'POST a signed scim.config.updated event here after a change', urlOption)
    .addOption(new Option('--format <format>', 'report format').choices(['text', 'json']).default('text'))
    .option('--max-bulk-operations <n>', "the gateway's largest bulk.maxOperations (CXone: 5000)", integerOption())
    .option('--max-filter-results <n>', "the gateway's largest filter.maxResults (CXone: 1000)", integerOption())
    .action((file: string, options: ConfigureOptions) => configureCommand(file, options, context));
}
