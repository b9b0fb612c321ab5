import type { Client, WorkflowHandle } from '@temporalio/client';
import { Option, type Command } from 'commander';
import type { SourceFormat } from '../activities/sources/user-source';
import { DEFAULT_TENANT_ID } from '../config/tenants';
import { provisionUsersWorkflowId } from '../temporal/constants';
import { progressQuery, provisionUsers, type ProvisionUsersInput, type ProvisionUsersResult } from '../workflows';
import type { WriteMode } from '../workflows';
import type { ProvisionProgress } from '../workflows/provision-users/totals';
import type { WorkflowReport } from '../workflows/report';
import { integerOption, withTemporal, type CliContext } from './context';
import { usersFileSource } from './sync-options';
import { cliStartMetadata } from './run-metadata';
import { describeError, exitCodeOf } from './exit-codes';
import { followRun, type FollowOptions } from './follow';
import { printReport } from './print-report';
import { workPriority } from '../temporal/priority';

export interface RunProvisionOptions extends Omit<FollowOptions, 'onProgress' | 'progress'> {
  workflowId?: string;
  /** Called with each answer of the `progress` query (every `pollMs`, default 500 ms). */
  onProgress?: (progress: ProvisionProgress) => void;
}

/** Starts provisionUsers, follows its `progress` query until it ends (through Temporal outages), and returns the `report` query's answer. */
export async function runProvision(
  client: Client,
  taskQueue: string,
  input: ProvisionUsersInput,
  options: RunProvisionOptions = {},
): Promise<{
  ok: boolean;
  handle: WorkflowHandle<typeof provisionUsers>;
  report: WorkflowReport<unknown, ProvisionUsersResult>;
  failure?: unknown;
}> {
  const handle = await client.workflow.start(provisionUsers, {
    taskQueue,
    workflowId: options.workflowId ?? provisionUsersWorkflowId(input.tenant),
    args: [input],
    priority: workPriority('bulk', input.tenant),
    ...cliStartMetadata('provisionUsers', input, 'cxone-scim provision'),
  });
  return { handle, ...(await followProvision(handle, options)) };
}

/** Follows a provisionUsers run (a new one, or one `watch` re-attaches to). */
export function followProvision(handle: WorkflowHandle, options: Omit<RunProvisionOptions, 'workflowId'> = {}) {
  const { onProgress, ...rest } = options;
  return followRun<WorkflowReport<unknown, ProvisionUsersResult>>(handle, {
    ...rest,
    ...(onProgress
      ? { progress: () => handle.query(progressQuery), onProgress: (p) => onProgress(p as ProvisionProgress) }
      : {}),
  });
}

/** One line: bar, percentage, counts, rate. */
export function formatProgress(progress: ProvisionProgress, elapsedMs: number, width = 24): string {
  const done = progress.succeeded + progress.failed + progress.invalid;
  const fraction = progress.total === 0 ? (progress.phase === 'completed' ? 1 : 0) : Math.min(1, done / progress.total);
  const filled = Math.round(fraction * width);
  const rate = elapsedMs > 0 ? Math.round((progress.succeeded * 1000) / elapsedMs) : 0;
  return (
    `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ` +
    `${progress.phase} ${done}/${progress.total} users · ok ${progress.succeeded} · failed ${progress.failed} · ` +
    `invalid ${progress.invalid} · in flight ${progress.inFlight} · ${rate} users/s`
  );
}

