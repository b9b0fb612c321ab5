import fs from 'node:fs';
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { connectClient, temporalSettingsFromEnv } from '../temporal/connection';
import { latencyStats } from '../core/tally';
import { reportQuery, type EntityFigures, type WorkflowReport } from '../workflows/report';
import { auditFigures, untilInstant } from './report-figures';
import { renderReportHtml } from './report-html';

export {
  type ComplianceReport,
  DEFAULT_TEMPORAL_UI_URL,
  type EntitySummary,
  type ReportFilter,
  type TypeSummary,
} from './compliance-report';
import {
  type ComplianceReport,
  DEFAULT_TEMPORAL_UI_URL,
  type EntitySummary,
  type ReportFilter,
  type TypeSummary,
} from './compliance-report';

const QUERY_CONCURRENCY = 32;

/** A Temporal visibility query over the project's search attributes. */
export function visibilityQuery(filter: ReportFilter): string {
  const quote = (value: string) => `'${value.replace(/'/g, "\\'")}'`;
  const clauses = ['ScimOperation IS NOT NULL'];
  if (filter.tenant) clauses.push(`ScimTenant = ${quote(filter.tenant)}`);
  if (filter.type) clauses.push(`WorkflowType = ${quote(filter.type)}`);
  if (filter.since) clauses.push(`StartTime >= ${quote(new Date(filter.since).toISOString())}`);
  if (filter.until) clauses.push(`StartTime < ${quote(untilInstant(filter.until))}`);
  return clauses.join(' AND ');
}

/** Finds runs through visibility, queries `report` on each (a worker must be running), aggregates per type. */
export async function gatherReport(
  client: Client,
  filter: ReportFilter,
  options: { uiUrl?: string } = {},
): Promise<ComplianceReport> {
  // A workflow that continued as new has one execution per run; the last run's report already
  // carries the totals of the earlier ones, so the continued runs are left out.
  const executions: Array<{ workflowId: string; runId: string }> = [];
  for await (const execution of client.workflow.list({ query: visibilityQuery(filter) })) {
    if (execution.status.name !== 'CONTINUED_AS_NEW') executions.push(execution);
  }
  // Queries are answered by the worker one workflow task each: ask several at a time.
  const runs: WorkflowReport[] = [];
  let next = 0;
  const askNext = async (): Promise<void> => {
    while (next < executions.length) {
      const { workflowId, runId } = executions[next++];
      runs.push(await client.workflow.getHandle(workflowId, runId).query(reportQuery));
    }
  };
  await Promise.all(Array.from({ length: QUERY_CONCURRENCY }, askNext));
  runs.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  const byType = new Map<string, WorkflowReport[]>();
  for (const run of runs) byType.set(run.workflowType, [...(byType.get(run.workflowType) ?? []), run]);
  const isEntity = (list: WorkflowReport[]) => list.some((r) => r.entity);
  const summaries = [...byType]
    .filter(([, list]) => !isEntity(list))
    .map(([workflowType, list]) => summarize(workflowType, list));
  const entities = [...byType]
    .filter(([, list]) => isEntity(list))
    .map(([workflowType, list]) => summarizeEntities(workflowType, list));
  const period = {
    ...(filter.since ? { since: new Date(filter.since).toISOString() } : {}),
    ...(filter.until ? { until: untilInstant(filter.until) } : {}),
  };
  return {
    generatedAt: new Date().toISOString(),
    filter,
    temporal: { namespace: client.options.namespace, uiUrl: options.uiUrl ?? DEFAULT_TEMPORAL_UI_URL },
    summaries,
    entities,
    audit: auditFigures(runs, period),
    runs,
  };
}

