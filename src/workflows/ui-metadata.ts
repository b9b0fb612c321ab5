// What the Temporal UI (and `temporal workflow describe`) shows of a run besides ids and payloads:
//
//   start (CLI, receiver, schedule) ─▶ static summary  "syncUsers · tenant acme · users.csv (sha256 3f2a9c1e)"
//                                   ─▶ static details  what was asked, one line per option
//   while it runs                   ─▶ current details (RunDetails: the ReportRecorder keeps them on each
//                                      step; jobs add progress, "waiting for approval: …", quarantine)
//   each activity and durable wait  ─▶ a summary ("apply writes slice 2 of 5", "waiting out Retry-After 20 s")
//
// No personal data in any of it, whatever the codec: counts, tenant ids, plan hashes, file names and
// workflow ids only (userNames, emails and names never). The summaries and details are payloads
// (history user metadata; current details answer the UI's metadata query), so with
// CXONE_SCIM_PAYLOAD_KEY the payload codec encrypts them like every other payload.
import { setCurrentDetails } from '@temporalio/workflow';

/** What a starter gives `client.workflow.start` (or a schedule's action, or signal-with-start). */
export interface StartMetadata {
  staticSummary: string;
  staticDetails: string;
}

/** Input fields that hold personal data: arrays are shown as a count, anything else as `given`. */
const PERSONAL_FIELDS = new Set([
  'users',
  'user',
  'userName',
  'protectedAccounts',
  'groups',
  'members',
  'emails',
  'externalId',
]);
/** Input fields that are not what was asked (carried state, the tenant and source shown apart). */
const NOT_ASKED = new Set(['tenant', 'carried', 'source']);

/** The last segment of a path or URL (never its directories, which may name a person's home). */
export function fileNameOf(location: string): string {
  const withoutQuery = location.split(/[?#]/)[0];
  return withoutQuery.split(/[\\/]/).filter(Boolean).pop() ?? withoutQuery;
}

/** A source as summaries name it: its file name and, when known, its version (e.g. a short SHA-256). */
export function sourceLabel(location: string, version?: string): string {
  return version ? `${fileNameOf(location)} (${version})` : fileNameOf(location);
}

/**
 * The static summary and details of a run: `job · tenant · source`, and what was asked (each input
 * field but the personal ones, which are counted). `source` defaults to the input's `source.path`,
 * or the number of inline users.
 */
export function startMetadata(
  job: string,
  input: { tenant: string },
  options: { startedBy: string; source?: string; sourceVersion?: string },
): StartMetadata {
  const fields = input as Record<string, unknown>;
  const sourcePath = (fields.source as { path?: unknown } | undefined)?.path;
  const source =
    options.source ??
    (typeof sourcePath === 'string'
      ? sourceLabel(sourcePath, options.sourceVersion)
      : Array.isArray(fields.users)
        ? `${fields.users.length} inline users`
        : undefined);
  const asked = askedOf(fields);
  return {
    staticSummary: [job, `tenant ${input.tenant}`, ...(source ? [source] : [])].join(' · '),
    staticDetails: [
      `- started by: ${options.startedBy}`,
      ...(source ? [`- source: ${source}`] : []),
      ...(asked.length > 0 ? asked.map((line) => `- ${line}`) : ['- options: defaults']),
    ].join('\n'),
  };
}

/** `name: value` for each asked input field, personal ones counted, nested objects flattened one level. */
function askedOf(fields: Record<string, unknown>, prefix = ''): string[] {
  const lines: string[] = [];
  const sourceOptions = fields.source as Record<string, unknown> | undefined;
  const entries = Object.entries(fields).filter(([key]) => prefix !== '' || !NOT_ASKED.has(key));
  // The source's own options (format, mapping, columns) are asked too; its path is the source line.
  if (prefix === '' && sourceOptions && typeof sourceOptions === 'object')
    entries.push(
      ...Object.entries(sourceOptions)
        .filter(([key]) => key !== 'path')
        .map(([key, value]): [string, unknown] => [`source.${key}`, value]),
    );
  for (const [key, value] of entries) {
    if (value === undefined) continue;
    const name = `${prefix}${key}`;
    const field = key.split('.').pop() as string;
    if (PERSONAL_FIELDS.has(field)) {
      lines.push(`${name}: ${Array.isArray(value) ? `${value.length} given` : 'given'}`);
    } else if (Array.isArray(value)) {
      const words = value.every((v) => typeof v === 'string' && v.length <= 40);
      lines.push(`${name}: ${words && value.length <= 8 ? value.join(', ') : `${value.length} items`}`);
    } else if (value !== null && typeof value === 'object') {
      const inner = value as Record<string, unknown>;
      if (typeof inner.path === 'string') lines.push(`${name}: ${fileNameOf(inner.path)}`);
      else if (prefix === '' && Object.keys(inner).length <= 6) lines.push(...askedOf(inner, `${name}.`));
      else lines.push(`${name}: given (${Object.keys(inner).length} fields)`);
    } else if (typeof value === 'string' && /^https?:\/\//i.test(value)) {
      // A URL without its query (which may carry a token).
      lines.push(`${name}: ${value.split(/[?#]/)[0]}`);
    } else {
      lines.push(`${name}: ${String(value)}`);
    }
  }
  return lines;
}

/**
 * The current details of a running workflow: a headline and named lines (step, progress, waiting,
 * outcome…), set again on each change. Setting them is not a command: histories replay unchanged.
 */
export class RunDetails {
  private readonly lines = new Map<string, string>();

  constructor(private readonly headline: string) {
    this.render();
  }

  /** Sets (or with undefined, removes) the line `name` (e.g. `step`, `approval`); lines keep the order they were first set in. */
  set(name: string, text: string | undefined): void {
    this.lines.set(name, text ?? '');
    this.render();
  }

  get text(): string {
    return [this.headline, ...[...this.lines.values()].filter(Boolean).map((line) => `- ${line}`)].join('\n');
  }

  private render(): void {
    setCurrentDetails(this.text);
  }
}

/**
 * Options for `activity.executeWithOptions(withSummary('GET /Schemas'), [args])`: the call's
 * summary in the UI, merged into the proxy's options (a summary is user metadata of the
 * ScheduleActivityTask command, which replay does not compare: old histories replay unchanged).
 */
export function withSummary(summary: string): { summary: string } {
  return { summary };
}

/** The current-details line of a run waiting for approval (`command`: `cxone-scim sync`, `cxone-scim adopt`). */
export function approvalWaitText(
  command: string,
  workflowId: string,
  what: string,
  planHash: string,
  timeout: string,
): string {
  return (
    `waiting for approval: ${what}, plan ${planHash}, approve with ` +
    `\`${command} approve ${workflowId} --plan-hash ${planHash} --by <name>\` ` +
    `or reject with \`${command} reject ${workflowId} --reason <why>\` (within ${timeout})`
  );
}

/** A duration for people: `850 ms`, `20 s`, `4 min`, `2 h`. */
export function humanDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 3_600_000)} h`;
}
