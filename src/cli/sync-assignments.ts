// `cxone-scim sync-assignments`: start a skills and team reconciliation (syncAssignments), print
// its plan and outcome. Removals above the threshold wait for `cxone-scim sync approve|reject`,
// which answer any run by workflow id with the shared approveDeletions / rejectDeletions updates.
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { Option, type Command } from 'commander';
import type { SourceFormat } from '../activities/sources/user-source';
import { DEFAULT_TENANT_ID } from '../config/tenants';
import { syncAssignmentsWorkflowId } from '../temporal/constants';
import {
  syncAssignments,
  syncAssignmentsProgressQuery,
  type SyncAssignmentsInput,
  type SyncAssignmentsResult,
} from '../workflows';
import { integerOption, withTemporal, type CliContext } from './context';
import { cliStartMetadata } from './run-metadata';
import { describeError, ExitCode } from './exit-codes';
import { durationOption, shareOption } from './sync-options';
import { approvalInstructions } from './sync-print';
import { workPriority } from '../temporal/priority';

export interface SyncAssignmentsOptions {
  tenant: string;
  keyColumn: string;
  skillsColumn: string;
  teamColumn: string;
  format?: SourceFormat;
  only?: 'skills' | 'team';
  skills?: string;
  dryRun?: boolean;
  planOut?: string;
  maxDeletions?: number;
  maxDeletionShare?: number;
  approvalTimeout?: string;
  runDeadline?: string;
  wait: boolean;
  workflowId?: string;
  output: string;
}

/** The syncAssignments input for a file the worker reads (its path made absolute). */
export function assignmentsInputFrom(file: string, options: SyncAssignmentsOptions): SyncAssignmentsInput {
  const threshold = {
    ...(options.maxDeletions !== undefined ? { maxCount: options.maxDeletions } : {}),
    ...(options.maxDeletionShare !== undefined ? { maxShare: options.maxDeletionShare } : {}),
  };
  const skills = options.skills
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    tenant: options.tenant,
    source: {
      path: path.resolve(file),
      ...(options.format ? { format: options.format } : {}),
      keyColumn: options.keyColumn,
      skillsColumn: options.skillsColumn,
      teamColumn: options.teamColumn,
    },
    ...(options.only ? { manage: [options.only] } : {}),
    ...(skills ? { skills } : {}),
    ...(options.dryRun ? { dryRun: true } : {}),
    ...(options.planOut ? { planOut: { path: path.resolve(options.planOut) } } : {}),
    ...(Object.keys(threshold).length > 0 ? { deletionThreshold: threshold } : {}),
    ...(options.approvalTimeout ? { approvalTimeout: options.approvalTimeout } : {}),
    ...(options.runDeadline ? { runDeadline: options.runDeadline } : {}),
  };
}

