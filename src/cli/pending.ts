// `cxone-scim pending …`: future-dated joiners and leavers. `pending` lists what each user's
// datedUserActions workflow has scheduled (UTC and local, and why); `pending cancel <id>` cancels
// one action; `pending schedule <file>` reads an HR export's dates and signals every dated user's
// workflow (signal-with-start), the way the sync does when its mapping names date columns.
import fs from 'node:fs';
import path from 'node:path';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { Option, type Command } from 'commander';
import { parseCsvText } from '../activities/sources/csv-source';
import { mapRecord } from '../activities/sources/user-source';
import { datedUserWorkflowId, runningDatedQuery, signalDatedPlans } from '../activities/dated';
import { DEFAULT_TENANT_ID } from '../config/tenants';
import { parseUntrustedJson } from '../core/json';
import { compileMapping, type CompiledMapping } from '../mapping/mapping';
import {
  checkDatesSettings,
  datedDisposition,
  datedFacts,
  type DatedDisposition,
  type DatesSettings,
} from '../scim/dated-actions';
import { cancelDatedActionUpdate, datedStateQuery } from '../workflows';
import { parseDatedActionId, type DatedPlan, type DatedUserView } from '../workflows/dated/schedule';
import { readJsonFile, withTemporal, type CliContext } from './context';
import { ExitCode, UsageError } from './exit-codes';

/** One record's outcome: the user's plan, or why the record cannot be planned. */
export type DatedRecordPlan =
  | { where: string; userName: string; disposition: DatedDisposition; plan: DatedPlan }
  | { where: string; problems: string[] };

/** A source record as read: the raw fields, and where it is (`line 4`, `record 2`). */
export type RawRecord = { where: string } & ({ fields: Record<string, unknown> } | { problem: string });

/**
 * The dated plan of every record at `now` (epoch ms). The user a `create` needs is the record
 * mapped with `mapping` (without one: the record itself, less the date and zone columns).
 */
export function planDatedRecords(
  records: readonly RawRecord[],
  settings: DatesSettings,
  now: number,
  options: { mapping?: CompiledMapping; source?: string } = {},
): DatedRecordPlan[] {
  const checked = checkDatesSettings(settings);
  if (!checked.ok) throw new UsageError(`dates settings: ${checked.problems.join('; ')}`);
  const dateColumns = new Set([settings.start, settings.lastDay, settings.timeZone].filter((c) => c !== undefined));
  const plannedAt = new Date(now).toISOString();
  return records.map((record) => {
    const { where } = record;
    if ('problem' in record) return { where, problems: [`${where}: ${record.problem}`] };
    const { fields } = record;
    const rest = Object.fromEntries(Object.entries(fields).filter(([key]) => !dateColumns.has(key)));
    // Now(), Guid() and RandomString() in the mapping see this plan's instant and a seed naming it and the record.
    const context = { now, seed: `pending-schedule-${plannedAt}/${where}` };
    const mapped = mapRecord(options.mapping ? fields : rest, options.mapping, context);
    if ('problems' in mapped) return { where, problems: mapped.problems.map((p) => `${where}: ${p}`) };
    const userName = typeof mapped.user.userName === 'string' ? mapped.user.userName.trim() : '';
    if (userName === '') return { where, problems: [`${where}: userName: required to schedule the user`] };
    const facts = datedFacts(fields, checked.value, where, mapped.user);
    if (!facts.ok) return { where, problems: facts.problems };
    const disposition = datedDisposition(facts.value, now, checked.value.leadDays);
    const creates = disposition.actions.some((a) => a.kind === 'create');
    return {
      where,
      userName,
      disposition,
      plan: {
        plannedAt,
        ...(options.source ? { source: `${options.source} ${where}` } : {}),
        actions: disposition.actions,
        ...(creates ? { user: mapped.user } : {}),
      },
    };
  });
}

/** The records of a CSV, JSON (array, `{"users": […]}` or a ListResponse) or NDJSON file. */
export async function readRawRecords(file: string, format?: string): Promise<RawRecord[]> {
  const kind = format ?? path.extname(file).slice(1).toLowerCase().replace('jsonl', 'ndjson');
  const text = fs.readFileSync(file, 'utf8');
  if (kind === 'csv') {
    const parsed = await parseCsvText(text);
    return parsed.rows.map((row) =>
      'problem' in row
        ? { where: `line ${row.line}`, problem: row.problem }
        : { where: `line ${row.line}`, fields: row.values },
    );
  }
  if (kind === 'ndjson')
    return text
      .split('\n')
      .map((line, i) => ({ line: i + 1, text: line.trim() }))
      .filter((l) => l.text !== '')
      .map((l): RawRecord => {
        try {
          return { where: `line ${l.line}`, fields: parseUntrustedJson(l.text) as Record<string, unknown> };
        } catch (err) {
          return { where: `line ${l.line}`, problem: `not JSON (${(err as Error).message})` };
        }
      });
  if (kind === 'json') {
    const document = parseUntrustedJson(text) as unknown;
    const list = Array.isArray(document)
      ? document
      : ((document as { users?: unknown[]; Resources?: unknown[] }).users ??
        (document as { Resources?: unknown[] }).Resources);
    if (!Array.isArray(list))
      throw new UsageError(`${file}: expected an array of records, {"users": […]} or {"Resources": […]}`);
    return list.map((fields, i) => ({ where: `record ${i + 1}`, fields: fields as Record<string, unknown> }));
  }
  throw new UsageError(`${file}: cannot tell the format from the extension: give --format csv, json or ndjson`);
}

