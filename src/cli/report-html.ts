// The auditor's report as one self-contained HTML page: inline CSS, charts as inline SVG, no
// script and nothing fetched (its Content-Security-Policy forbids both), so it can be archived,
// mailed and opened offline. Pure: it renders the ComplianceReport the JSON format prints, and
// every value reaches the page through `html`, which escapes it.
import type { ComplianceReport } from './compliance-report';
import {
  RUN_STATUSES,
  runUiUrl,
  type DayFigures,
  type DeactivationFigures,
  type DecisionFigures,
  type RunStatus,
} from './report-figures';

/** Markup built by `html` (already escaped); anything else interpolated into `html` is escaped. */
class Html {
  constructor(readonly text: string) {}
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe in HTML and SVG, in element content and in quoted attributes alike. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

type Markup = Html | string | number | null | undefined | false | readonly Markup[];

function render(value: Markup): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

function html(strings: TemplateStringsArray, ...values: Markup[]): Html {
  return new Html(strings.reduce((out, s, i) => out + render(values[i - 1] as Markup) + s));
}

/** A rate as shown on the page (and compared with the JSON by the test): one decimal, or — when there is none. */
export function formatRate(rate: number | null): string {
  return rate === null ? '—' : `${(rate * 100).toFixed(1)} %`;
}

const STATUS_COLORS: Record<RunStatus, string> = {
  succeeded: '#2e7d32',
  partial: '#f9a825',
  quarantined: '#ef6c00',
  failed: '#c62828',
  running: '#1565c0',
};

/** A rounded-up axis maximum whose half is a whole number too: 2, 4, 10, 20, 40, 100 … */
function niceMax(value: number): number {
  if (value <= 2) return 2;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 4, 10].map((m) => m * magnitude).find((m) => m >= value && m % 2 === 0) ?? value;
}

const round = (n: number) => Math.round(n * 10) / 10;

const CHART = { width: 760, height: 240, left: 48, right: 16, top: 16, bottom: 44 };

/** Day labels along the x axis, thinned so that they never overlap. */
function dayAxis(days: readonly DayFigures[], x: (i: number) => number): Html {
  const step = Math.max(1, Math.ceil(days.length / 12));
  const bottom = CHART.height - CHART.bottom;
  return html`${days.map((d, i) =>
    i % step === 0
      ? html`<text x="${round(x(i))}" y="${bottom + 18}" text-anchor="middle" class="axis">${d.day.slice(5)}</text>`
      : '',
  )}<line x1="${CHART.left}" y1="${bottom}" x2="${CHART.width - CHART.right}" y2="${bottom}" class="baseline"/>`;
}

function yAxis(max: number, label: (value: number) => string): Html {
  const plot = CHART.height - CHART.top - CHART.bottom;
  return html`${[0, 0.5, 1].map((f) => {
    const y = round(CHART.top + plot * (1 - f));
    return html`<line x1="${CHART.left}" y1="${y}" x2="${CHART.width - CHART.right}" y2="${y}" class="grid"/><text x="${CHART.left - 6}" y="${y + 4}" text-anchor="end" class="axis">${label(max * f)}</text>`;
  })}`;
}

function runsPerDayChart(days: readonly DayFigures[]): Html {
  const plot = { w: CHART.width - CHART.left - CHART.right, h: CHART.height - CHART.top - CHART.bottom };
  const max = niceMax(Math.max(...days.map((d) => d.runs)));
  const slot = plot.w / days.length;
  const barWidth = round(Math.min(36, slot * 0.7));
  const x = (i: number) => CHART.left + slot * (i + 0.5);
  const bars = days.map((d, i) => {
    let y = CHART.top + plot.h;
    return RUN_STATUSES.filter((s) => d.byStatus[s] > 0).map((status) => {
      const h = (d.byStatus[status] / max) * plot.h;
      y -= h;
      return html`<rect x="${round(x(i) - barWidth / 2)}" y="${round(y)}" width="${barWidth}" height="${round(h)}" fill="${STATUS_COLORS[status]}"><title>${d.day}: ${d.byStatus[status]} ${status}</title></rect>`;
    });
  });
  return html`<svg role="img" aria-label="Runs per day by outcome" viewBox="0 0 ${CHART.width} ${CHART.height}" width="${CHART.width}" height="${CHART.height}">${yAxis(max, (v) => String(Math.round(v)))}${bars}${dayAxis(days, x)}</svg>`;
}

