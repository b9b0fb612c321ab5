// Reads the users of a provisioning run from a file, an s3:// object or an https:// document (CSV,
// JSON, NDJSON) and maps each record to a SCIM User, streaming: bytes are hashed and parsed as they
// arrive and each record is handed on as soon as it is read, so the planner never holds the whole
// source (a JSON document is the exception: it is parsed whole). The SHA-256 and the store's
// version of the bytes read say which version of the source a run planned.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../../core/failures';
import { type JsonInputError, parseJson, refusedKeyIssues, refuseUnsafeKeys } from '../../core/json';
import { readField } from '../../mapping/expression';
import {
  applyMapping,
  type CompiledMapping,
  compileMapping,
  identityMapping,
  type ManagerReference,
  type MappingContext,
  schemasOf,
  type UniqueChoice,
} from '../../mapping/mapping';
import type { DatesSettings } from '../../scim/dated-actions';
import type { AttributeWrites } from '../../scim/patch';
import { CsvReader, type CsvRow } from './csv-source';
import { openSource, resolveLocation } from './source-store';
import { decodeSource, notUtf8, sourceLines } from './source-text';
import { locationPathname } from './source-url';

export type SourceFormat = 'csv' | 'json' | 'ndjson';

export interface FileSourceSpec {
  /**
   * Path on the worker's file system (absolute, or relative to the worker's working directory),
   * or a URL as `url` takes it.
   */
  path?: string;
  /** s3://bucket/key, https://… or file://…: one object every worker of a fleet can read. Wins over `path`. */
  url?: string;
  /** https:// only: the worker's environment variable holding the header to send (`Name: value`, or an Authorization value). */
  authHeaderEnv?: string;
  /** Default: from the file extension (.csv, .json, .ndjson/.jsonl). */
  format?: SourceFormat;
  /** Attribute mapping (see src/mapping/mapping.ts). Without one: CSV headers are SCIM paths, JSON records are SCIM Users. */
  mapping?: unknown;
}

/** A source record after mapping: a User, or why there is none; `line` where the record starts (CSV, NDJSON). */
export type MappedRecord = ({ user: Record<string, unknown> } | { problems: string[] }) & {
  line?: number;
  /** With a mapping's `dates`: the record's date and zone columns as read (see src/scim/dated-actions.ts). */
  dated?: Record<string, unknown>;
  /** The mapping's create-only attributes and flow-null clears for this record (src/scim/patch.ts). */
  writes?: AttributeWrites;
  /** SelectUniqueValue candidates the planner chooses from (Planning.deferUnique), and the manager it resolves. */
  choices?: UniqueChoice[];
  manager?: ManagerReference;
};

/** Which source was read, and which version of it. */
export interface SourceSnapshot {
  /** Where it was read: an absolute path, s3://bucket/key or the https:// URL. */
  path: string;
  format: SourceFormat;
  /** Of the bytes read. */
  sha256: string;
  /** The store's version of those bytes (S3 version id or ETag, HTTP ETag, file size and mtime). */
  version: string;
  bytes: number;
}

export interface LoadedSource extends SourceSnapshot {
  records: MappedRecord[];
}

/**
 * What a planner maps a source with: its instant and an id of the plan. Now(), Guid() and
 * RandomString() in the mapping see that instant and a seed naming the plan and the record (its
 * line, or its position in a JSON document), so a retried plan maps every record to the same values.
 */
export interface Planning {
  now: number;
  planId: string;
  /** SelectUniqueValue's candidates are left in the record for the planner to choose from (MappingContext.deferUnique). */
  deferUnique?: boolean;
}

const contextAt = (planning: Planning | undefined, where: string): MappingContext | undefined =>
  planning
    ? { now: planning.now, seed: `${planning.planId}/${where}`, ...(planning.deferUnique ? { deferUnique: true } : {}) }
    : undefined;

/** Called with each record in source order (`index` from 0); the read waits for a returned promise. */
export type RecordSink = (record: MappedRecord, index: number) => void | Promise<void>;

/** A source record before mapping (a CSV row's values, a JSON value), or why none could be read. */
export type SourceItem = ({ record: unknown } | { problems: string[] }) & { line?: number };

