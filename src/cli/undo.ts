import { randomUUID } from 'node:crypto';
import { Option, type Command } from 'commander';
import { DEFAULT_TENANT_ID } from '../config/tenants';
import { undoRun, type UndoRunInput, type UndoRunResult } from '../workflows';
import { integerOption, withTemporal, type CliContext } from './context';
import { cliStartMetadata } from './run-metadata';
import { printGatedResult } from './sync-groups';

interface UndoOptions {
  tenant: string;
  runId?: string;
  apply?: boolean;
  includeCreated?: boolean;
  maxCount?: number;
  workflowId?: string;
  output: string;
}

/** Counts, hash, what was applied and every write left alone (named, with why), one per line. */
export function formatUndoResult(result: UndoRunResult): string {
  const c = result.counts;
  const lines = [
    `outcome: ${result.outcome}${result.note ? ` (${result.note})` : ''}`,
    `undo of ${result.target.type} ${result.target.workflowId} (run ${result.target.runId}), ${result.journalEntries} writes journaled`,
    `plan ${result.planHash}: ${c.reactivate} reactivate, ${c.restore} restore, ${c['deactivate-created']} deactivate created, ${c.skipped} skipped`,
  ];
  for (const s of result.skipped)
    lines.push(`  skipped: ${s.userName ?? s.id ?? '(unnamed)'} (${s.operation}): ${s.reason}`);
  if (result.outcome !== 'dry-run') {
    const a = result.applied;
    lines.push(
      `applied: ${a.reactivate} reactivated, ${a.restore} restored, ${a['deactivate-created']} deactivated; ${result.alreadyApplied} already done; ${result.failed} failed`,
    );
  }
  for (const f of result.failures)
    lines.push(`  failed: ${f.userName ?? f.id}${f.status ? ` HTTP ${f.status}` : ''}: ${f.detail}`);
  if (result.deletionDecision)
    lines.push(
      `approval: ${result.deletionDecision.decision}${result.deletionDecision.by ? ` by ${result.deletionDecision.by}` : ''}`,
    );
  return `${lines.join('\n')}\n`;
}

/** `cxone-scim undo <workflowId>`: exit 0 done (or dry run), 2 partial or not approved, 1 failed. */
export async function undoCommand(target: string, options: UndoOptions, context: CliContext): Promise<void> {
  const input: UndoRunInput = {
    tenant: options.tenant,
    workflowId: target,
    ...(options.runId ? { runId: options.runId } : {}),
    ...(options.apply ? { apply: true } : {}),
    ...(options.includeCreated ? { includeCreated: true } : {}),
    ...(options.maxCount !== undefined ? { deletionThreshold: { maxCount: options.maxCount } } : {}),
  };
  await withTemporal(context, async (client, taskQueue) => {
    const handle = await client.workflow.start(undoRun, {
      taskQueue,
      workflowId: options.workflowId ?? `undo-${input.tenant}-${randomUUID()}`,
      args: [input],
      ...cliStartMetadata('undoRun', input, 'cxone-scim undo'),
    });
    await printGatedResult(handle, context, 'more writes than the threshold', options.output, formatUndoResult);
  });
}

export function registerUndoCommand(program: Command, context: CliContext): void {
  program
    .command('undo <workflowId>')
    .description(
      'Undo a finished syncUsers run from what its writes recorded (undoRun workflow): reactivate whom it deactivated, restore what it changed; a user changed again since is skipped and named. Dry run unless --apply. Exit 0 done, 2 partial or not approved, 1 failed.',
    )
    .option('--tenant <id>', 'tenant id', context.env.CXONE_TENANT_ID || DEFAULT_TENANT_ID)
    .option('--run-id <id>', 'the run of <workflowId> to undo (default: its latest)')
    .option('--apply', 'write the compensation (default: show the plan only)')
    .option('--include-created', 'also deactivate the users the run created')
    .option(
      '--max-count <n>',
      'more compensating writes than this wait for approveDeletions (default 500)',
      integerOption(),
    )
    .option('--workflow-id <id>', 'workflow id of the undo run (default: undo-<tenant>-<uuid>)')
    .addOption(new Option('--output <format>', 'result format').choices(['text', 'json']).default('text'))
    .action((target: string, options: UndoOptions) => undoCommand(target, options, context));
}