export interface PendingRow {
  id: string;
  kind: string;
  status: string;
  at: string;
  localAt: string;
  timeZone: string;
  date: string;
  reason: string;
  movedFrom?: string[];
  cancelled?: { by: string; reason?: string; at: string };
  workflowId: string;
}

/** Every live dated action of the tenant's (or all) users, earliest first; `before` (epoch ms) keeps the earlier ones. */
export async function listPending(
  client: Client,
  options: { tenant?: string; before?: number },
): Promise<PendingRow[]> {
  const rows: PendingRow[] = [];
  for await (const execution of client.workflow.list({ query: runningDatedQuery(options.tenant) })) {
    let view: DatedUserView;
    try {
      view = await client.workflow.getHandle(execution.workflowId).query(datedStateQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) continue; // completed since it was listed
      throw err;
    }
    for (const entry of view.live) {
      if (options.before !== undefined && Date.parse(entry.at) >= options.before) continue;
      rows.push({
        id: entry.id,
        kind: entry.kind === 'create' ? `create${entry.active ? '' : ' (inactive)'}` : entry.kind,
        status: entry.status === 'held' ? 'cancelled' : entry.status,
        at: entry.at,
        localAt: entry.localAt,
        timeZone: entry.timeZone,
        date: entry.date,
        reason: entry.reason,
        ...(entry.movedFrom ? { movedFrom: entry.movedFrom } : {}),
        ...(entry.cancelled ? { cancelled: entry.cancelled } : {}),
        workflowId: execution.workflowId,
      });
    }
  }
  return rows.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.id < b.id ? -1 : 1));
}

function printRows(rows: readonly PendingRow[], out: NodeJS.WritableStream): void {
  if (rows.length === 0) {
    out.write('nothing scheduled\n');
    return;
  }
  for (const row of rows) {
    const why = [
      row.reason,
      ...(row.movedFrom ? [`moved from ${row.movedFrom.join(', ')}`] : []),
      ...(row.cancelled
        ? [`cancelled by ${row.cancelled.by}${row.cancelled.reason ? ` (${row.cancelled.reason})` : ''}`]
        : []),
    ].join('; ');
    out.write(`${row.at}  ${row.localAt} ${row.timeZone}  ${row.kind}  ${row.status}  ${row.id}\n    why: ${why}\n`);
  }
  out.write(`${rows.length} scheduled\n`);
}

/** `--before`: a date (its start in UTC) or an ISO instant. */
function instantOption(value: string): number {
  const text = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new UsageError(`--before: "${value}" is neither a date (YYYY-MM-DD) nor an ISO instant`);
  return ms;
}

interface ScheduleOptions {
  tenant: string;
  dates?: string;
  startColumn?: string;
  lastDayColumn?: string;
  timeZoneColumn?: string;
  defaultTimeZone?: string;
  leadTime?: string;
  mapping?: string;
  format?: string;
  endpoint?: string;
}

function settingsFrom(options: ScheduleOptions): DatesSettings {
  const fromFile = options.dates ? (readJsonFile(options.dates, '--dates') as DatesSettings) : {};
  return {
    ...fromFile,
    ...(options.startColumn ? { start: options.startColumn } : {}),
    ...(options.lastDayColumn ? { lastDay: options.lastDayColumn } : {}),
    ...(options.timeZoneColumn ? { timeZone: options.timeZoneColumn } : {}),
    ...(options.defaultTimeZone ? { defaultTimeZone: options.defaultTimeZone } : {}),
    ...(options.leadTime ? { leadTime: options.leadTime } : {}),
  };
}