function summarizeEntities(workflowType: string, runs: WorkflowReport[]): EntitySummary {
  const figures = runs.flatMap((r) => (r.entity ? [r.entity] : []));
  const sum = (pick: (f: EntityFigures) => number) => figures.reduce((total, f) => total + pick(f), 0);
  const sampled = figures.filter((f) => f.idpSync.lagMs.samples > 0);
  const sorted = (pick: (f: EntityFigures) => number) => sampled.map(pick).sort((a, b) => a - b);
  return {
    workflowType,
    openRuns: runs.filter((r) => r.status === 'running').length,
    events: {
      received: sum((f) => f.events.received),
      applied: sum((f) => f.events.applied),
      ignored: sum((f) => f.events.ignored),
      failed: sum((f) => f.events.failed),
    },
    idpSync: {
      succeeded: sum((f) => f.idpSync.succeeded),
      failed: sum((f) => f.idpSync.failed),
      workflowsOutOfSync: figures.filter((f) => f.idpSync.state === 'failed').length,
      lagMs: {
        p50: latencyStats(figures.map((f) => f.idpSync.lagMs.p50)).p50,
        p95Worst: sorted((f) => f.idpSync.lagMs.p95).at(-1) ?? 0,
        max: sorted((f) => f.idpSync.lagMs.max).at(-1) ?? 0,
      },
    },
  };
}

function summarize(workflowType: string, runs: WorkflowReport[]): TypeSummary {
  const sum = (pick: (r: WorkflowReport) => number) => runs.reduce((total, r) => total + pick(r), 0);
  const attempted = sum((r) => r.totals.attempted);
  const succeeded = sum((r) => r.totals.succeeded);
  const durations = latencyStats(
    runs.filter((r) => r.completedAt).map((r) => Date.parse(r.completedAt as string) - Date.parse(r.startedAt)),
  );
  return {
    workflowType,
    runs: runs.length,
    runsSucceeded: runs.filter((r) => r.status === 'succeeded').length,
    runsPartial: runs.filter((r) => r.status === 'partial' || r.status === 'quarantined').length,
    runsFailed: runs.filter((r) => r.status === 'failed').length,
    attempted,
    succeeded,
    failed: sum((r) => r.totals.failed),
    successRate: attempted === 0 ? 1 : succeeded / attempted,
    durationMs: { p50: durations.p50, p95: durations.p95 },
    failures: runs
      .filter((r) => r.error)
      .map((r) => ({
        workflowId: r.workflowId,
        error: r.error as string,
        ...(r.errorType ? { type: r.errorType } : {}),
      })),
  };
}

const COLUMNS: Array<[string, (s: TypeSummary) => string | number]> = [
  ['workflow type', (s) => s.workflowType],
  ['runs', (s) => s.runs],
  ['runs succeeded', (s) => s.runsSucceeded],
  ['runs partial', (s) => s.runsPartial],
  ['runs failed', (s) => s.runsFailed],
  ['attempted', (s) => s.attempted],
  ['succeeded', (s) => s.succeeded],
  ['failed', (s) => s.failed],
  ['success rate %', (s) => (s.successRate * 100).toFixed(1)],
  ['duration p50 ms', (s) => s.durationMs.p50],
  ['duration p95 ms', (s) => s.durationMs.p95],
];

const ENTITY_COLUMNS: Array<[string, (s: EntitySummary) => string | number]> = [
  ['workflow type', (s) => s.workflowType],
  ['open runs', (s) => s.openRuns],
  ['events received', (s) => s.events.received],
  ['applied', (s) => s.events.applied],
  ['ignored', (s) => s.events.ignored],
  ['failed', (s) => s.events.failed],
  ['IdP syncs ok', (s) => s.idpSync.succeeded],
  ['IdP syncs failed', (s) => s.idpSync.failed],
  ['out of sync', (s) => s.idpSync.workflowsOutOfSync],
  ['IdP lag p50 ms', (s) => s.idpSync.lagMs.p50],
  ['IdP lag p95 (worst) ms', (s) => s.idpSync.lagMs.p95Worst],
  ['IdP lag max ms', (s) => s.idpSync.lagMs.max],
];