/** Called with each source record before mapping, in order; `header` once with a CSV's columns, before its first row. */
export interface SourceItemSink {
  item(item: SourceItem, index: number): void | Promise<void>;
  header?(columns: string[]): void;
}

type Emit = (item: SourceItem) => Promise<void>;

export function formatOf(file: string, explicit?: string, display = file): SourceFormat {
  if (explicit === 'csv' || explicit === 'json' || explicit === 'ndjson') return explicit;
  if (explicit !== undefined) {
    throw ApplicationFailure.nonRetryable(
      `unknown source format "${explicit}" (csv, json or ndjson)`,
      FailureType.InvalidSource,
    );
  }
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.ndjson' || ext === '.jsonl') return 'ndjson';
  if (ext === '.json') return 'json';
  throw ApplicationFailure.nonRetryable(
    `cannot tell the format of ${display} from its extension: give format csv, json or ndjson`,
    FailureType.InvalidSource,
  );
}

function compiled(document: unknown): CompiledMapping | undefined {
  if (document === undefined || document === null) return undefined;
  const result = compileMapping(document);
  if (!result.ok)
    throw ApplicationFailure.nonRetryable(
      `the attribute mapping is invalid: ${result.problems.join('; ')}`,
      FailureType.InvalidMapping,
    );
  return result.mapping;
}

/**
 * Maps a plain record (a JSON object, a CSV row); a JSON record without a mapping is taken as a
 * SCIM User (its `schemas` derived when absent). A record with a key __proto__, constructor or prototype anywhere is invalid (see
 * core/json.ts), whether or not the mapping reads it.
 */
export function mapRecord(
  record: unknown,
  mapping: CompiledMapping | undefined,
  context?: MappingContext,
): MappedRecord {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    return { problems: ['$: a record must be a JSON object'] };
  }
  const refused = refusedKeyIssues(record);
  if (refused.length > 0) return { problems: refused.map((issue) => `${issue.path}: ${issue.message}`) };
  if (!mapping) return { user: withSchemas(record as Record<string, unknown>) };
  const mapped = applyMapping(mapping, record as Record<string, unknown>, context);
  const dated = mapping.dates ? datedColumnsOf(mapping.dates, record as Record<string, unknown>) : undefined;
  if (!mapped.ok) return { problems: mapped.problems };
  const { user, writes, choices, manager } = mapped;
  return {
    user,
    ...(writes ? { writes } : {}),
    ...(dated ? { dated } : {}),
    ...(choices ? { choices } : {}),
    ...(manager ? { manager } : {}),
  };
}

/** The date and zone columns (or JSON field paths) a mapping's `dates` names, as the record has them (own keys only). */
function datedColumnsOf(dates: DatesSettings, record: Record<string, unknown>): Record<string, unknown> {
  const columns = [dates.start, dates.lastDay, dates.timeZone].filter((c): c is string => c !== undefined);
  return Object.fromEntries(columns.map((c) => [c, readField(record, c)]).filter(([, value]) => value !== undefined));
}

/**
 * A record read as a SCIM User without a mapping. It is a source record, not a SCIM request: when
 * it has no `schemas`, they are those of the attributes it has (core, plus each extension used). A
 * `schemas` it gives is kept, and checked with the rest of the user.
 */
function withSchemas(record: Record<string, unknown>): Record<string, unknown> {
  if (Object.keys(record).some((key) => key.toLowerCase() === 'schemas')) return record;
  return { schemas: schemasOf(record), ...record };
}

export function mapRecords(raw: unknown[], mapping: CompiledMapping | undefined): MappedRecord[] {
  return raw.map((record) => mapRecord(record, mapping));
}

/**
 * The records of a JSON source. A refused key in a record makes that record invalid (mapRecord);
 * one in the document around the records fails the file, naming its path.
 */
function recordsOfJson(text: string): unknown[] {
  const document = parseJson(text);
  if (Array.isArray(document)) return document;
  const container = document as { Resources?: unknown; users?: unknown } | null;
  const member = Array.isArray(container?.Resources)
    ? 'Resources'
    : Array.isArray(container?.users)
      ? 'users'
      : undefined;
  if (member === undefined)
    throw new Error('expected an array of users, a ListResponse ({"Resources": […]}) or {"users": […]}');
  const { [member]: records, ...around } = container as Record<string, unknown>;
  refuseUnsafeKeys(around);
  return records as unknown[];
}

