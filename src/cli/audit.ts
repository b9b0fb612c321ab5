import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import type { temporal } from '@temporalio/proto';
import type { Command } from 'commander';
import { canonicalJson } from '../scim/canonical';
import { connectClient, temporalSettingsFromEnv } from '../temporal/connection';

/** One meaningful event of a workflow's history, as an auditor reads it. */
export interface AuditLine {
  time: string;
  eventId: number;
  step: string;
  outcome: string;
  /** SHA-256 of the canonical JSON of the event's payload (input, result or signal), when it has one. */
  payloadSha256?: string;
  detail?: string;
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Payloads = temporal.api.common.v1.IPayloads | null | undefined;

function sha256(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

function timeOf(event: HistoryEvent): string {
  const seconds = Number(event.eventTime?.seconds ?? 0);
  const nanos = event.eventTime?.nanos ?? 0;
  return new Date(seconds * 1000 + Math.floor(nanos / 1e6)).toISOString();
}

/** The HTTP facts an activity result carries (HttpOutcome), in words. */
function describeOutcome(result: unknown): string | undefined {
  if (result === null || typeof result !== 'object') return undefined;
  const r = result as Record<string, unknown>;
  const facts = [
    r.httpStatus !== undefined ? `HTTP ${r.httpStatus}` : undefined,
    r.etag !== undefined ? `ETag ${r.etag}` : undefined,
  ].filter(Boolean);
  return facts.length > 0 ? facts.join(', ') : undefined;
}

/**
 * The workflow's history as an audit trail: one line per meaningful event (start, each activity
 * scheduled / completed / failed, timers, signals, children, end), payloads decoded through the
 * project's data converter (so encrypted history still reads) and hashed, never printed whole.
 */
export async function auditTrail(client: Client, workflowId: string, runId?: string): Promise<AuditLine[]> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const converter = client.options.loadedDataConverter;
  const decode = async (payloads: Payloads) => decodeArrayFromPayloads(converter, payloads?.payloads);
  const hashOf = async (payloads: Payloads) => {
    const values = await decode(payloads);
    return values.length > 0 ? sha256(values.length === 1 ? values[0] : values) : undefined;
  };
  const activityNames = new Map<number, string>();
  const lines: AuditLine[] = [];
  for (const event of history.events ?? []) {
    const base = { time: timeOf(event), eventId: Number(event.eventId) };
    const push = (line: Omit<AuditLine, 'time' | 'eventId'>) => lines.push({ ...base, ...line });
    if (event.workflowExecutionStartedEventAttributes) {
      const a = event.workflowExecutionStartedEventAttributes;
      push({
        step: `workflow ${a.workflowType?.name} started`,
        outcome: 'started',
        payloadSha256: await hashOf(a.input),
        detail: `task queue ${a.taskQueue?.name}`,
      });
    } else if (event.activityTaskScheduledEventAttributes) {
      const a = event.activityTaskScheduledEventAttributes;
      const name = a.activityType?.name ?? 'activity';
      activityNames.set(base.eventId, name);
      push({ step: name, outcome: 'scheduled', payloadSha256: await hashOf(a.input) });
    } else if (event.activityTaskCompletedEventAttributes) {
      const a = event.activityTaskCompletedEventAttributes;
      const [result] = await decode(a.result);
      push({
        step: activityNames.get(Number(a.scheduledEventId)) ?? 'activity',
        outcome: 'completed',
        payloadSha256: await hashOf(a.result),
        detail: describeOutcome(result),
      });
    } else if (event.activityTaskFailedEventAttributes) {
      const a = event.activityTaskFailedEventAttributes;
      push({
        step: activityNames.get(Number(a.scheduledEventId)) ?? 'activity',
        outcome: 'failed',
        detail: a.failure?.cause?.message ?? a.failure?.message ?? undefined,
      });
    } else if (event.activityTaskTimedOutEventAttributes) {
      const a = event.activityTaskTimedOutEventAttributes;
      push({
        step: activityNames.get(Number(a.scheduledEventId)) ?? 'activity',
        outcome: 'timed out',
        detail: a.failure?.message ?? undefined,
      });
    } else if (event.timerStartedEventAttributes) {
      const seconds = Number(event.timerStartedEventAttributes.startToFireTimeout?.seconds ?? 0);
      push({ step: 'timer', outcome: 'started', detail: `${seconds} s` });
    } else if (event.timerFiredEventAttributes) {
      push({ step: 'timer', outcome: 'fired' });
    } else if (event.workflowExecutionSignaledEventAttributes) {
      const a = event.workflowExecutionSignaledEventAttributes;
      push({ step: `signal ${a.signalName}`, outcome: 'received', payloadSha256: await hashOf(a.input) });
    } else if (event.startChildWorkflowExecutionInitiatedEventAttributes) {
      const a = event.startChildWorkflowExecutionInitiatedEventAttributes;
      push({
        step: `child ${a.workflowType?.name} ${a.workflowId}`,
        outcome: 'started',
        payloadSha256: await hashOf(a.input),
      });
    } else if (event.childWorkflowExecutionCompletedEventAttributes) {
      const a = event.childWorkflowExecutionCompletedEventAttributes;
      push({
        step: `child ${a.workflowType?.name} ${a.workflowExecution?.workflowId}`,
        outcome: 'completed',
        payloadSha256: await hashOf(a.result),
      });
    } else if (event.childWorkflowExecutionFailedEventAttributes) {
      const a = event.childWorkflowExecutionFailedEventAttributes;
      push({
        step: `child ${a.workflowType?.name} ${a.workflowExecution?.workflowId}`,
        outcome: 'failed',
        detail: a.failure?.message ?? undefined,
      });
    } else if (event.workflowExecutionContinuedAsNewEventAttributes) {
      push({
        step: 'workflow',
        outcome: 'continued as new',
        payloadSha256: await hashOf(event.workflowExecutionContinuedAsNewEventAttributes.input),
      });
    } else if (event.workflowExecutionCompletedEventAttributes) {
      const a = event.workflowExecutionCompletedEventAttributes;
      push({ step: 'workflow', outcome: 'completed', payloadSha256: await hashOf(a.result) });
    } else if (event.workflowExecutionFailedEventAttributes) {
      push({
        step: 'workflow',
        outcome: 'failed',
        detail: event.workflowExecutionFailedEventAttributes.failure?.message ?? undefined,
      });
    } else if (event.workflowExecutionTerminatedEventAttributes) {
      push({
        step: 'workflow',
        outcome: 'terminated',
        detail: event.workflowExecutionTerminatedEventAttributes.reason ?? undefined,
      });
    } else if (event.workflowExecutionCanceledEventAttributes) {
      push({ step: 'workflow', outcome: 'canceled' });
    }
  }
  return lines;
}

export function formatAudit(lines: AuditLine[], format: string): string {
  if (format === 'jsonl') return `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`;
  return `${lines
    .map((l) =>
      [
        l.time,
        String(l.eventId).padStart(4),
        l.outcome.padEnd(16),
        l.step,
        l.payloadSha256 ? `sha256 ${l.payloadSha256.slice(0, 16)}` : '',
        l.detail ?? '',
      ]
        .filter(Boolean)
        .join('  '),
    )
    .join('\n')}\n`;
}

export function registerAuditCommand(program: Command): void {
  program
    .command('audit')
    .description("Print a workflow's history as an audit trail, one line per meaningful event.")
    .argument('<workflowId>')
    .option('--run-id <runId>', 'a specific run (default: the latest)')
    .option('--format <format>', 'text or jsonl', 'text')
    .action(async (workflowId: string, options: { runId?: string; format: string }) => {
      const client = await connectClient(temporalSettingsFromEnv());
      try {
        process.stdout.write(formatAudit(await auditTrail(client, workflowId, options.runId), options.format));
      } finally {
        await client.connection.close();
      }
    });
}
