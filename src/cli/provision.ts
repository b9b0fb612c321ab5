import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Command } from 'commander';
import { DEFAULT_TENANT_ID } from '../config/tenants';
import { connectClient, temporalSettingsFromEnv } from '../temporal/connection';
import { progressQuery, provisionUsers, type ProvisionUsersInput, type ProvisionUsersResult } from '../workflows';
import type { ProvisionProgress } from '../workflows/provision-users-model';
import { reportQuery, type WorkflowReport } from '../workflows/report';
import { printReport } from './print-report';

export interface RunProvisionOptions {
  workflowId?: string;
  /** Called with each answer of the `progress` query (every `pollMs`, default 500 ms). */
  onProgress?: (progress: ProvisionProgress) => void;
  pollMs?: number;
}

/** Starts provisionUsers, follows its `progress` query until it ends, and returns the `report` query's answer. */
export async function runProvision(
  client: Client,
  taskQueue: string,
  input: ProvisionUsersInput,
  options: RunProvisionOptions = {},
): Promise<{ ok: boolean; handle: WorkflowHandle<typeof provisionUsers>; report: WorkflowReport<unknown, ProvisionUsersResult> }> {
  const handle = await client.workflow.start(provisionUsers, {
    taskQueue,
    workflowId: options.workflowId ?? `provision-users-${input.tenant}-${randomUUID()}`,
    args: [input],
  });
  let finished = false;
  const outcome = handle.result().then(
    () => true,
    () => false,
  );
  void outcome.finally(() => (finished = true));
  const follow = async () => {
    while (!finished) {
      try {
        const progress = await handle.query(progressQuery);
        if (!finished) options.onProgress?.(progress);
      } catch {
        // not answerable yet (first workflow task still pending): try again
      }
      await Promise.race([outcome, new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500))]);
    }
  };
  const [ok] = await Promise.all([outcome, options.onProgress ? follow() : Promise.resolve()]);
  if (options.onProgress) options.onProgress(await handle.query(progressQuery));
  const report = (await handle.query(reportQuery)) as WorkflowReport<unknown, ProvisionUsersResult>;
  return { ok, handle, report };
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
export function progressPrinter(stream: NodeJS.WriteStream = process.stderr): { update(p: ProvisionProgress): void; end(): void } {
  const started = Date.now();
  let last = '';
  return {
    update(progress) {
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
export function printProvisionReport(report: WorkflowReport<unknown, ProvisionUsersResult>, format: string, out: NodeJS.WritableStream = process.stdout): void {
  printReport(report, format, out);
  const result = report.result;
  if (format === 'json' || !result) return;
  const t = result.totals;
  const outcomes = result.chunks.outcomes;
  const lines = [
    `  users: ${t.total} in source, ${t.validated} valid, ${t.invalid} invalid; ` +
      `${t.created} created, ${t.updated} updated, ${t.unchanged} unchanged, ${t.failed} failed (${t.retried} resends)`,
    `  bulk: ${result.chunks.planned} requests planned (≤ ${result.limits.maxOperations} operations, ≤ ${result.limits.maxPayloadSize} bytes), ` +
      `${result.chunks.requests} sent; ${outcomes.filter((o) => o.httpStatus === 413).length} split after 413; ` +
      `${outcomes.filter((o) => o.mode === 'async').length} asynchronous; ${result.batches} batches, ${result.runs} run(s), ` +
      `largest history ${result.largestHistoryLength} events`,
    `  latency per bulk request: p50 ${result.latencyMs.p50} ms, p95 ${result.latencyMs.p95} ms, max ${result.latencyMs.max} ms`,
  ];
  const show = <T>(title: string, items: T[], omitted: number, line: (item: T) => string) => {
    if (items.length === 0) return;
    lines.push(`  ${title}:`);
    for (const item of items.slice(0, 20)) lines.push(`    ${line(item)}`);
    const more = items.length - Math.min(20, items.length) + omitted;
    if (more > 0) lines.push(`    … and ${more} more (--output json shows up to ${items.length})`);
  };
  show('invalid records (not sent)', result.invalidRecords, result.invalidOmitted, (r) => `record ${r.record}${r.line ? ` (line ${r.line})` : ''}${r.userName ? ` (${r.userName})` : ''}: ${r.reasons.join('; ')}`);
  show('failed operations', result.failures, result.failuresOmitted, (f) =>
    `record ${f.record}${f.userName ? ` (${f.userName})` : ''}: ${f.status ? `HTTP ${f.status} ` : ''}${f.scimType ? `${f.scimType} ` : ''}${f.detail}`,
  );
  out.write(`${lines.join('\n')}\n`);
}

export function registerProvisionCommand(program: Command): void {
  program
    .command('provision')
    .description('Provision the users of a CSV / JSON / NDJSON file (read by the worker) with the provisionUsers workflow; shows progress, then the report.')
    .argument('<file>', 'users file; the worker reads it, so give a path the worker can see')
    .option('--mapping <file>', 'attribute mapping JSON (target SCIM path → source column, constants, transforms)')
    .option('--tenant <id>', 'tenant id', process.env.CXONE_TENANT_ID || DEFAULT_TENANT_ID)
    .option('--format <format>', 'source format: csv, json or ndjson (default: from the extension)')
    .option('--async', 'ask the provider for asynchronous bulk processing (Prefer: respond-async)')
    .option('--max-in-flight <n>', 'Bulk requests outstanding at once', (v) => Number(v))
    .option('--max-operations <n>', 'operations per Bulk request (at most the provider\'s limit)', (v) => Number(v))
    .option('--workflow-id <id>', 'workflow id (default: provision-users-<tenant>-<uuid>)')
    .option('--output <format>', 'report format: text or json', 'text')
    .action(
      async (
        file: string,
        options: { mapping?: string; tenant: string; format?: 'csv' | 'json' | 'ndjson'; async?: boolean; maxInFlight?: number; maxOperations?: number; workflowId?: string; output: string },
      ) => {
        const mapping: unknown = options.mapping ? JSON.parse(fs.readFileSync(options.mapping, 'utf8')) : undefined;
        const input: ProvisionUsersInput = {
          tenant: options.tenant,
          source: { path: path.resolve(file), ...(options.format ? { format: options.format } : {}), ...(mapping !== undefined ? { mapping } : {}) },
          ...(options.async ? { preferAsync: true } : {}),
          ...(options.maxInFlight !== undefined ? { maxChunksInFlight: options.maxInFlight } : {}),
          ...(options.maxOperations !== undefined ? { maxOperationsPerRequest: options.maxOperations } : {}),
        };
        const settings = temporalSettingsFromEnv();
        const client = await connectClient(settings);
        const bar = progressPrinter();
        try {
          const { ok, handle, report } = await runProvision(client, settings.taskQueue, input, {
            workflowId: options.workflowId,
            onProgress: (p) => bar.update(p),
          });
          bar.end();
          process.stderr.write(`workflow ${handle.workflowId}\n`);
          printProvisionReport(report, options.output);
          // 1: the run failed; 2: it finished, but some users were invalid or failed.
          if (!ok) process.exitCode = 1;
          else if (report.result && report.result.totals.failed + report.result.totals.invalid > 0) process.exitCode = 2;
        } finally {
          await client.connection.close();
        }
      },
    );
}