export function registerPendingCommand(program: Command, context: CliContext): void {
  const tenantDefault = context.env.CXONE_TENANT_ID || undefined;
  const pending = program
    .command('pending')
    .description(
      'Future-dated joiners and leavers: what is scheduled, when (UTC and the user’s local time) and why; see also pending cancel and pending schedule.',
    )
    .option('--tenant <id>', 'only this tenant', tenantDefault)
    .option('--before <date>', 'only actions before this date (YYYY-MM-DD, UTC) or ISO instant', instantOption)
    .addOption(new Option('--output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action((options: { tenant?: string; before?: number; output: string }) =>
      withTemporal(context, async (client) => {
        const rows = await listPending(client, options);
        if (options.output === 'json') context.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        else printRows(rows, context.stdout);
      }),
    );

  pending
    .command('cancel')
    .description(
      'Cancel one scheduled action (its id from `cxone-scim pending`); a later export with a new date schedules it again.',
    )
    .argument('<id>', 'tenant/userName/kind, as listed')
    .option('--reason <text>', 'why (kept with the action)')
    .option('--by <name>', 'who cancels', context.env.USER || 'cxone-scim')
    .action((id: string, options: { reason?: string; by: string }) =>
      withTemporal(context, async (client) => {
        const parsed = parseDatedActionId(id);
        if (!parsed)
          throw new UsageError(`pending cancel: "${id}" is not an action id (tenant/userName/kind, as listed)`);
        const handle = client.workflow.getHandle(datedUserWorkflowId(parsed.tenant, parsed.userName));
        try {
          const entry = await handle.executeUpdate(cancelDatedActionUpdate, {
            args: [{ kind: parsed.kind, by: options.by, ...(options.reason ? { reason: options.reason } : {}) }],
          });
          context.stdout.write(`cancelled ${id} (was due ${entry.at}, ${entry.localAt} ${entry.timeZone})\n`);
        } catch (err) {
          if (err instanceof WorkflowNotFoundError)
            throw new UsageError(
              `pending cancel: nothing is scheduled for ${parsed.userName} in tenant ${parsed.tenant}`,
            );
          if (err instanceof WorkflowUpdateFailedError)
            throw new UsageError(`pending cancel: ${(err.cause as Error | undefined)?.message ?? err.message}`);
          throw err;
        }
        context.exitCode = ExitCode.Done;
      }),
    );

  pending
    .command('schedule')
    .description(
      'Read an HR export’s start dates and last days and schedule each dated user’s actions (signal-with-start); users no longer dated lose theirs.',
    )
    .argument('<file>', 'CSV, JSON or NDJSON export (read here, by the CLI)')
    .option('--tenant <id>', 'tenant id', tenantDefault ?? DEFAULT_TENANT_ID)
    .option('--dates <file>', 'JSON settings: {"start", "lastDay", "timeZone", "defaultTimeZone", "leadTime"}')
    .option('--start-column <name>', 'column of the first working day (YYYY-MM-DD)')
    .option('--last-day-column <name>', 'column of the last working day (YYYY-MM-DD)')
    .option('--time-zone-column <name>', 'column of the user’s IANA time zone')
    .option('--default-time-zone <zone>', 'the zone when a record names none (the tenant’s)')
    .option('--lead-time <days>', 'provision joiners inactive this long before the start ("N days"), or "none"')
    .option('--mapping <file>', 'attribute mapping (the user to create, and the mapped CXone timezone)')
    .addOption(new Option('--format <format>', 'source format').choices(['csv', 'json', 'ndjson']))
    .option('--endpoint <path>', 'User endpoint under the SCIM base', '/Users')
    .action((file: string, options: ScheduleOptions) =>
      withTemporal(context, async (client, taskQueue) => {
        let mapping: CompiledMapping | undefined;
        if (options.mapping) {
          const compiled = compileMapping(readJsonFile(options.mapping, '--mapping'));
          if (!compiled.ok) throw new UsageError(`--mapping ${options.mapping}: ${compiled.problems.join('; ')}`);
          mapping = compiled.mapping;
        }
        const now = Date.now();
        const records = await readRawRecords(file, options.format);
        const plans = planDatedRecords(records, settingsFrom(options), now, { mapping, source: path.basename(file) });
        const problems = plans.flatMap((p) => ('problems' in p ? p.problems : []));
        for (const problem of problems) context.stderr.write(`${problem}\n`);
        const good = plans.filter((p): p is Extract<DatedRecordPlan, { plan: DatedPlan }> => 'plan' in p);
        const counts = new Map<string, number>();
        for (const p of good) counts.set(p.disposition.kind, (counts.get(p.disposition.kind) ?? 0) + 1);
        const signalled = await signalDatedPlans(client, taskQueue, options.tenant, good, {
          endpoint: options.endpoint,
          plannedAt: new Date(now).toISOString(),
        });
        context.stdout.write(
          `${records.length} records: ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ') || 'none dated'}; ` +
            `${plans.length - good.length} not planned (problems above); ${signalled.scheduled} users scheduled, ${signalled.cleared} cleared\n`,
        );
        context.exitCode = problems.length > 0 ? ExitCode.Partial : ExitCode.Done;
      }),
    );
}
