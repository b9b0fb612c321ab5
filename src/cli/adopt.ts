// `cxone-scim adopt`: start an adoption (adoptUsers) — a dry run by default — follow it, print the
// report; with --apply the run waits for `adopt approve` (the plan hash it printed) before it
// writes any link. `adopt approve` / `adopt reject` answer a waiting run.
import path from 'node:path';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { SourceFormat } from '../activities/sources/user-source';
import { DEFAULT_TENANT_ID } from '../config/tenants';
import { linkAttributeProblem, WEAK_KEYS, type WeakKey } from '../scim/adoption';
import {
  adoptProgressQuery,
  adoptUsers,
  approveLinksUpdate,
  rejectLinksUpdate,
  type AdoptProgress,
  type AdoptUsersInput,
  type AdoptUsersResult,
} from '../workflows';
import { integerOption, withTemporal, type CliContext } from './context';
import { cliStartMetadata } from './run-metadata';
import { describeError, ExitCode } from './exit-codes';
import { throughOutages } from './follow';
import { explainFailure } from './print-report';
import { adoptUsersWorkflowId } from '../temporal/constants';
import { workPriority } from '../temporal/priority';
import { addApprovalCommands } from './sync';
import { usersFileSource } from './sync-options';

export interface AdoptOptions {
  mapping?: string;
  tenant: string;
  format?: SourceFormat;
  apply?: boolean;
  weakKeys?: WeakKey[];
  linkAttribute?: string;
  reportOut?: string;
  approvalTimeout?: string;
  pageSize?: number;
  wait: boolean;
  workflowId?: string;
}

function weakKeysOption(value: string): WeakKey[] {
  const keys = value
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');
  for (const key of keys)
    if (!WEAK_KEYS.includes(key as WeakKey))
      throw new InvalidArgumentError(
        `"${key}" is not a weak key; use ${WEAK_KEYS.join(', ')} (comma-separated), or none.`,
      );
  return keys as WeakKey[];
}

function linkAttributeOption(value: string): string {
  const problem = linkAttributeProblem(value);
  if (problem) throw new InvalidArgumentError(`${problem}.`);
  return value;
}