/** A progress bar on a TTY (redrawn with \r), a line per change elsewhere. */
export function progressPrinter(stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr): {
  update(p: ProvisionProgress): void;
  outage(state: { down: boolean; sinceMs: number }): void;
  end(): void;
} {
  const started = Date.now();
  let last = '';
  let lastProgress: ProvisionProgress | undefined;
  return {
    /** While Temporal is unreachable the bar stays, with how long it has been reconnecting. */
    outage({ down, sinceMs }) {
      const bar = lastProgress ? `${formatProgress(lastProgress, Date.now() - started)} · ` : '';
      const line = down
        ? `${bar}Temporal unreachable for ${Math.round(sinceMs / 1000)} s: reconnecting…`
        : `${bar}Temporal reachable again`;
      if (stream.isTTY) stream.write(`\r${line}\x1b[K`);
      else if (!down || sinceMs === 0 || line !== last) stream.write(`${line}\n`);
      last = line;
    },
    update(progress) {
      lastProgress = progress;
      const line = formatProgress(progress, Date.now() - started);
      if (line === last) return;
      last = line;
      if (stream.isTTY) stream.write(`\r${line}\x1b[K`);
      else stream.write(`${line}\n`);
    },
    end() {
      if (stream.isTTY && last) stream.write('\n');
    },
  };
}

/** The generic report (steps and totals), then what a provisioning run adds: counts, requests, invalid records, failures. */
export function printProvisionReport(
  report: WorkflowReport<unknown, ProvisionUsersResult>,
  format: string,
  out: NodeJS.WritableStream = process.stdout,
): void {
  printReport(report, format, out);
  const result = report.result;
  if (format === 'json' || !result) return;
  const t = result.totals;
  const outcomes = result.chunks.outcomes;
  const lines = [
    `  users: ${t.total} in source, ${t.validated} valid, ${t.invalid} invalid; ` +
      `${t.created} created, ${t.updated} updated, ${t.unchanged} unchanged, ${t.failed} failed (${t.retried} resends)`,
    result.mode === 'bulk'
      ? `  bulk: ${result.chunks.planned} requests planned (≤ ${result.limits.maxOperations} operations, ≤ ${result.limits.maxPayloadSize} bytes), ` +
        `${result.chunks.requests} sent; ${outcomes.filter((o) => o.httpStatus === 413).length} split after 413; ` +
        `${outcomes.filter((o) => o.mode === 'async').length} asynchronous; ${result.batches} batches, ${result.runs} run(s), ` +
        `largest history ${result.largestHistoryLength} events`
      : `  per resource (no Bulk): ${result.chunks.planned} slices of ≤ ${result.limits.maxOperations} records; ${result.batches} batches, ` +
        `${result.runs} run(s), largest history ${result.largestHistoryLength} events`,
    `  latency per ${result.mode === 'bulk' ? 'bulk request' : 'slice'}: p50 ${result.latencyMs.p50} ms, p95 ${result.latencyMs.p95} ms, max ${result.latencyMs.max} ms`,
  ];
  const show = <T>(title: string, items: T[], omitted: number, line: (item: T) => string) => {
    if (items.length === 0) return;
    lines.push(`  ${title}:`);
    for (const item of items.slice(0, 20)) lines.push(`    ${line(item)}`);
    const more = items.length - Math.min(20, items.length) + omitted;
    if (more > 0) lines.push(`    … and ${more} more (--output json shows up to ${items.length})`);
  };
  show(
    'invalid records (not sent)',
    result.invalidRecords,
    result.invalidOmitted,
    (r) =>
      `record ${r.record}${r.line ? ` (line ${r.line})` : ''}${r.userName ? ` (${r.userName})` : ''}: ${r.reasons.join('; ')}`,
  );
  show(
    'failed operations',
    result.failures,
    result.failuresOmitted,
    (f) =>
      `record ${f.record}${f.userName ? ` (${f.userName})` : ''}: ${f.status ? `HTTP ${f.status} ` : ''}${f.scimType ? `${f.scimType} ` : ''}${f.detail}`,
  );
  out.write(`${lines.join('\n')}\n`);
}

interface ProvisionOptions {
  mapping?: string;
  tenant: string;
  format?: SourceFormat;
  async?: boolean;
  maxInFlight?: number;
  maxOperations?: number;
  maxUserNameLength?: number;
  maxValueLength?: number;
  mode: WriteMode;
  retryDeadlineMinutes?: number;
  workflowId?: string;
  output: string;
}

