// `cxone-scim sync`: start a reconciliation (syncUsers), follow it, print its plan and outcome;
// `sync approve` / `sync reject` answer a run that waits for approval of its removals.
import {
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import type { Command } from 'commander';
import { syncUsersWorkflowId } from '../temporal/constants';
import {
  approveDeletionsUpdate,
  rejectDeletionsUpdate,
  syncProgressQuery,
  syncUsers,
  type SyncProgress,
  type SyncUsersInput,
  type SyncUsersResult,
} from '../workflows';
import { withTemporal, type CliContext } from './context';
import { cliStartMetadata } from './run-metadata';
import { describeError, ExitCode, UsageError } from './exit-codes';
import { throughOutages } from './follow';
import { explainFailure } from './print-report';
import { addSyncOptions, syncInputFrom, type SyncOptions } from './sync-options';
import { approvalInstructions, countLines, formatSyncResult, syncExitCode, syncProgressPrinter } from './sync-print';
import { workPriority } from '../temporal/priority';
import type { ApprovalDecision, ApproveUpdate, RejectUpdate } from '../workflows/sync/deletion-approval';

export interface FollowSyncOptions {
  onProgress?: (progress: SyncProgress) => void;
  /** Called once when the run starts waiting for approval. */
  onAwaitingApproval?: (progress: SyncProgress) => void;
  /** Stop following (leaving the run waiting) once it awaits approval. */
  stopWhenAwaiting?: boolean;
  onOutage?: (state: { down: boolean; sinceMs: number }) => void;
  pollMs?: number;
}

export type SyncEnd =
  | { state: 'completed'; result: SyncUsersResult }
  | { state: 'failed'; failure: unknown }
  | { state: 'awaitingApproval'; progress: SyncProgress };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Follows a syncUsers run until it ends (through Temporal outages), or until it awaits approval when asked to stop there. */
export async function followSync(handle: WorkflowHandle, options: FollowSyncOptions = {}): Promise<SyncEnd> {
  let ended: SyncEnd | undefined;
  const result = throughOutages(() => handle.result() as Promise<SyncUsersResult>, {
    ...(options.onOutage ? { onOutage: options.onOutage } : {}),
  }).then(
    (value): SyncEnd => (ended = { state: 'completed', result: value }),
    (err: unknown): SyncEnd => {
      if (err instanceof WorkflowFailedError) return (ended = { state: 'failed', failure: err });
      throw err;
    },
  );
  let announced = false;
  while (!ended) {
    try {
      const progress = await handle.query(syncProgressQuery);
      if (ended) break;
      options.onProgress?.(progress);
      if (progress.phase === 'awaitingApproval' && !announced) {
        announced = true;
        options.onAwaitingApproval?.(progress);
        if (options.stopWhenAwaiting) return { state: 'awaitingApproval', progress };
      }
    } catch {
      // not answerable yet (first workflow task pending) or Temporal unreachable: the result wait reports outages
    }
    await Promise.race([result.catch(() => undefined), sleep(options.pollMs ?? 500)]);
  }
  return result;
}

/** Starts syncUsers with `input` and follows it. */
export async function runSync(
  client: Client,
  taskQueue: string,
  input: SyncUsersInput,
  options: FollowSyncOptions & { workflowId?: string } = {},
) {
  const handle = await client.workflow.start(syncUsers, {
    taskQueue,
    workflowId: options.workflowId ?? syncUsersWorkflowId(input.tenant),
    args: [input],
    priority: workPriority(input.user ? 'onDemand' : 'bulk', input.tenant),
    ...cliStartMetadata('syncUsers', input, 'cxone-scim sync'),
  });
  return { handle, end: await followSync(handle, options) };
}

/** Prints how a run ended and sets the exit code. */
export function reportSyncEnd(workflowId: string, end: SyncEnd, context: CliContext): void {
  if (end.state === 'completed') {
    context.stdout.write(formatSyncResult(workflowId, end.result));
    context.exitCode = syncExitCode(end.result.outcome);
  } else if (end.state === 'awaitingApproval') {
    const p = end.progress;
    context.stdout.write(
      `Plan ${p.planHash ?? '?'} (workflow ${workflowId})\n${p.planned ? `${countLines(p.planned).join('\n')}\n` : ''}`,
    );
    context.stdout.write(
      'Not waiting (--no-wait): the run keeps waiting for a decision; follow it with cxone-scim watch.\n',
    );
    context.exitCode = ExitCode.Partial;
  } else {
    const failure = end.failure as WorkflowFailedError;
    const cause = failure.cause as (Error & { type?: string }) | undefined;
    context.stderr.write(`cxone-scim: sync ${workflowId} failed: ${describeError(cause ?? failure)}\n`);
    const explained = explainFailure(cause?.type);
    if (explained) context.stderr.write(`  ${explained}\n`);
    context.exitCode = ExitCode.Error;
  }
}

export async function syncCommand(
  file: string,
  options: SyncOptions & { wait: boolean; workflowId?: string },
  context: CliContext,
): Promise<void> {
  const input = syncInputFrom(file, options);
  await withTemporal(context, async (client, taskQueue) => {
    const bar = syncProgressPrinter(context.stderr);
    const workflowId = options.workflowId ?? syncUsersWorkflowId(input.tenant);
    context.stderr.write(`workflow ${workflowId}\n`);
    const { end } = await runSync(client, taskQueue, input, {
      workflowId,
      stopWhenAwaiting: !options.wait,
      onProgress: (p) => bar.update(p),
      onOutage: (s) => bar.outage(s),
      onAwaitingApproval: (p) => {
        bar.end();
        context.stdout.write(
          `${approvalInstructions(workflowId, p.awaitingApproval?.planHash ?? p.planHash ?? '?', p.awaitingApproval?.removals, p.awaitingApproval?.reason)}\n`,
        );
        if (options.wait) context.stdout.write('Waiting for a decision (Ctrl-C leaves the run waiting)…\n');
      },
    });
    bar.end();
    reportSyncEnd(workflowId, end, context);
  });
}

/** What `approve` / `reject` subcommands answer: a run waiting at an ApprovalGate. */
export interface ApprovalCommands {
  approve: ApproveUpdate;
  reject: RejectUpdate;
  /** What the printed decision names, e.g. `plan` or `adoption plan`. */
  plan: string;
  approveDescription: string;
  rejectDescription: string;
}

/** Adds `approve` and `reject` to `parent`; a refusal (the validator's answer) is exit 1 with the reason. */
export function addApprovalCommands(parent: Command, context: CliContext, gate: ApprovalCommands): void {
  const decide = (workflowId: string, send: (handle: WorkflowHandle) => Promise<ApprovalDecision>) =>
    withTemporal(context, async (client) => {
      try {
        const answer = await send(client.workflow.getHandle(workflowId));
        context.stdout.write(
          `${answer.decision} ${gate.plan} ${answer.planHash}${answer.by ? ` by ${answer.by}` : ''}${answer.reason ? ` (${answer.reason})` : ''} at ${answer.at}\n`,
        );
        context.exitCode = ExitCode.Done;
      } catch (err) {
        if (err instanceof WorkflowNotFoundError)
          throw new UsageError(`no workflow with id "${workflowId}" in this namespace`);
        if (!(err instanceof WorkflowUpdateFailedError)) throw err;
        context.stderr.write(`cxone-scim: refused: ${describeError(err.cause ?? err)}\n`);
        context.exitCode = ExitCode.Error;
      }
    });

  parent
    .command('approve')
    .description(gate.approveDescription)
    .argument('<workflowId>', 'the waiting run')
    .requiredOption('--plan-hash <hash>', 'the plan hash the run printed')
    .option('--by <name>', 'who approves (recorded in the report)')
    .action((workflowId: string, options: { planHash: string; by?: string }) =>
      decide(workflowId, (handle) =>
        handle.executeUpdate(gate.approve, {
          args: [{ planHash: options.planHash, ...(options.by ? { approvedBy: options.by } : {}) }],
        }),
      ),
    );

  parent
    .command('reject')
    .description(gate.rejectDescription)
    .argument('<workflowId>', 'the waiting run')
    .option('--by <name>', 'who rejects')
    .option('--reason <text>', 'why (recorded in the report)')
    .action((workflowId: string, options: { by?: string; reason?: string }) =>
      decide(workflowId, (handle) =>
        handle.executeUpdate(gate.reject, {
          args: [
            {
              ...(options.by ? { rejectedBy: options.by } : {}),
              ...(options.reason ? { reason: options.reason } : {}),
            },
          ],
        }),
      ),
    );
}

export function registerSyncCommand(program: Command, context: CliContext): void {
  const sync = program
    .command('sync')
    .description(
      'Reconcile the provider with a users file (read by the worker) using the syncUsers workflow: prints the plan like `terraform plan`, ' +
        'applies it (removals above the deletion threshold wait for `sync approve`). Exit 0 succeeded or dry run, 2 partial, quarantined, ' +
        'rejected or not approved in time, 1 failed.',
    )
    .argument('<file>', 'users file (CSV, JSON, NDJSON); the worker reads it, so give a path the worker can see');
  addSyncOptions(sync, context)
    .option('--no-wait', 'when removals wait for approval, print how to approve and exit (2) instead of waiting')
    .option('--workflow-id <id>', 'workflow id (default: sync-<tenant>-<uuid>)')
    .action((file: string, options: SyncOptions & { wait: boolean; workflowId?: string }) =>
      syncCommand(file, options, context),
    );

  addApprovalCommands(sync, context, {
    approve: approveDeletionsUpdate,
    reject: rejectDeletionsUpdate,
    plan: 'plan',
    approveDescription: 'Approve the removals a sync run waits for; the plan hash must be the one it printed.',
    rejectDescription: 'Reject the removals a sync run waits for: it ends without them (outcome rejected).',
  });
}