/** One record per non-empty line; a line that is not JSON (or not UTF-8) becomes an invalid record, not a failed run. */
async function readNdjson(body: AsyncIterable<Buffer>, emit: Emit): Promise<void> {
  for await (const lines of sourceLines(body)) {
    for (const { line, text, utf8 } of lines) {
      const content = text.trim();
      if (content === '') continue;
      if (!utf8) {
        await emit({ problems: [notUtf8(line)], line });
        continue;
      }
      let record: unknown;
      try {
        record = parseJson(text);
      } catch (err) {
        const syntax = (err as JsonInputError).syntax;
        const where = syntax ? `column ${syntax.column}: ${syntax.reason}` : (err as Error).message;
        await emit({ problems: [`line ${line}: not JSON (${where})`], line });
        continue;
      }
      await emit({ record, line });
    }
  }
}

async function readCsv(body: AsyncIterable<Buffer>, emit: Emit, header: (columns: string[]) => void): Promise<void> {
  const reader = new CsvReader();
  const badLines = new Set<number>();
  let headed = false;
  const take = async (rows: CsvRow[]) => {
    if (!headed && reader.columns && reader.columns.length > 0) {
      header(reader.columns);
      headed = true;
    }
    for (const row of rows) {
      let bad: number | undefined;
      for (let line = row.line; line <= row.endLine && bad === undefined; line++) if (badLines.has(line)) bad = line;
      if (bad !== undefined) await emit({ problems: [notUtf8(bad)], line: row.line });
      else if ('problem' in row) await emit({ problems: [`line ${row.line}: ${row.problem}`], line: row.line });
      else await emit({ record: row.values, line: row.line });
    }
  };
  for await (const lines of sourceLines(body)) {
    for (const line of lines) if (!line.utf8) badLines.add(line.line);
    await take(await reader.write(lines));
  }
  await take(await reader.end());
  if (!headed) throw new Error('the file is empty: a CSV source starts with a header row');
}

/** A mapping that reads a column the header lacks would fail every record with a misleading reason: one clear error instead. */
function checkColumns(mapping: CompiledMapping, columns: string[]): void {
  const missing: string[] = [];
  const rules = [
    ...mapping.rules,
    // A date column the header lacks would leave every joiner and leaver undated without a word.
    ...(['start', 'lastDay', 'timeZone'] as const).flatMap((key) => {
      const column = mapping.dates?.[key];
      return column === undefined ? [] : [{ target: `dates.${key}`, source: column, compiled: undefined }];
    }),
  ];
  for (const rule of rules) {
    const fields =
      rule.compiled?.columns ??
      (rule.source === undefined ? [] : Array.isArray(rule.source) ? rule.source : [rule.source]);
    for (const field of fields) {
      if (columns.includes(field)) continue;
      const near = columns.find((c) => c.toLowerCase() === field.trim().toLowerCase());
      missing.push(`${rule.target} ← "${field}"${near ? ` (did you mean "${near}"?)` : ''}`);
    }
  }
  if (missing.length > 0) {
    throw ApplicationFailure.nonRetryable(
      `the mapping names columns that are not in the CSV header: ${missing.join('; ')}. The header has: ${columns.join(', ')}`,
      FailureType.InvalidMapping,
    );
  }
}

/**
 * JSON is one document, parsed whole (the one format a worker holds in full while planning); bytes
 * that are not UTF-8 are pinned on the records whose values they damaged.
 */
async function readJson(body: AsyncIterable<Buffer>, emit: Emit): Promise<void> {
  const parts: Buffer[] = [];
  for await (const part of body) parts.push(part);
  const { text, badLines } = decodeSource(Buffer.concat(parts));
  parts.length = 0;
  const damaged = (value: unknown) => badLines.length > 0 && JSON.stringify(value).includes('\uFFFD');
  const records = recordsOfJson(text);
  for (let i = 0; i < records.length; i++) {
    await emit(
      damaged(records[i]) ? { problems: [`record ${i + 1}: ${notUtf8(badLines[0])}`] } : { record: records[i] },
    );
  }
}