/** The adoptUsers input for a users file (or URL) the worker reads. */
export function adoptInputFrom(file: string, options: AdoptOptions): AdoptUsersInput {
  return {
    tenant: options.tenant,
    source: usersFileSource(file, options),
    ...(options.apply ? { apply: true } : {}),
    ...(options.weakKeys ? { weakKeys: options.weakKeys } : {}),
    ...(options.linkAttribute ? { linkAttribute: options.linkAttribute } : {}),
    ...(options.reportOut ? { reportOut: { path: path.resolve(options.reportOut) } } : {}),
    ...(options.approvalTimeout ? { approvalTimeout: options.approvalTimeout } : {}),
    ...(options.pageSize !== undefined ? { pageSize: options.pageSize } : {}),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type AdoptEnd =
  | { state: 'completed'; result: AdoptUsersResult }
  | { state: 'failed'; failure: WorkflowFailedError }
  | { state: 'awaitingApproval'; progress: AdoptProgress };

/** Follows a run until it ends, telling `onAwaiting` once when it waits for approval (and stopping there if asked). */
async function followAdoption(
  handle: WorkflowHandle,
  onAwaiting: (p: AdoptProgress) => void,
  stopWhenAwaiting: boolean,
): Promise<AdoptEnd> {
  let ended: AdoptEnd | undefined;
  const result = throughOutages(() => handle.result() as Promise<AdoptUsersResult>, {}).then(
    (value): AdoptEnd => (ended = { state: 'completed', result: value }),
    (err: unknown): AdoptEnd => {
      if (err instanceof WorkflowFailedError) return (ended = { state: 'failed', failure: err });
      throw err;
    },
  );
  let announced = false;
  while (!ended) {
    try {
      const progress = await handle.query(adoptProgressQuery);
      if (!ended && progress.phase === 'awaitingApproval' && !announced) {
        announced = true;
        onAwaiting(progress);
        if (stopWhenAwaiting) return { state: 'awaitingApproval', progress };
      }
    } catch {
      // not answerable yet, or Temporal unreachable: the result wait reports outages
    }
    await Promise.race([result.catch(() => undefined), sleep(500)]);
  }
  return result;
}

export function formatAdoptResult(workflowId: string, result: AdoptUsersResult): string {
  const { plan } = result;
  const c = plan.counts;
  const lines = [
    `Adoption plan ${plan.planHash} (tenant ${result.tenant}, workflow ${workflowId})`,
    `  source: ${plan.records} records, ${plan.invalid} invalid${plan.sourceSha256 ? `, sha256 ${plan.sourceSha256.slice(0, 12)}…` : ''}`,
    `  provider: ${plan.providerUsers} users listed in ${plan.pages} pages`,
    `  link attribute: ${result.linkAttribute}; weak keys: ${result.weakKeys.join(', ') || 'none'}`,
    `  = exact          ${String(c.exact).padStart(8)}  (${c.alreadyLinked} already linked)`,
    `  ≈ weak           ${String(c.weak).padStart(8)}  (never linked without approval)`,
    `  ? ambiguous      ${String(c.ambiguousRecords).padStart(8)}  records, ${c.ambiguousProviderUsers} provider users`,
    `  - provider-only  ${String(c.providerOnly).padStart(8)}  (orphans)`,
    `  + source-only    ${String(c.sourceOnly).padStart(8)}`,
    `  links to write   ${String(c.toLink).padStart(8)}`,
  ];
  const shown = plan.sample.filter((e) => e.class !== 'exact').slice(0, 20);
  if (shown.length > 0) lines.push('  to review:');
  for (const e of shown) {
    const who = [
      e.record !== undefined ? `record ${e.record}${e.userName ? ` (${e.userName})` : ''}` : undefined,
      e.id ? `provider ${e.id}${e.providerUserName ? ` (${e.providerUserName})` : ''}` : undefined,
    ]
      .filter(Boolean)
      .join(' ↔ ');
    lines.push(
      `    ${e.class} ${who}${e.matchedBy ? ` by ${e.matchedBy.join(', ')}` : ''}${e.reason ? `: ${e.reason}` : ''}`,
    );
  }
  for (const r of plan.invalidRecords.slice(0, 10))
    lines.push(`  invalid record ${r.record}${r.userName ? ` (${r.userName})` : ''}: ${r.reason}`);
  if (plan.reportOut) lines.push(`  whole report written on the worker to ${plan.reportOut}`);
  if (result.decision) {
    const d = result.decision;
    lines.push(`Links: ${d.decision}${d.by ? ` by ${d.by}` : ''}${d.reason ? ` (${d.reason})` : ''} at ${d.at}`);
  }
  if (result.outcome !== 'dry-run' && result.decision?.decision === 'approved') {
    lines.push(
      `Linked: ${result.linked}; already linked: ${result.alreadyLinked}; ${result.failed} failed; ${result.requests} HTTP requests`,
    );
    for (const f of result.failures.slice(0, 10))
      lines.push(`  failed ${f.id} (record ${f.record}): ${f.status ? `HTTP ${f.status} ` : ''}${f.detail}`);
  }
  if (result.adoptionRecord) lines.push(`Tenant recorded as adopted: ${result.adoptionRecord}`);
  if (result.note) lines.push(`Note: ${result.note}`);
  lines.push(
    `Outcome: ${result.outcome}${result.outcome === 'dry-run' ? ' (nothing changed; --apply to link after approval)' : ''}`,
  );
  return `${lines.join('\n')}\n`;
}

function approvalInstructions(workflowId: string, p: AdoptProgress): string {
  const hash = p.awaitingApproval?.planHash ?? p.planHash ?? '?';
  return [
    `Run ${workflowId} awaits approval of ${p.awaitingApproval?.links ?? '?'} links (review the report first).`,
    `  plan hash: ${hash}`,
    `  approve:   cxone-scim adopt approve ${workflowId} --plan-hash ${hash} --by <your name>`,
    `  reject:    cxone-scim adopt reject ${workflowId} --reason '<why>'`,
  ].join('\n');
}

async function adoptCommand(file: string, options: AdoptOptions, context: CliContext): Promise<void> {
  const input = adoptInputFrom(file, options);
  await withTemporal(context, async (client, taskQueue) => {
    const workflowId = options.workflowId ?? adoptUsersWorkflowId(input.tenant);
    context.stderr.write(`workflow ${workflowId}\n`);
    const handle = await client.workflow.start(adoptUsers, {
      taskQueue,
      workflowId,
      args: [input],
      priority: workPriority('interactive', input.tenant),
      ...cliStartMetadata('adoptUsers', input, `cxone-scim adopt${input.apply ? ' --apply' : ''}`),
    });
    const end = await followAdoption(
      handle,
      (p) => {
        context.stdout.write(`${approvalInstructions(workflowId, p)}\n`);
        if (options.wait) context.stdout.write('Waiting for a decision (Ctrl-C leaves the run waiting)…\n');
      },
      !options.wait,
    );
    if (end.state === 'completed') {
      context.stdout.write(formatAdoptResult(workflowId, end.result));
      context.exitCode =
        end.result.outcome === 'succeeded' || end.result.outcome === 'dry-run' ? ExitCode.Done : ExitCode.Partial;
    } else if (end.state === 'awaitingApproval') {
      context.stdout.write('Not waiting (--no-wait): the run keeps waiting for a decision.\n');
      context.exitCode = ExitCode.Partial;
    } else {
      const cause = end.failure.cause as (Error & { type?: string }) | undefined;
      context.stderr.write(`cxone-scim: adopt ${workflowId} failed: ${describeError(cause ?? end.failure)}\n`);
      const explained = explainFailure(cause?.type);
      if (explained) context.stderr.write(`  ${explained}\n`);
      context.exitCode = ExitCode.Error;
    }
  });
}

export function registerAdoptCommand(program: Command, context: CliContext): void {
  const adopt = program
    .command('adopt')
    .description(
      'Day one on an existing tenant (adoptUsers): report which provider users match the source exactly, only by a weaker key, ' +
        'ambiguously or not at all — a dry run by default. With --apply the run waits for `adopt approve` (the plan hash it printed), ' +
        'then writes the source key to each matched user so later syncs match exactly, and records the tenant as adopted. ' +
        'Exit 0 succeeded or dry run, 2 partial, rejected or not approved in time, 1 failed.',
    )
    .argument('<source>', 'users file (CSV, JSON, NDJSON); the worker reads it, so give a path the worker can see')
    .option('--mapping <file>', 'attribute mapping JSON (target SCIM path → source column, constants, transforms)')
    .option('--tenant <id>', 'tenant id', context.env.CXONE_TENANT_ID || DEFAULT_TENANT_ID)
    .addOption(
      new Option('--format <format>', 'source format (default: from the extension)').choices(['csv', 'json', 'ndjson']),
    )
    .option('--apply', 'after approval (adopt approve), write the links; without it nothing is written')
    .option(
      '--weak-keys <keys>',
      `weaker keys to match by, comma-separated: ${WEAK_KEYS.join(', ')} (default email)`,
      weakKeysOption,
    )
    .option(
      '--link-attribute <path>',
      'where the source key is written on the provider (default externalId)',
      linkAttributeOption,
    )
    .option(
      '--report-out <file>',
      "also write the whole report (.csv, else JSON) to this path on the worker's file system",
    )
    .option('--approval-timeout <duration>', "how long to wait for approval, e.g. '24 hours' (default)")
    .option('--page-size <n>', 'users per page when listing the provider (default 500)', integerOption())
    .option('--no-wait', 'when the links wait for approval, print how to approve and exit (2) instead of waiting')
    .option('--workflow-id <id>', 'workflow id (default: adopt-<tenant>-<uuid>)')
    .action((file: string, options: AdoptOptions) => adoptCommand(file, options, context));

  addApprovalCommands(adopt, context, {
    approve: approveLinksUpdate,
    reject: rejectLinksUpdate,
    plan: 'adoption plan',
    approveDescription: 'Approve the links an adopt run waits for; the plan hash must be the one it printed.',
    rejectDescription: 'Reject the links an adopt run waits for: it ends without writing any (outcome rejected).',
  });
}
