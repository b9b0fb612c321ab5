// Reads the users of a provisioning run from a file, an s3:// object or an https:// document (CSV, JSON, NDJSON) and
// maps each record to a SCIM User. The planning activity and every chunk activity read the file
// through here; a small per-process cache keeps a 100 000-row file from being parsed once per
// chunk, and the SHA-256 recorded at planning time detects a file changed during the run.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { canonicalJson } from '../scim/canonical';
import { FailureType } from '../scim/failures';
import { applyMapping, compileMapping, identityMapping, type CompiledMapping } from '../scim/mapping';
import { parseCsvText } from './csv-source';
import { fetchSource, resolveLocation } from './source-store';
import { badLineWithin, decodeSource, notUtf8 } from './source-text';
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
  /** Attribute mapping (see src/scim/mapping.ts). Without one: CSV headers are SCIM paths, JSON records are SCIM Users. */
  mapping?: unknown;
}

/** A source record after mapping: a User, or why there is none; `line` where the record starts (CSV, NDJSON). */
export type MappedRecord = ({ user: Record<string, unknown> } | { problems: string[] }) & { line?: number };

export interface LoadedSource {
  /** Where it was read: an absolute path, s3://bucket/key or the https:// URL (what chunk activities load again). */
  path: string;
  format: SourceFormat;
  sha256: string;
  /** The store's version of those bytes (S3 version id or ETag, HTTP ETag, file size and mtime). */
  version: string;
  bytes: number;
  records: MappedRecord[];
}

export function formatOf(file: string, explicit?: string, display = file): SourceFormat {
  if (explicit === 'csv' || explicit === 'json' || explicit === 'ndjson') return explicit;
  if (explicit !== undefined) {
    throw ApplicationFailure.nonRetryable(`unknown source format "${explicit}" (csv, json or ndjson)`, FailureType.InvalidSource);
  }
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.ndjson' || ext === '.jsonl') return 'ndjson';
  if (ext === '.json') return 'json';
  throw ApplicationFailure.nonRetryable(`cannot tell the format of ${display} from its extension: give format csv, json or ndjson`, FailureType.InvalidSource);
}

function compiled(document: unknown): CompiledMapping | undefined {
  if (document === undefined || document === null) return undefined;
  const result = compileMapping(document);
  if (!result.ok) throw ApplicationFailure.nonRetryable(`the attribute mapping is invalid: ${result.problems.join('; ')}`, FailureType.InvalidMapping);
  return result.mapping;
}

/** Maps plain records (JSON objects, CSV rows); JSON records without a mapping are taken as SCIM Users. */
export function mapRecords(raw: unknown[], mapping: CompiledMapping | undefined): MappedRecord[] {
  return raw.map((record): MappedRecord => {
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      return { problems: ['$: a record must be a JSON object'] };
    }
    if (!mapping) return { user: record as Record<string, unknown> };
    const mapped = applyMapping(mapping, record as Record<string, unknown>);
    return mapped.ok ? { user: mapped.user } : { problems: mapped.problems };
  });
}

function parseJson(text: string): unknown[] {
  const document: unknown = JSON.parse(text);
  if (Array.isArray(document)) return document;
  const container = document as { Resources?: unknown; users?: unknown } | null;
  if (Array.isArray(container?.Resources)) return container.Resources; // a SCIM ListResponse export
  if (Array.isArray(container?.users)) return container.users;
  throw new Error('expected an array of users, a ListResponse ({"Resources": […]}) or {"users": […]}');
}

/** One record per non-empty line; a line that is not JSON (or not UTF-8) becomes an invalid record, not a failed run. */
function readNdjson(text: string, badLines: number[], mapping: CompiledMapping | undefined): MappedRecord[] {
  const records: MappedRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const content = lines[i].trim();
    const line = i + 1;
    if (content === '') continue;
    if (badLines.includes(line)) {
      records.push({ problems: [notUtf8(line)], line });
      continue;
    }
    let record: unknown;
    try {
      record = JSON.parse(content);
    } catch (err) {
      records.push({ problems: [`line ${line}: not JSON (${(err as Error).message})`], line });
      continue;
    }
    records.push({ ...mapRecords([record], mapping)[0], line });
  }
  return records;
}

function readCsv(text: string, badLines: number[], mapping: CompiledMapping | undefined): MappedRecord[] {
  const { columns, rows } = parseCsvText(text);
  if (columns.length === 0) throw new Error('the file is empty: a CSV source starts with a header row');
  const effective = mapping ?? identity(columns);
  if (mapping) checkColumns(mapping, columns);
  return rows.map((row): MappedRecord => {
    const bad = badLineWithin(badLines, row.line, row.endLine);
    if (bad !== undefined) return { problems: [notUtf8(bad)], line: row.line };
    if ('problem' in row) return { problems: [`line ${row.line}: ${row.problem}`], line: row.line };
    return { ...mapRecords([row.values], effective)[0], line: row.line };
  });
}

