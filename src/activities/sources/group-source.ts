// Reads the groups of a syncGroups run: a `groups` column of the user CSV (one row per user, the
// user's groups joined by a delimiter), a separate groups file (CSV / JSON / NDJSON with
// displayName, externalId and members by the users' match key), and/or inline groups. A group
// named in both places gets the members of both; a bad record is a problem naming its line.
import fs from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { formatIssues } from '../../core/decode';
import { FailureType } from '../../core/failures';
import { parseJson, refusedKeyIssues } from '../../core/json';
import type { SourceGroup } from '../../scim/group-reconcile';
import { parseCsvText } from './csv-source';
import { decodeSource } from './source-text';
import { formatOf, type SourceFormat } from './user-source';

export interface GroupsColumnSpec {
  /** The user CSV. */
  path: string;
  /** Column holding the user's groups. Default `groups`. */
  column?: string;
  /** Between group names in that column. Default `;`. */
  delimiter?: string;
  /** Column holding the user's match key (userName or externalId). Default: the member key's name. */
  memberColumn?: string;
}

export interface GroupsFileSpec {
  path: string;
  format?: SourceFormat;
  /** Between member keys in a CSV `members` column. Default `;`. */
  delimiter?: string;
}

export interface InlineGroup {
  displayName: string;
  externalId?: string;
  members?: string[];
}

export interface GroupSourceSpec {
  groupsColumn?: GroupsColumnSpec;
  groupsFile?: GroupsFileSpec;
  groups?: InlineGroup[];
}

export interface LoadedGroups {
  groups: SourceGroup[];
  /** Records that could not be read (named by file and line). */
  problems: Array<{ group?: string; origin: string; reason: string }>;
}

const invalid = (message: string) => ApplicationFailure.nonRetryable(message, FailureType.InvalidSource);

async function readText(file: string): Promise<string> {
  try {
    return decodeSource(await fs.readFile(file)).text;
  } catch (err) {
    throw ApplicationFailure.nonRetryable(
      `cannot read the source file ${file}: ${(err as Error).message}`,
      FailureType.SourceUnreadable,
    );
  }
}

const split = (value: string, delimiter: string) =>
  value
    .split(delimiter)
    .map((s) => s.trim())
    .filter((s) => s !== '');

async function csvRows(text: string, file: string, required: string[]) {
  const { columns, rows } = await parseCsvText(text);
  const missing = required.filter((c) => !columns.includes(c));
  if (missing.length > 0)
    throw invalid(
      `${file}: the CSV header lacks ${missing.map((c) => `"${c}"`).join(', ')} (it has: ${columns.join(', ')})`,
    );
  return rows;
}

/** Each row's groups, gathered into groups in order of first appearance. */
async function fromColumn(
  spec: GroupsColumnSpec,
  memberKey: string,
  out: LoadedGroups,
  byName: Map<string, SourceGroup>,
): Promise<void> {
  const column = spec.column ?? 'groups';
  const memberColumn = spec.memberColumn ?? memberKey;
  const name = path.basename(spec.path);
  for (const row of await csvRows(await readText(spec.path), name, [column, memberColumn])) {
    const origin = `${name} line ${row.line}`;
    if ('problem' in row) {
      out.problems.push({ origin, reason: row.problem });
      continue;
    }
    const member = row.values[memberColumn]?.trim() ?? '';
    const groups = split(row.values[column] ?? '', spec.delimiter ?? ';');
    if (groups.length === 0) continue;
    if (member === '') {
      out.problems.push({
        group: groups.join(', '),
        origin,
        reason: `${memberColumn}: empty, so this user cannot be a member`,
      });
      continue;
    }
    for (const displayName of groups) {
      const key = displayName.toLowerCase();
      let group = byName.get(key);
      if (!group) {
        group = { displayName, members: [], origin };
        byName.set(key, group);
        out.groups.push(group);
      }
      group.members.push(member);
    }
  }
}