function successRateChart(days: readonly DayFigures[]): Html {
  const plot = { w: CHART.width - CHART.left - CHART.right, h: CHART.height - CHART.top - CHART.bottom };
  const slot = plot.w / days.length;
  const x = (i: number) => CHART.left + slot * (i + 0.5);
  const y = (rate: number) => CHART.top + plot.h * (1 - rate);
  // One line per stretch of days that attempted something; days without attempts leave a gap.
  const stretches: Array<Array<[number, number]>> = [[]];
  days.forEach((d, i) => {
    if (d.successRate === null) stretches.push([]);
    else stretches[stretches.length - 1].push([round(x(i)), round(y(d.successRate))]);
  });
  const lines = stretches
    .filter((points) => points.length > 1)
    .map((points) => html`<polyline points="${points.map((p) => p.join(',')).join(' ')}" class="rate-line"/>`);
  const dots = days.map((d, i) =>
    d.successRate === null
      ? ''
      : html`<circle cx="${round(x(i))}" cy="${round(y(d.successRate))}" r="4" class="rate-dot"><title>${d.day}: ${formatRate(d.successRate)} (${d.succeeded} of ${d.attempted})</title></circle>`,
  );
  return html`<svg role="img" aria-label="Success rate per day" viewBox="0 0 ${CHART.width} ${CHART.height}" width="${CHART.width}" height="${CHART.height}">${yAxis(1, (v) => `${Math.round(v * 100)} %`)}${lines}${dots}${dayAxis(days, x)}</svg>`;
}

/** Horizontal bars, one per row: label, bar, value. */
function barList(
  label: string,
  rows: ReadonlyArray<{ name: string; value: number; text: string; color?: string }>,
): Html {
  const width = CHART.width;
  const labelWidth = 220;
  const rowHeight = 26;
  const max = Math.max(...rows.map((r) => r.value), 1);
  const barSpace = width - labelWidth - 90;
  const height = rows.length * rowHeight + 8;
  return html`<svg role="img" aria-label="${label}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">${rows.map(
    (r, i) => {
      const y = 4 + i * rowHeight;
      const w = round(Math.max(1, (r.value / max) * barSpace));
      return html`<text x="${labelWidth - 8}" y="${y + 17}" text-anchor="end" class="label">${r.name}</text><rect x="${labelWidth}" y="${y + 4}" width="${w}" height="${rowHeight - 8}" fill="${r.color ?? '#5c6bc0'}"><title>${r.name}: ${r.text}</title></rect><text x="${labelWidth + w + 6}" y="${y + 17}" class="value">${r.text}</text>`;
    },
  )}</svg>`;
}

function legend(): Html {
  return html`<ul class="legend">${RUN_STATUSES.map(
    (s) => html`<li><span class="swatch" style="background:${STATUS_COLORS[s]}"></span>${s}</li>`,
  )}</ul>`;
}

function table(id: string, head: readonly string[], rows: readonly Markup[][], empty: string): Html {
  if (rows.length === 0) return html`<p class="empty" id="${id}">${empty}</p>`;
  return html`<table id="${id}"><thead><tr>${head.map((h) => html`<th>${h}</th>`)}</tr></thead><tbody>${rows.map(
    (cells) => html`<tr>${cells.map((c) => html`<td>${c}</td>`)}</tr>`,
  )}</tbody></table>`;
}