/** The plan, what was applied, and every per-record error and failure, one per line. */
export function formatAssignmentsResult(workflowId: string, result: SyncAssignmentsResult): string {
  const lines: string[] = [];
  const plan = result.plan;
  if (plan) {
    const c = plan.counts;
    lines.push(
      `Plan ${plan.planHash} (tenant ${result.tenant}, workflow ${workflowId})`,
      `  source: ${plan.records} records, sha256 ${plan.sourceSha256.slice(0, 12)}…; managed skills: ${plan.managedSkills.join(', ') || 'none'} (${plan.managedMemberships} assignments)`,
      `  ~ team changes        ${String(c.teamChanges).padStart(8)}`,
      `  + skill adds          ${String(c.skillAdds).padStart(8)}`,
      `  ~ proficiency changes ${String(c.proficiencyChanges).padStart(8)}`,
      `  - skill removals      ${String(c.skillRemovals).padStart(8)}`,
      `  = unchanged records   ${String(c.unchanged).padStart(8)}`,
      `  ! records in error    ${String(c.errors).padStart(8)}`,
    );
    if (plan.sample.length > 0) lines.push('  sample:');
    for (const s of plan.sample) {
      const who = s.userName ?? `agent ${s.agentId}`;
      const what = s.team
        ? `team ${s.team}${s.from !== undefined ? ` (was ${s.from})` : ''}`
        : `${s.skill}${s.proficiency !== undefined ? `:${s.proficiency}` : ''}${s.from !== undefined ? ` (was ${s.from})` : ''}`;
      lines.push(`    ${s.action.padEnd(15)} ${who}: ${what}`);
    }
    for (const p of plan.problems)
      lines.push(`  error: ${p.origin ? `${p.origin} ` : ''}${p.userName ? `${p.userName}: ` : ''}${p.reason}`);
    if (plan.problemCount > plan.problems.length)
      lines.push(`  … ${plan.problemCount - plan.problems.length} more errors`);
    if (plan.planOut) lines.push(`  whole plan written to ${plan.planOut} (on the worker)`);
  }
  lines.push(`outcome: ${result.outcome}${result.note ? ` (${result.note})` : ''}`);
  if (result.outcome !== 'dry-run' && result.outcome !== 'unsupported') {
    const a = result.applied;
    lines.push(
      `applied: ${a['set-team']} team changes, ${a['add-skill']} skill adds, ${a['set-proficiency']} proficiency changes, ${a['remove-skill']} skill removals (${result.alreadyApplied} already made); ${result.failed} failed; ${result.requests} requests`,
    );
  }
  for (const f of result.failures)
    lines.push(
      `  failed: ${f.action} ${f.userName ?? `agent ${f.agentId}`}${f.skill ? ` ${f.skill}` : ''}${f.team ? ` ${f.team}` : ''}${f.status ? ` HTTP ${f.status}` : ''}: ${f.detail}`,
    );
  if (result.deletionDecision)
    lines.push(
      `removals: ${result.deletionDecision.decision}${result.deletionDecision.by ? ` by ${result.deletionDecision.by}` : ''}`,
    );
  return `${lines.join('\n')}\n`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Exit 0 succeeded, dry run or unsupported (nothing to do there); 2 partial, quarantined, not approved or --no-wait; 1 failed. */
export async function syncAssignmentsCommand(
  file: string,
  options: SyncAssignmentsOptions,
  context: CliContext,
): Promise<void> {
  const input = assignmentsInputFrom(file, options);
  await withTemporal(context, async (client, taskQueue) => {
    const workflowId = options.workflowId ?? syncAssignmentsWorkflowId(input.tenant);
    const handle = await client.workflow.start(syncAssignments, {
      taskQueue,
      workflowId,
      args: [input],
      priority: workPriority('bulk', input.tenant),
      ...cliStartMetadata('syncAssignments', input, 'cxone-scim sync-assignments'),
    });
    context.stderr.write(`workflow ${workflowId}\n`);
    let ended = false;
    const result = handle.result().finally(() => {
      ended = true;
    });
    // Until it ends: say once how to decide when the run waits for approval (or leave it waiting with --no-wait).
    let announced = false;
    while (!ended) {
      try {
        const p = await handle.query(syncAssignmentsProgressQuery);
        if (p.phase === 'awaitingApproval' && p.awaitingApproval && !announced && !ended) {
          announced = true;
          const { planHash, removals, reason } = p.awaitingApproval;
          context.stdout.write(`${approvalInstructions(workflowId, planHash, removals, reason)}\n`);
          if (!options.wait) {
            context.stdout.write('Not waiting (--no-wait): the run keeps waiting for a decision.\n');
            context.exitCode = ExitCode.Partial;
            result.catch(() => undefined);
            return;
          }
          context.stdout.write('Waiting for a decision (Ctrl-C leaves the run waiting)…\n');
        }
      } catch {
        // not answerable yet (first workflow task pending): the result wait reports real failures
      }
      await Promise.race([result.catch(() => undefined), sleep(500)]);
    }
    try {
      const done = await result;
      context.stdout.write(
        options.output === 'json' ? `${JSON.stringify(done, null, 2)}\n` : formatAssignmentsResult(workflowId, done),
      );
      context.exitCode =
        done.outcome === 'succeeded' || done.outcome === 'dry-run' || done.outcome === 'unsupported'
          ? ExitCode.Done
          : ExitCode.Partial;
    } catch (err) {
      const cause = err instanceof WorkflowFailedError ? (err.cause ?? err) : err;
      context.stderr.write(`cxone-scim: sync-assignments ${workflowId} failed: ${describeError(cause)}\n`);
      context.exitCode = ExitCode.Error;
    }
  });
}

export function registerSyncAssignmentsCommand(program: Command, context: CliContext): void {
  program
    .command('sync-assignments')
    .description(
      "Reconcile CXone employees' skills (with proficiency) and team with a file (syncAssignments workflow): prints the plan, " +
        'writes only the differences; skill removals above the threshold wait for `cxone-scim sync approve`. Exit 0 succeeded, dry run ' +
        'or unsupported, 2 partial, quarantined or not approved, 1 failed.',
    )
    .argument('<file>', 'assignments file (CSV, JSON, NDJSON) with a key, skills and team column; the worker reads it')
    .option('--key-column <name>', "column with the employee's userName", 'userName')
    .option('--skills-column <name>', 'column with skills as Name:proficiency;Name:proficiency (1..20)', 'skills')
    .option('--team-column <name>', 'column with the team name (empty: team left alone)', 'team')
    .addOption(
      new Option('--format <format>', 'source format (default: from the extension)').choices(['csv', 'json', 'ndjson']),
    )
    .addOption(
      new Option('--only <what>', 'manage only skills or only teams (default both)').choices(['skills', 'team']),
    )
    .option('--skills <names>', 'comma-separated skills this run manages (default: every skill named in the file)')
    .option('--tenant <id>', 'tenant id', context.env.CXONE_TENANT_ID || DEFAULT_TENANT_ID)
    .option('--dry-run', 'compute and print the plan; change nothing')
    .option('--plan-out <file>', "also write the whole plan (.csv, else JSON) to this path on the worker's file system")
    .option('--max-deletions <n>', 'skill removals above this wait for approval (default 500)', integerOption(0))
    .option(
      '--max-deletion-share <share>',
      'skill removals above this share of the managed skills’ assignments wait for approval (default 0.2)',
      shareOption,
    )
    .option(
      '--approval-timeout <duration>',
      "how long to wait for an approval, e.g. '24 hours' (default)",
      durationOption,
    )
    .option(
      '--run-deadline <duration>',
      'how long provider outages (429, 5xx) are retried, e.g. 6 hours (default)',
      durationOption,
    )
    .option('--no-wait', 'when removals wait for approval, print how to approve and exit (2) instead of waiting')
    .option('--workflow-id <id>', 'workflow id (default: sync-assignments-<tenant>-<uuid>)')
    .addOption(new Option('--output <format>', 'result format').choices(['text', 'json']).default('text'))
    .action((file: string, options: SyncAssignmentsOptions) => syncAssignmentsCommand(file, options, context));
}
