import { failureEntry } from '../core/failures';
import type { WorkflowReport } from '../workflows/report';

/** Prints a workflow's `report` for a person (text) or a script (json). */
export function printReport(report: WorkflowReport, format: string, out: NodeJS.WritableStream = process.stdout): void {
  if (format === 'json') {
    out.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const t = report.totals;
  const lines = [
    `${report.workflowType} ${report.workflowId} (tenant ${report.tenant}): ${report.status}`,
    ...report.steps.map((s) => {
      const facts = [
        s.httpStatus !== undefined ? `HTTP ${s.httpStatus}` : undefined,
        s.etagBefore || s.etagAfter ? `ETag ${s.etagBefore ?? '-'} → ${s.etagAfter ?? '-'}` : undefined,
        s.payloadSha256 ? `sha256 ${s.payloadSha256.slice(0, 12)}…` : undefined,
        s.detail,
      ].filter(Boolean);
      return `  ${s.startedAt}  ${s.outcome.padEnd(9)} ${s.step} (${s.durationMs} ms)${facts.length ? ` — ${facts.join('; ')}` : ''}`;
    }),
    `  totals: ${t.succeeded}/${t.attempted} succeeded, ${t.failed} failed, success rate ${(t.successRate * 100).toFixed(1)}%, ` +
      `latency p50 ${t.latencyMs.p50} ms, p95 ${t.latencyMs.p95} ms`,
  ];
  if (report.error) lines.push(`  error: ${report.error}`);
  const explained = explainFailure(report.errorType);
  if (explained) lines.push(`  ${explained}`);
  out.write(`${lines.join('\n')}\n`);
}

/** The failure list's meaning and fix for a failure type, as one line; undefined for types it does not list. */
export function explainFailure(type: string | undefined): string | undefined {
  const entry = failureEntry(type);
  return entry && `${entry.type} (${entry.class}): ${entry.meaning} Fix: ${entry.fix}`;
}
