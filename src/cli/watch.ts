import { Option, type Command } from 'commander';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { ProvisionUsersResult } from '../workflows';
import type { WorkflowReport } from '../workflows/report';
import { withTemporal, type CliContext } from './context';
import { describeError, exitCodeOf, UsageError } from './exit-codes';
import { followRun, throughOutages } from './follow';
import { printReport } from './print-report';
import { followProvision, printProvisionReport, progressPrinter } from './provision';
import { followSync, reportSyncEnd } from './sync';
import { syncProgressPrinter } from './sync-print';

/**
 * `cxone-scim watch <workflowId>`: re-attaches to a run (after the CLI that started it was
 * stopped or lost its connection), follows it to the end, prints the report, and exits like the
 * command that started it would have.
 */
export async function watchCommand(
  workflowId: string,
  options: { output: string },
  context: CliContext,
): Promise<void> {
  await withTemporal(context, async (client) => {
    const handle = client.workflow.getHandle(workflowId);
    const onOutage = ({ down }: { down: boolean }) =>
      context.stderr.write(down ? 'Temporal unreachable: reconnecting…\n' : 'Temporal reachable again\n');
    let type: string;
    try {
      type = (await throughOutages(() => handle.describe(), { onOutage })).type;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError)
        throw new UsageError(`watch: no workflow with id "${workflowId}" in this namespace`);
      throw err;
    }
    if (type === 'syncUsers') {
      const bar = syncProgressPrinter(context.stderr);
      const end = await followSync(handle, { onProgress: (p) => bar.update(p), onOutage: (s) => bar.outage(s) });
      bar.end();
      reportSyncEnd(workflowId, end, context);
      return;
    }
    let outcome;
    if (type === 'provisionUsers') {
      const bar = progressPrinter(context.stderr);
      outcome = await followProvision(handle, { onProgress: (p) => bar.update(p), onOutage: (s) => bar.outage(s) });
      bar.end();
      printProvisionReport(
        outcome.report as WorkflowReport<unknown, ProvisionUsersResult>,
        options.output,
        context.stdout,
      );
    } else {
      outcome = await followRun(handle, { onOutage });
      printReport(outcome.report, options.output, context.stdout);
    }
    if (outcome.failure) context.stderr.write(`cxone-scim: ${describeError(outcome.failure)}\n`);
    context.exitCode = exitCodeOf(outcome.report);
  });
}

export function registerWatchCommand(program: Command, context: CliContext): void {
  program
    .command('watch')
    .description(
      'Re-attach to a running (or finished) workflow: progress, then the report; exit code as for the command that started it.',
    )
    .argument('<workflowId>', 'the workflow id printed when the run started')
    .addOption(new Option('--output <format>', 'report format').choices(['text', 'json']).default('text'))
    .action((workflowId: string, options: { output: string }) => watchCommand(workflowId, options, context));
}
