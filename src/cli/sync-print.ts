// How a reconciliation reads on a terminal: a progress line, then the plan like `terraform plan`
// (counts per action, a sample, the hash an approval names), what was applied, and the outcome.
import type { ActionCounts, SyncAction } from '../scim/reconcile';
import type { SyncProgress, SyncUsersResult } from '../workflows';
import { ExitCode } from './exit-codes';

const MARKS: Record<SyncAction, string> = {
  create: '+',
  update: '~',
  reactivate: '↑',
  deactivate: '-',
  delete: 'x',
  unchanged: ' ',
  protected: '!',
  'out-of-scope': ' ',
};

/** 0 succeeded or dry run; 2 partial, quarantined, rejected or no approval in time. */
export function syncExitCode(outcome: SyncUsersResult['outcome']): ExitCode {
  return outcome === 'succeeded' || outcome === 'dry-run' ? ExitCode.Done : ExitCode.Partial;
}

export function describeSyncProgress(p: SyncProgress): string {
  const planned = p.planned ? Object.values(p.planned).reduce((n, c) => n + c, 0) : 0;
  const applied = Object.values(p.applied).reduce((n, c) => n + c, 0);
  const writes = p.planned
    ? p.planned.create + p.planned.update + p.planned.reactivate + p.planned.deactivate + p.planned.delete
    : 0;
  switch (p.phase) {
    case 'planning':
      return 'planning: reading the source and listing the provider…';
    case 'awaitingApproval':
      return `awaiting approval of ${p.awaitingApproval?.removals ?? '?'} removals (plan ${p.planHash ?? '?'})`;
    default:
      return `${p.phase}: ${applied}/${writes} changes applied, ${p.failed} failed (${planned} users planned)`;
  }
}

/** A line per change on a pipe, one redrawn line on a terminal. */
export function syncProgressPrinter(stream: NodeJS.WritableStream & { isTTY?: boolean }) {
  let last = '';
  const show = (line: string) => {
    if (line === last) return;
    last = line;
    stream.write(stream.isTTY ? `\r${line}\x1b[K` : `${line}\n`);
  };
  return {
    update: (p: SyncProgress) => show(describeSyncProgress(p)),
    outage: ({ down, sinceMs }: { down: boolean; sinceMs: number }) =>
      show(
        down ? `Temporal unreachable for ${Math.round(sinceMs / 1000)} s: reconnecting…` : 'Temporal reachable again',
      ),
    end: () => {
      if (stream.isTTY && last) stream.write('\n');
    },
  };
}

export function countLines(counts: ActionCounts, indent = '  '): string[] {
  return (Object.entries(counts) as Array<[SyncAction, number]>).map(
    ([action, n]) => `${indent}${MARKS[action]} ${action.padEnd(13)}${String(n).padStart(8)}`,
  );
}

/** What to type to decide on removals that wait for approval. */
export function approvalInstructions(
  workflowId: string,
  planHash: string,
  removals: number | undefined,
  reason?: string,
): string {
  return [
    `Run ${workflowId} awaits approval of ${removals ?? '?'} removals${reason ? ` (${reason})` : ''}.`,
    `  plan hash: ${planHash}`,
    `  approve:   cxone-scim sync approve ${workflowId} --plan-hash ${planHash} --by <your name>`,
    `  reject:    cxone-scim sync reject ${workflowId} --reason '<why>'`,
  ].join('\n');
}