function table<T>(columns: Array<[string, (row: T) => string | number]>, rows: T[]): string[] {
  return [
    `| ${columns.map(([name]) => name).join(' | ')} |`,
    `| ${columns.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${columns.map(([, pick]) => String(pick(row)).replace(/\|/g, '\\|')).join(' | ')} |`),
  ];
}

function csvTable<T>(columns: Array<[string, (row: T) => string | number]>, rows: T[]): string {
  return [columns.map(([name]) => name), ...rows.map((row) => columns.map(([, pick]) => pick(row)))]
    .map((cells) => cells.map(csvCell).join(','))
    .join('\n');
}

function csvCell(value: string | number): string {
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function formatReport(report: ComplianceReport, format: string): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'csv':
      // Entity types follow the finished-run types as a second table after an empty line.
      return `${[csvTable(COLUMNS, report.summaries), ...(report.entities.length ? [csvTable(ENTITY_COLUMNS, report.entities)] : [])].join('\n\n')}\n`;
    case 'md': {
      const filter =
        Object.entries(report.filter)
          .filter(([, v]) => v)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || 'all runs';
      const lines = [
        `# SCIM compliance report`,
        '',
        `Generated ${report.generatedAt} — ${filter} — ${report.runs.length} run(s).`,
      ];
      if (report.summaries.length > 0) lines.push('', ...table(COLUMNS, report.summaries));
      if (report.entities.length > 0) {
        lines.push(
          '',
          '## Entity workflows (never finish: one per user, reported by what they did)',
          '',
          ...table(ENTITY_COLUMNS, report.entities),
        );
      }
      const failures = report.summaries.flatMap((s) => s.failures);
      if (failures.length > 0) {
        lines.push(
          '',
          '## Failed runs',
          '',
          ...failures.map((f) => `- \`${f.workflowId}\`${f.type ? ` (${f.type})` : ''}: ${f.error.split('\n')[0]}`),
        );
      }
      return `${lines.join('\n')}\n`;
    }
    case 'html':
      return renderReportHtml(report);
    default:
      throw new Error(`--format must be json, csv, md or html (got "${format}")`);
  }
}

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description(
      'Gather the `report` of every matching workflow (via the ScimTenant/ScimOperation search attributes) and aggregate per type.',
    )
    .option('--tenant <id>', 'only this tenant')
    .option('--type <workflowType>', 'only this workflow type')
    .option('--since <time>', 'only runs started at or after this ISO time (a date: from its start, UTC)')
    .option('--until <time>', 'only runs started before this ISO time (a date: up to its end, UTC)')
    .option(
      '--format <format>',
      'json, csv, md or html (one self-contained page: charts, approvals, deactivations, links to the runs)',
      'md',
    )
    .option('--ui-url <url>', 'the Temporal UI the links point to', DEFAULT_TEMPORAL_UI_URL)
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (options: ReportFilter & { format: string; out?: string; uiUrl: string }) => {
      for (const name of ['since', 'until'] as const) {
        const value = options[name];
        if (value && Number.isNaN(Date.parse(value))) throw new Error(`--${name}: "${value}" is not a date`);
      }
      if (!/^https?:\/\/[^\s]+$/.test(options.uiUrl))
        throw new Error(`--ui-url: "${options.uiUrl}" is not an http(s) URL`);
      const { format, out, uiUrl, ...given } = options;
      const filter: ReportFilter = {
        ...(given.tenant ? { tenant: given.tenant } : {}),
        ...(given.type ? { type: given.type } : {}),
        ...(given.since ? { since: given.since } : {}),
        ...(given.until ? { until: given.until } : {}),
      };
      const client = await connectClient(temporalSettingsFromEnv());
      try {
        const text = formatReport(await gatherReport(client, filter, { uiUrl }), format);
        if (out) fs.writeFileSync(out, text);
        else process.stdout.write(text);
      } finally {
        await client.connection.close();
      }
    });
}