export function renderReportHtml(report: ComplianceReport): string {
  const { audit, filter } = report;
  const link = (run: { workflowId: string; runId: string }) =>
    html`<a href="${runUiUrl(report.temporal, run)}">${run.workflowId}</a>`;
  const time = (iso: string) => html`<time datetime="${iso}">${iso}</time>`;
  const status = (s: RunStatus) => html`<span class="status" style="background:${STATUS_COLORS[s]}">${s}</span>`;
  const period = [
    filter.since ? `from ${filter.since}` : 'from the first run',
    filter.until ? `until ${filter.until}` : 'until now',
  ].join(' ');
  const scope = [filter.tenant && `tenant ${filter.tenant}`, filter.type && `type ${filter.type}`].filter(Boolean);
  const t = audit.totals;
  const cards: Array<[string, string, string]> = [
    ['runs', String(t.runs), 'total-runs'],
    ...RUN_STATUSES.map((s): [string, string, string] => [s, String(t.byStatus[s]), `total-${s}`]),
    ['success rate', formatRate(t.successRate), 'total-success-rate'],
  ];
  const hasDays = audit.days.some((d) => d.runs > 0);
  const decisionCounts = (d: DecisionFigures) =>
    (['users', 'groups', 'memberships'] as const)
      .filter((k) => d.removals[k] !== undefined)
      .map((k) => `${d.removals[k]} ${k}`)
      .join(', ');
  const removedCells = (d: DeactivationFigures) => [
    d.usersDeactivated,
    d.usersDeleted,
    d.groupsDeleted,
    d.membershipsRemoved,
  ];

  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>SCIM audit report — ${period}</title>
<style>${new Html(STYLE)}</style>
</head>
<body>
<main>
<header>
<h1>SCIM audit report</h1>
<p class="meta">${period}${scope.length ? ` · ${scope.join(' · ')}` : ''} · namespace ${report.temporal.namespace} · ${report.runs.length} workflow(s) · generated ${report.generatedAt}</p>
</header>

<section class="cards" id="totals">${cards.map(
    ([name, value, id]) =>
      html`<div class="card"><div class="card-value" id="${id}">${value}</div><div class="card-name">${name}</div></div>`,
  )}</section>

<section>
<h2>Runs per day by outcome</h2>
${hasDays ? html`${runsPerDayChart(audit.days)}${legend()}` : html`<p class="empty">No runs in this period.</p>`}
<h2>Success rate over time</h2>
<p class="note">Units of work that succeeded (users for provisioning, changes for syncs, steps otherwise) of those attempted, by the day the run started.</p>
${audit.days.some((d) => d.successRate !== null) ? successRateChart(audit.days) : html`<p class="empty">Nothing was attempted in this period.</p>`}
${table(
  'days',
  ['day', 'runs', ...RUN_STATUSES, 'attempted', 'succeeded', 'success rate'],
  audit.days.map((d) => [
    d.day,
    d.runs,
    ...RUN_STATUSES.map((s) => d.byStatus[s]),
    d.attempted,
    d.succeeded,
    formatRate(d.successRate),
  ]),
  'No runs in this period.',
)}
</section>

<section>
<h2>Failed runs by type</h2>
${
  audit.failuresByType.length
    ? barList(
        'Failed runs by type',
        audit.failuresByType.map((f) => ({
          name: f.type,
          value: f.runs,
          text: String(f.runs),
          color: STATUS_COLORS.failed,
        })),
      )
    : ''
}
${table(
  'failures-by-type',
  ['type', 'class', 'runs', 'meaning'],
  audit.failuresByType.map((f) => [f.type, f.class ?? '', f.runs, f.meaning ?? '']),
  'No run failed in this period.',
)}
</section>

<section>
<h2>Approvals and rejections of removals</h2>
<p class="note">Removals above a sync's deletion threshold wait for a person's decision on the exact plan (its SHA-256).</p>
${table(
  'decisions',
  ['decided at', 'decision', 'by', 'plan hash', 'removals', 'reason', 'tenant', 'run'],
  audit.decisions.map((d) => [
    time(d.at),
    html`<span class="decision ${d.decision}">${d.decision}</span>`,
    d.by ?? '—',
    html`<code title="${d.planHash}">${d.planHash.slice(0, 16)}…</code>`,
    decisionCounts(d),
    d.reason ?? d.thresholdReason ?? '',
    d.tenant,
    link(d),
  ]),
  'No removals needed a decision in this period.',
)}
</section>

<section>
<h2>Deactivations and removals</h2>
${table(
  'deactivations',
  ['at', 'users deactivated', 'users deleted', 'groups deleted', 'memberships removed', 'approved by', 'tenant', 'run'],
  audit.deactivations.map((d) => [time(d.at), ...removedCells(d), d.approvedBy ?? '—', d.tenant, link(d)]),
  'Nobody was deactivated or removed in this period.',
)}
</section>

<section>
<h2>Lifecycle lag</h2>
<p class="note">From a change in CXone (the event's time) to the IdP having it: the median of the users' medians, the worst user's 95th percentile, and the worst.</p>
${report.entities.map((e) =>
  barList(`${e.workflowType} lag`, [
    { name: `${e.workflowType} p50`, value: e.idpSync.lagMs.p50, text: `${e.idpSync.lagMs.p50} ms` },
    { name: `${e.workflowType} p95 (worst)`, value: e.idpSync.lagMs.p95Worst, text: `${e.idpSync.lagMs.p95Worst} ms` },
    { name: `${e.workflowType} max`, value: e.idpSync.lagMs.max, text: `${e.idpSync.lagMs.max} ms` },
  ]),
)}
${table(
  'lifecycle',
  [
    'workflow type',
    'open',
    'events',
    'applied',
    'ignored',
    'failed',
    'IdP syncs ok',
    'IdP syncs failed',
    'out of sync',
    'lag p50 ms',
    'lag p95 (worst) ms',
    'lag max ms',
  ],
  report.entities.map((e) => [
    e.workflowType,
    e.openRuns,
    e.events.received,
    e.events.applied,
    e.events.ignored,
    e.events.failed,
    e.idpSync.succeeded,
    e.idpSync.failed,
    e.idpSync.workflowsOutOfSync,
    e.idpSync.lagMs.p50,
    e.idpSync.lagMs.p95Worst,
    e.idpSync.lagMs.max,
  ]),
  'No lifecycle workflows in this period.',
)}
</section>

<section>
<h2>By workflow type</h2>
${table(
  'summaries',
  [
    'workflow type',
    'runs',
    'runs succeeded',
    'runs partial',
    'runs failed',
    'attempted',
    'succeeded',
    'failed',
    'success rate',
    'duration p50 ms',
    'duration p95 ms',
  ],
  report.summaries.map((s) => [
    s.workflowType,
    s.runs,
    s.runsSucceeded,
    s.runsPartial,
    s.runsFailed,
    s.attempted,
    s.succeeded,
    s.failed,
    formatRate(s.successRate),
    s.durationMs.p50,
    s.durationMs.p95,
  ]),
  'No finished runs in this period.',
)}
</section>

<section>
<h2>Runs</h2>
<p class="note">Each links to its history in the Temporal UI (${report.temporal.uiUrl}).</p>
${table(
  'runs',
  ['started', 'workflow type', 'workflow', 'tenant', 'status', 'attempted', 'succeeded', 'failed', 'error'],
  report.runs.map((r) => [
    time(r.startedAt),
    r.workflowType,
    link(r),
    r.tenant,
    status(r.status),
    r.totals.attempted,
    r.totals.succeeded,
    r.totals.failed,
    r.error ? html`${r.errorType ? html`<b>${r.errorType}</b> ` : ''}${r.error.split('\n')[0].slice(0, 300)}` : '',
  ]),
  'No runs in this period.',
)}
</section>
</main>
</body>
</html>
`;
  return page.text;
}

const STYLE = `
:root { color-scheme: light; --ink: #1f2933; --muted: #52606d; --line: #d9e2ec; --bg: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 48px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
.meta, .note { color: var(--muted); margin: 4px 0 12px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 16px 0; overflow-x: auto; }
h2 { font-size: 17px; margin: 8px 0 8px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(120px, 1fr)); gap: 12px; background: none; border: 0; padding: 0; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card-value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card-name { color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin-top: 8px; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef2f7; font-weight: 600; }
time, .status, .decision { white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafbfc; }
td { overflow-wrap: anywhere; }
a { color: #1a56db; }
code { font-size: 12px; }
.empty { color: var(--muted); font-style: italic; }
.status { color: #fff; border-radius: 4px; padding: 1px 6px; font-size: 12px; }
.decision { font-weight: 600; }
.decision.approved { color: #2e7d32; } .decision.rejected { color: #c62828; } .decision.timed-out { color: #ef6c00; }
.legend { list-style: none; display: flex; gap: 16px; padding: 0; margin: 4px 0 8px; color: var(--muted); }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
svg { display: block; max-width: 100%; height: auto; }
svg .axis { font-size: 11px; fill: var(--muted); }
svg .label, svg .value { font-size: 12px; fill: var(--ink); }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .baseline { stroke: #9aa5b1; stroke-width: 1; }
svg .rate-line { fill: none; stroke: #1a56db; stroke-width: 2; }
svg .rate-dot { fill: #1a56db; }
@media print { body { background: #fff; } section { break-inside: avoid; } }
`;