export function formatSyncResult(workflowId: string, result: SyncUsersResult): string {
  const plan = result.plan;
  const lines = [
    `Plan ${plan.planHash} (tenant ${result.tenant}, workflow ${workflowId})`,
    `  source: ${plan.records} records, ${plan.invalid} invalid${plan.sourceSha256 ? `, sha256 ${plan.sourceSha256.slice(0, 12)}…` : ''}`,
    `  provider: ${plan.providerUsers} users listed in ${plan.pages} pages, ${plan.managed} managed by this sync`,
    ...countLines(plan.counts),
  ];
  const shown = plan.sample.filter((s) => s.action !== 'unchanged' && s.action !== 'out-of-scope');
  if (shown.length > 0) {
    lines.push('  sample:');
    for (const s of shown) {
      const who = [s.userName, s.id ? `id ${s.id}` : undefined, s.record ? `record ${s.record}` : undefined]
        .filter(Boolean)
        .join(', ');
      lines.push(
        `    ${MARKS[s.action]} ${s.action} ${who}${s.changedAttributes?.length ? `: ${s.changedAttributes.join(', ')}` : ''}`,
      );
    }
  }
  if (plan.problemCount > 0) {
    lines.push(`  ${plan.problemCount} records could not be matched safely:`);
    for (const p of plan.problems.slice(0, 10))
      lines.push(`    record ${p.record}${p.userName ? ` (${p.userName})` : ''}: ${p.reason}`);
  }
  for (const r of plan.invalidRecords.slice(0, 10))
    lines.push(`  invalid record ${r.record}${r.userName ? ` (${r.userName})` : ''}: ${r.reason}`);
  if (result.managerLinks) {
    const m = result.managerLinks;
    lines.push(
      `  managers: ${m.resolvedWhenPlanned} found when planned, ${m.pending} joining in this sync (${m.linked} linked after the writes, ${m.unchanged} already linked), ${m.warned} left without one`,
    );
    for (const w of m.warnings.slice(0, 10))
      lines.push(`    record ${w.record}${w.userName ? ` (${w.userName})` : ''}: ${w.detail}`);
  }
  if (plan.planOut) lines.push(`  whole plan written on the worker to ${plan.planOut}`);
  if (result.outcome !== 'dry-run') {
    const applied = (Object.entries(result.applied) as Array<[SyncAction, number]>)
      .filter(([, n]) => n > 0)
      .map(([a, n]) => `${n} ${a}`);
    lines.push(
      `Applied: ${applied.join(', ') || 'nothing'}; ${result.failed} failed; ${result.requests} HTTP requests (${plan.pages} listing pages)`,
    );
    for (const f of result.failures.slice(0, 10))
      lines.push(`  failed ${f.action} ${f.userName ?? f.id ?? ''}: ${f.status ? `HTTP ${f.status} ` : ''}${f.detail}`);
  }
  if (result.deletionDecision) {
    const d = result.deletionDecision;
    lines.push(`Removals: ${d.decision}${d.by ? ` by ${d.by}` : ''}${d.reason ? ` (${d.reason})` : ''} at ${d.at}`);
  }
  if (result.note) lines.push(`Note: ${result.note}`);
  if (result.trace) lines.push(...traceLines(result.trace, result.outcome === 'dry-run'));
  lines.push(`Outcome: ${result.outcome}${result.outcome === 'dry-run' ? ' (nothing changed)' : ''}`);
  return `${lines.join('\n')}\n`;
}

function traceLines(trace: NonNullable<SyncUsersResult['trace']>, dryRun: boolean): string[] {
  const lines = [
    'User trace:',
    `  1. source record ${trace.record ?? '?'}${trace.line !== undefined ? ` (line ${trace.line})` : ''}`,
  ];
  lines.push(`  2. mapped user: ${JSON.stringify(trace.mapped ?? {})}`);
  lines.push(
    `  3. match: ${trace.match ? `provider user ${trace.match.id} (${trace.match.userName ?? '-'}, active ${String(trace.match.active ?? '?')})` : 'none in the provider'}`,
  );
  lines.push(
    `  4. action: ${trace.action}${trace.changedAttributes?.length ? ` (${trace.changedAttributes.join(', ')})` : ''}`,
  );
  const calls = trace.http ?? [];
  lines.push(`  5. HTTP: ${calls.length > 0 ? '' : dryRun ? 'none (dry run)' : 'no request (nothing to write)'}`);
  for (const c of calls)
    lines.push(`     ${c.method} ${c.path} → ${c.status ?? 'no answer'}${c.error ? ` (${c.error})` : ''}`);
  return lines;
}