function identity(columns: string[]): CompiledMapping {
  const result = identityMapping(columns);
  if (!result.ok)
    throw ApplicationFailure.nonRetryable(
      `the CSV header is not a list of SCIM paths: ${result.problems.join('; ')}`,
      FailureType.InvalidMapping,
    );
  return result.mapping;
}

/** Where the spec says the source is: `url`, else `path` (which may itself be a URL). */
export function sourceLocationOf(spec: Pick<FileSourceSpec, 'path' | 'url'>): string {
  const location = spec.url ?? spec.path;
  if (typeof location !== 'string' || location === '') {
    throw ApplicationFailure.nonRetryable('the source has neither a url nor a path', FailureType.InvalidSourceUrl);
  }
  return location;
}

/** The stream's bytes, counted and hashed as they pass. */
async function* hashing(
  body: AsyncIterable<Buffer>,
  digest: { hash: ReturnType<typeof createHash>; bytes: number },
): AsyncIterable<Buffer> {
  for await (const part of body) {
    digest.hash.update(part);
    digest.bytes += part.byteLength;
    yield part;
  }
}

/**
 * Reads a source (file, s3:// object or https:// document) once, streaming, and hands each mapped
 * record to `sink` in order. A file changed while it was read fails with SourceChanged; the
 * snapshot returned names the version of the bytes read.
 */
export async function readFileSource(
  spec: FileSourceSpec,
  sink: RecordSink,
  planning?: Planning,
): Promise<SourceSnapshot> {
  const mapping = compiled(spec.mapping);
  let effective = mapping; // a CSV without a mapping: its header, once read
  return readSourceItems(spec, {
    header(columns) {
      if (mapping) checkColumns(mapping, columns);
      effective = mapping ?? identity(columns);
    },
    item: (item, index) => {
      if (!('record' in item)) return sink(item, index);
      // The seed names the record by its line (CSV, NDJSON) or its place in a JSON document.
      const where = item.line === undefined ? `record ${index + 1}` : `line ${item.line}`;
      const mapped = mapRecord(item.record, effective, contextAt(planning, where));
      return sink(item.line === undefined ? mapped : { ...mapped, line: item.line }, index);
    },
  });
}

/**
 * Reads a source's records as they are, before any mapping (readFileSource maps them; `cxone-scim
 * mapping test` shows one record through a mapping).
 */
export async function readSourceItems(
  spec: Pick<FileSourceSpec, 'path' | 'url' | 'authHeaderEnv' | 'format'>,
  sink: SourceItemSink,
): Promise<SourceSnapshot> {
  const location = resolveLocation(sourceLocationOf(spec));
  const format = formatOf(locationPathname(location), spec.format, location.display);
  const canonical = location.kind === 'file' ? location.file : location.kind === 's3' ? location.display : location.url;
  const source = await openSource({ location: canonical, authHeaderEnv: spec.authHeaderEnv });
  const digest = { hash: createHash('sha256'), bytes: 0 };
  const body = hashing(source.body, digest);
  let index = 0;
  let sinkFailure: unknown;
  const emit: Emit = async (item) => {
    try {
      await sink.item(item, index++);
    } catch (err) {
      sinkFailure = err;
      throw err;
    }
  };
  const header = (columns: string[]) => {
    try {
      sink.header?.(columns);
    } catch (err) {
      sinkFailure = err;
      throw err;
    }
  };
  try {
    if (format === 'csv') await readCsv(body, emit, header);
    else if (format === 'json') await readJson(body, emit);
    else await readNdjson(body, emit);
  } catch (err) {
    if (err === sinkFailure || err instanceof ApplicationFailure) throw err;
    await source.settled(); // bytes that stopped parsing because the file changed under the reader: say so
    throw ApplicationFailure.nonRetryable(
      `cannot read ${location.display} as ${format}: ${(err as Error).message}`,
      FailureType.InvalidSource,
    );
  }
  await source.settled();
  return { path: canonical, format, sha256: digest.hash.digest('hex'), version: source.version, bytes: digest.bytes };
}

/** A whole source in memory (syncUsers' planner, which compares it with the provider's users). */
export async function loadFileSource(spec: FileSourceSpec, planning?: Planning): Promise<LoadedSource> {
  const records: MappedRecord[] = [];
  const snapshot = await readFileSource(
    spec,
    (record) => {
      records.push(record);
    },
    planning,
  );
  return { ...snapshot, records };
}
