import { randomUUID } from 'node:crypto';
import { Option, type Command } from 'commander';
import { DEFAULT_TENANT_ID } from '../config/tenants';
import { UNDO_ACTIONS, type UndoAction } from '../scim/undo';
import {
  approveDeletionsUpdate,
  rejectDeletionsUpdate,
  undoRun,
  type UndoRunInput,
  type UndoRunResult,
} from '../workflows';
import { integerOption, withTemporal, type CliContext } from './context';
import { cliStartMetadata } from './run-metadata';
import { addApprovalCommands } from './sync';
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

/** How the plan and the result name each compensating action. */
const PLANNED: Record<UndoAction, string> = {
  reactivate: 'reactivate',
  restore: 'restore',
  'deactivate-created': 'deactivate created',
  'remove-member': 'remove member',
  'add-member': 'add member',
  'rename-group': 'rename group',
  'delete-created-group': 'delete created group',
  'restore-team': 'restore team',
  'remove-skill': 'remove skill',
  'restore-skill': 'restore skill',
};
const APPLIED: Record<UndoAction, string> = {
  reactivate: 'reactivated',
  restore: 'restored',
  'deactivate-created': 'deactivated',
  'remove-member': 'members removed',
  'add-member': 'members added',
  'rename-group': 'groups renamed',
  'delete-created-group': 'groups deleted',
  'restore-team': 'teams restored',
  'remove-skill': 'skills removed',
  'restore-skill': 'skills restored',
};

/** Counts, hash, what was applied and every write left alone (named, with why), one per line. */
export function formatUndoResult(result: UndoRunResult): string {
  const c = result.counts;
  const actions = UNDO_ACTIONS[result.subject ?? 'users'];
  const lines = [
    `outcome: ${result.outcome}${result.note ? ` (${result.note})` : ''}`,
    `undo of ${result.target.type} ${result.target.workflowId} (run ${result.target.runId}), ${result.journalEntries} writes journaled`,
    `plan ${result.planHash}: ${actions.map((a) => `${c[a] ?? 0} ${PLANNED[a]}`).join(', ')}, ${c.skipped} skipped`,
  ];
  for (const s of result.skipped)
    lines.push(
      `  skipped: ${[s.userName, s.subject].filter(Boolean).join(' ') || s.id || '(unnamed)'}${s.subject && s.id ? ` [${s.id}]` : ''} (${s.operation}): ${s.reason}`,
    );
  if (result.outcome !== 'dry-run') {
    const a = result.applied;
    lines.push(
      `applied: ${actions.map((x) => `${a[x] ?? 0} ${APPLIED[x]}`).join(', ')}; ${result.alreadyApplied} already done; ${result.failed} failed`,
    );
  }
  for (const f of result.failures)
    lines.push(`  failed: ${f.userName ?? f.subject ?? f.id}${f.status ? ` HTTP ${f.status}` : ''}: ${f.detail}`);
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
  const undo = program
    .command('undo')
    .argument('<workflowId>', 'the finished run to undo')
    .description(
      'Undo a finished syncUsers, provisionUsers, syncGroups or syncAssignments run from what its writes recorded (undoRun workflow): reactivate whom it deactivated, restore what it changed, remove memberships it added and re-add those it removed, set skills and teams back; whatever was changed again since is skipped and named. Dry run unless --apply. Exit 0 done, 2 partial or not approved, 1 failed.',
    )
    .option('--tenant <id>', 'tenant id', context.env.CXONE_TENANT_ID || DEFAULT_TENANT_ID)
    .option('--run-id <id>', 'the run of <workflowId> to undo (default: its latest)')
    .option('--apply', 'write the compensation (default: show the plan only)')
    .option(
      '--include-created',
      'also deactivate the users the run created (syncGroups: delete the groups it created, when only its members are in them)',
    )
    .option(
      '--max-count <n>',
      'more compensating writes than this wait for approveDeletions (default 500)',
      integerOption(),
    )
    .option('--workflow-id <id>', 'workflow id of the undo run (default: undo-<tenant>-<uuid>)')
    .addOption(new Option('--output <format>', 'result format').choices(['text', 'json']).default('text'))
    .action((target: string, options: UndoOptions) => undoCommand(target, options, context));

  addApprovalCommands(undo, context, {
    approve: approveDeletionsUpdate,
    reject: rejectDeletionsUpdate,
    plan: 'undo plan',
    approveDescription:
      'Approve the compensating writes an undo run waits for; the plan hash must be the one it printed.',
    rejectDescription:
      'Reject the compensating writes an undo run waits for: it ends without writing (outcome rejected).',
  });
}