/** A mapping that reads a column the header lacks would fail every record with a misleading reason: one clear error instead. */
function checkColumns(mapping: CompiledMapping, columns: string[]): void {
  const missing: string[] = [];
  for (const rule of mapping.rules) {
    if (rule.source === undefined) continue;
    for (const field of Array.isArray(rule.source) ? rule.source : [rule.source]) {
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

/** JSON is one document, so bytes that are not UTF-8 are pinned on the records whose values they damaged. */
function readJson(text: string, badLines: number[], mapping: CompiledMapping | undefined): MappedRecord[] {
  const damaged = (value: unknown) => badLines.length > 0 && JSON.stringify(value).includes('\uFFFD');
  return parseJson(text).map((record, i) =>
    damaged(record) ? { problems: [`record ${i + 1}: ${notUtf8(badLines[0])}`] } : mapRecords([record], mapping)[0],
  );
}

async function readAndMap(display: string, format: SourceFormat, mappingDocument: unknown, content: Buffer): Promise<MappedRecord[]> {
  const mapping = compiled(mappingDocument);
  try {
    const { text, badLines } = decodeSource(content);
    if (format === 'csv') return readCsv(text, badLines, mapping);
    if (format === 'json') return readJson(text, badLines, mapping);
    return readNdjson(text, badLines, mapping);
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err;
    throw ApplicationFailure.nonRetryable(`cannot read ${display} as ${format}: ${(err as Error).message}`, FailureType.InvalidSource);
  }
}

function identity(columns: string[]): CompiledMapping {
  const result = identityMapping(columns);
  if (!result.ok) throw ApplicationFailure.nonRetryable(`the CSV header is not a list of SCIM paths: ${result.problems.join('; ')}`, FailureType.InvalidMapping);
  return result.mapping;
}

interface CacheEntry {
  key: string;
  /** The store's version of the bytes parsed (S3 version id / ETag, HTTP ETag, file size and mtime). */
  version: string;
  loaded: LoadedSource;
}

/** The last few sources read by this worker process (a run's chunks all read the same source). */
const cache: CacheEntry[] = [];
const CACHE_ENTRIES = 2;
const inFlight = new Map<string, Promise<LoadedSource>>();

/** Where the spec says the source is: `url`, else `path` (which may itself be a URL). */
export function sourceLocationOf(spec: Pick<FileSourceSpec, 'path' | 'url'>): string {
  const location = spec.url ?? spec.path;
  if (typeof location !== 'string' || location === '') {
    throw ApplicationFailure.nonRetryable('the source has neither a url nor a path', FailureType.InvalidSourceUrl);
  }
  return location;
}

/**
 * Reads, parses and maps a source (file, s3:// object or https:// document). Served from the
 * cache while the store reports the same version (or the bytes have the same SHA-256); the
 * returned sha256 is that of the bytes actually parsed, so a chunk activity that compares it with
 * the one recorded at planning time detects an object replaced during the run.
 */
export async function loadFileSource(spec: FileSourceSpec): Promise<LoadedSource> {
  const location = resolveLocation(sourceLocationOf(spec));
  const format = formatOf(locationPathname(location), spec.format, location.display);
  const canonical = location.kind === 'file' ? location.file : location.kind === 's3' ? location.display : location.url;
  const key = canonicalJson([canonical, format, spec.mapping ?? null]);
  const pending = inFlight.get(key);
  if (pending) return pending;
  const loading = (async () => {
    const cached = cache.find((e) => e.key === key);
    const fetched = await fetchSource({ location: canonical, authHeaderEnv: spec.authHeaderEnv }, cached?.version);
    if (fetched.unchanged && cached) return cached.loaded;
    if (fetched.unchanged) throw new Error(`the store reported ${location.display} unchanged without a cached copy`);
    const sha256 = createHash('sha256').update(fetched.content).digest('hex');
    const loaded: LoadedSource =
      cached && cached.loaded.sha256 === sha256
        ? cached.loaded
        : {
            path: canonical,
            format,
            sha256,
            version: fetched.version,
            bytes: fetched.content.byteLength,
            records: await readAndMap(location.display, format, spec.mapping, fetched.content),
          };
    const existing = cache.findIndex((e) => e.key === key);
    if (existing !== -1) cache.splice(existing, 1);
    cache.unshift({ key, version: fetched.version, loaded });
    cache.length = Math.min(cache.length, CACHE_ENTRIES);
    return loaded;
  })();
  inFlight.set(key, loading);
  try {
    return await loading;
  } finally {
    inFlight.delete(key);
  }
}
