import path from 'node:path';
import { Option, type Command } from 'commander';
import { DEFAULT_TENANT_ID } from '../config/tenants';
import { syncGroupsWorkflowId } from '../temporal/constants';
import { syncGroups, type SyncGroupsInput, type SyncGroupsResult } from '../workflows';
import { integerOption, withTemporal, type CliContext } from './context';
import { cliStartMetadata } from './run-metadata';
import { describeError, ExitCode, UsageError } from './exit-codes';
import { workPriority } from '../temporal/priority';

interface SyncGroupsOptions {
  groupsFile?: string;
  usersCsv?: string;
  column?: string;
  delimiter?: string;
  tenant: string;
  matchKey?: 'displayName' | 'externalId';
  memberKey?: 'userName' | 'externalId';
  deprovision?: 'empty' | 'delete';
  protected?: string[];
  prefix?: string;
  dryRun?: boolean;
  sliceSize?: number;
  workflowId?: string;
  output: string;
}

/** Plan counts, what was applied, and every per-group error and failure, one per line. */
export function formatGroupsResult(result: SyncGroupsResult): string {
  const lines = [`outcome: ${result.outcome}${result.note ? ` (${result.note})` : ''}`];
  const plan = result.plan;
  if (plan) {
    const c = plan.counts;
    lines.push(
      `plan ${plan.planHash}: ${c.create} create, ${c.update} update, ${c.unchanged} unchanged, ${c.empty} empty, ${c.delete} delete, ${c.protected} protected, ${c['out-of-scope']} out of scope; ${plan.adds} member adds, ${plan.removals.memberships} member removals (memberships from ${plan.membershipView})`,
    );
    for (const p of plan.problems)
      lines.push(`  error: ${p.group ? `group "${p.group}" ` : ''}${p.origin ? `(${p.origin}) ` : ''}${p.reason}`);
  }
  const a = result.applied;
  lines.push(
    `applied: ${a.created} created, ${a.renamed} renamed, ${a.deleted} deleted, ${a.membersAdded} members added, ${a.membersRemoved} removed; ${result.failed} failed; ${result.requests} requests`,
  );
  for (const f of result.failures)
    lines.push(`  failed: group "${f.group}"${f.status ? ` HTTP ${f.status}` : ''}: ${f.detail}`);
  if (result.deletionDecision)
    lines.push(
      `removals: ${result.deletionDecision.decision}${result.deletionDecision.by ? ` by ${result.deletionDecision.by}` : ''}`,
    );
  return `${lines.join('\n')}\n`;
}

/** `cxone-scim sync-groups`: exit 0 done (or dry run, or no Groups at the provider), 2 partial or removals not approved, 1 failed. */
export async function syncGroupsCommand(options: SyncGroupsOptions, context: CliContext): Promise<void> {
  if (!options.groupsFile && !options.usersCsv) throw new UsageError('give --groups-file and/or --users-csv');
  const input: SyncGroupsInput = {
    tenant: options.tenant,
    ...(options.groupsFile
      ? {
          groupsFile: {
            path: path.resolve(options.groupsFile),
            ...(options.delimiter ? { delimiter: options.delimiter } : {}),
          },
        }
      : {}),
    ...(options.usersCsv
      ? {
          groupsColumn: {
            path: path.resolve(options.usersCsv),
            ...(options.column ? { column: options.column } : {}),
            ...(options.delimiter ? { delimiter: options.delimiter } : {}),
          },
        }
      : {}),
    ...(options.matchKey ? { matchKey: options.matchKey } : {}),
    ...(options.memberKey ? { memberKey: options.memberKey } : {}),
    ...(options.deprovision ? { deprovision: options.deprovision } : {}),
    ...(options.protected ? { protectedGroups: options.protected } : {}),
    ...(options.prefix ? { scope: { displayNamePrefix: options.prefix } } : {}),
    ...(options.dryRun ? { dryRun: true } : {}),
    ...(options.sliceSize ? { memberSliceSize: options.sliceSize } : {}),
  };
  await withTemporal(context, async (client, taskQueue) => {
    const handle = await client.workflow.start(syncGroups, {
      taskQueue,
      workflowId: options.workflowId ?? syncGroupsWorkflowId(input.tenant),
      args: [input],
      priority: workPriority('bulk', input.tenant),
      ...cliStartMetadata(
        'syncGroups',
        { ...input, source: input.groupsFile ?? input.groupsColumn },
        'cxone-scim sync-groups',
      ),
    });
    await printGatedResult(handle, context, 'removals above the threshold', options.output, formatGroupsResult);
  });
}

/**
 * For a run whose writes may wait at the `approveDeletions` gate: prints how to approve them
 * (`gated`: which writes wait), waits for the result and prints it (`output` json, else `format`);
 * exit 2 when partial, rejected or not approved in time, 1 when the run failed.
 */
export async function printGatedResult<R extends { outcome: string }>(
  handle: { workflowId: string; result(): Promise<R> },
  context: CliContext,
  gated: string,
  output: string,
  format: (result: R) => string,
): Promise<void> {
  context.stderr.write(
    `workflow ${handle.workflowId} (${gated} wait for: temporal workflow update --workflow-id ${handle.workflowId} --name approveDeletions --input '{"planHash":"…"}')\n`,
  );
  try {
    const result = await handle.result();
    context.stdout.write(output === 'json' ? `${JSON.stringify(result, null, 2)}\n` : format(result));
    const partial =
      result.outcome === 'partial' || result.outcome === 'rejected' || result.outcome === 'approval-timeout';
    context.exitCode = partial ? ExitCode.Partial : ExitCode.Done;
  } catch (err) {
    context.stderr.write(`cxone-scim: ${describeError(err)}\n`);
    context.exitCode = ExitCode.Error;
  }
}

export function registerSyncGroupsCommand(program: Command, context: CliContext): void {
  program
    .command('sync-groups')
    .description(
      "Reconcile the provider's Groups and memberships with the source (syncGroups workflow). Exit 0 done, 2 partial, 1 failed.",
    )
    .option(
      '--groups-file <file>',
      'groups file (CSV / JSON / NDJSON: displayName, externalId, members); the worker reads it',
    )
    .option('--users-csv <file>', 'user CSV with a groups column; the worker reads it')
    .option('--column <name>', 'the groups column of --users-csv (default groups)')
    .option('--delimiter <text>', 'between group names / member keys (default ;)')
    .option('--tenant <id>', 'tenant id', context.env.CXONE_TENANT_ID || DEFAULT_TENANT_ID)
    .addOption(new Option('--match-key <key>', 'how groups match').choices(['displayName', 'externalId']))
    .addOption(new Option('--member-key <key>', 'how members name users').choices(['userName', 'externalId']))
    .addOption(new Option('--deprovision <how>', 'groups gone from the source').choices(['empty', 'delete']))
    .option('--protected <names...>', 'group displayNames or ids never touched')
    .option('--prefix <text>', 'manage only groups whose displayName starts with this')
    .option('--dry-run', 'show the plan, write nothing')
    .option('--slice-size <n>', 'members per PATCH request (default 1000)', integerOption())
    .option('--workflow-id <id>', 'workflow id (default: sync-groups-<tenant>-<uuid>)')
    .addOption(new Option('--output <format>', 'result format').choices(['text', 'json']).default('text'))
    .action((options: SyncGroupsOptions) => syncGroupsCommand(options, context));
}