function record(raw: unknown, origin: string, delimiter: string): SourceGroup | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'a group must be an object';
  const refused = refusedKeyIssues(raw);
  if (refused.length > 0) return formatIssues(refused);
  const r = raw as Record<string, unknown>;
  if (typeof r.displayName !== 'string' || r.displayName.trim() === '')
    return 'displayName: required (a non-empty string)';
  if (r.externalId !== undefined && typeof r.externalId !== 'string') return 'externalId: must be a string';
  let members: string[];
  if (r.members === undefined || r.members === '') members = [];
  else if (typeof r.members === 'string') members = split(r.members, delimiter);
  else if (Array.isArray(r.members)) {
    // members may be plain keys, or SCIM-style {value} objects carrying the key.
    const keys = r.members.map((m) =>
      typeof m === 'string'
        ? m
        : typeof (m as { value?: unknown })?.value === 'string'
          ? (m as { value: string }).value
          : undefined,
    );
    const bad = keys.findIndex((k) => k === undefined || k.trim() === '');
    if (bad !== -1) return `members[${bad}]: must be a non-empty string (the user's match key)`;
    members = (keys as string[]).map((k) => k.trim());
  } else return "members: must be a list of the users' match keys";
  return { displayName: r.displayName.trim(), ...(r.externalId ? { externalId: r.externalId } : {}), members, origin };
}

async function fromFile(spec: GroupsFileSpec, out: LoadedGroups): Promise<SourceGroup[]> {
  const format = formatOf(spec.path, spec.format);
  const name = path.basename(spec.path);
  const text = await readText(spec.path);
  const delimiter = spec.delimiter ?? ';';
  const raws: Array<{ raw: unknown; origin: string } | { problem: string; origin: string }> = [];
  if (format === 'csv') {
    for (const row of await csvRows(text, name, ['displayName'])) {
      const origin = `${name} line ${row.line}`;
      raws.push(
        'problem' in row
          ? { problem: row.problem, origin }
          : { raw: { ...row.values, ...(row.values.externalId === '' ? { externalId: undefined } : {}) }, origin },
      );
    }
  } else if (format === 'ndjson') {
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      const origin = `${name} line ${i + 1}`;
      try {
        raws.push({ raw: parseJson(line), origin });
      } catch (err) {
        raws.push({ problem: `not JSON (${(err as Error).message})`, origin });
      }
    });
  } else {
    let document: unknown;
    try {
      document = parseJson(text);
    } catch (err) {
      throw invalid(`cannot read ${name} as json: ${(err as Error).message}`);
    }
    const container = document as { groups?: unknown; Resources?: unknown } | null;
    const list = Array.isArray(document) ? document : (container?.groups ?? container?.Resources);
    if (!Array.isArray(list)) throw invalid(`${name}: expected an array of groups, {"groups": […]} or a ListResponse`);
    if (!Array.isArray(document)) {
      // Refused keys in a record make that record invalid (below); around the records, the file.
      const { groups: _groups, Resources: _resources, ...around } = container as Record<string, unknown>;
      const refused = refusedKeyIssues(around);
      if (refused.length > 0) throw invalid(`${name}: ${formatIssues(refused)}`);
    }
    list.forEach((raw, i) => raws.push({ raw, origin: `${name} record ${i + 1}` }));
  }
  const groups: SourceGroup[] = [];
  for (const item of raws) {
    const parsed = 'problem' in item ? item.problem : record(item.raw, item.origin, delimiter);
    if (typeof parsed === 'string') out.problems.push({ origin: item.origin, reason: parsed });
    else groups.push(parsed);
  }
  return groups;
}

/** The run's groups: the groups file's and inline groups as given, with the user CSV column's members merged in by name. */
export async function loadGroupSource(spec: GroupSourceSpec, memberKey: string): Promise<LoadedGroups> {
  if (!spec.groupsColumn && !spec.groupsFile && !spec.groups)
    throw invalid('give the groups: groupsColumn (a column of the user CSV), groupsFile, and/or groups (inline)');
  const out: LoadedGroups = { groups: [], problems: [] };
  const listed: SourceGroup[] = [];
  if (spec.groupsFile) listed.push(...(await fromFile(spec.groupsFile, out)));
  (spec.groups ?? []).forEach((g, i) => {
    const parsed = record(g, `groups[${i}]`, ';');
    if (typeof parsed === 'string') out.problems.push({ origin: `groups[${i}]`, reason: parsed });
    else listed.push(parsed);
  });
  if (!spec.groupsColumn) return { ...out, groups: listed };
  // Column groups merge into a listed group of the same name (the first one: duplicates are the planner's error).
  const byName = new Map<string, SourceGroup>();
  for (const g of listed) if (!byName.has(g.displayName.toLowerCase())) byName.set(g.displayName.toLowerCase(), g);
  const fromUsers: LoadedGroups = { groups: [], problems: out.problems };
  await fromColumn(spec.groupsColumn, memberKey, fromUsers, byName);
  return { groups: [...listed, ...fromUsers.groups], problems: out.problems };
}