/** `cxone-scim provision <file>`: exit 0 all provisioned, 2 some records invalid or failed, 1 the run failed. */
export async function provisionCommand(file: string, options: ProvisionOptions, context: CliContext): Promise<void> {
  const recordLimits = {
    ...(options.maxUserNameLength !== undefined ? { maxUserNameLength: options.maxUserNameLength } : {}),
    ...(options.maxValueLength !== undefined ? { maxValueLength: options.maxValueLength } : {}),
  };
  const input: ProvisionUsersInput = {
    tenant: options.tenant,
    source: usersFileSource(file, options),
    ...(options.async ? { preferAsync: true } : {}),
    ...(options.maxInFlight !== undefined ? { maxChunksInFlight: options.maxInFlight } : {}),
    ...(options.maxOperations !== undefined ? { maxOperationsPerRequest: options.maxOperations } : {}),
    ...(Object.keys(recordLimits).length > 0 ? { recordLimits } : {}),
    mode: options.mode,
    ...(options.retryDeadlineMinutes !== undefined ? { retryDeadlineMinutes: options.retryDeadlineMinutes } : {}),
  };
  await withTemporal(context, async (client, taskQueue) => {
    const bar = progressPrinter(context.stderr);
    const { handle, report, failure } = await runProvision(client, taskQueue, input, {
      workflowId: options.workflowId,
      onProgress: (p) => bar.update(p),
      onOutage: (state) => bar.outage(state),
    });
    bar.end();
    context.stderr.write(`workflow ${handle.workflowId}\n`);
    printProvisionReport(report, options.output, context.stdout);
    if (failure) context.stderr.write(`cxone-scim: ${describeError(failure)}\n`);
    context.exitCode = exitCodeOf(report);
  });
}

export function registerProvisionCommand(program: Command, context: CliContext): void {
  program
    .command('provision')
    .description(
      'Provision the users of a CSV / JSON / NDJSON file or object (read by the worker) with the provisionUsers workflow; shows progress, then the report. ' +
        'Exit 0 all provisioned, 2 partial (invalid or failed records), 1 failed.',
    )
    .argument(
      '<file>',
      'users file or URL: s3://bucket/key, https://… or a path the worker can see (the worker reads it)',
    )
    .option('--mapping <file>', 'attribute mapping JSON (target SCIM path → source column, constants, transforms)')
    .option('--tenant <id>', 'tenant id', context.env.CXONE_TENANT_ID || DEFAULT_TENANT_ID)
    .addOption(
      new Option('--format <format>', 'source format (default: from the extension)').choices(['csv', 'json', 'ndjson']),
    )
    .option('--async', 'ask the provider for asynchronous bulk processing (Prefer: respond-async)')
    .option('--max-in-flight <n>', 'Bulk requests outstanding at once', integerOption())
    .option('--max-operations <n>', "operations per Bulk request (at most the provider's limit)", integerOption())
    .option('--max-user-name-length <n>', 'longest userName a record may have (default 256)', integerOption())
    .option('--max-value-length <n>', 'longest other value a record may have (default 4096)', integerOption())
    .addOption(
      new Option('--mode <mode>', 'auto: Bulk when the provider supports it, else one resource at a time')
        .choices(['auto', 'bulk', 'per-resource'])
        .default('auto'),
    )
    .option(
      '--retry-deadline-minutes <n>',
      'retry 429/5xx/network failures until this many minutes after the start (default 360)',
      integerOption(),
    )
    .option('--workflow-id <id>', 'workflow id (default: provision-users-<tenant>-<uuid>)')
    .addOption(new Option('--output <format>', 'report format').choices(['text', 'json']).default('text'))
    .action((file: string, options: ProvisionOptions) => provisionCommand(file, options, context));
}
