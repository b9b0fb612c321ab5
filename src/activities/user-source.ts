// Reads the users of a provisioning run from a file the worker can read (CSV, JSON, NDJSON) and
// maps each record to a SCIM User. The planning activity and every chunk activity read the file
// through here; a small per-process cache keeps a 100 000-row file from being parsed once per
// chunk, and the SHA-256 recorded at planning time detects a file changed during the run.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { parse } from 'csv-parse';
import { canonicalJson } from '../scim/canonical';
import { FailureType } from '../scim/failures';
import { applyMapping, compileMapping, identityMapping, type CompiledMapping } from '../scim/mapping';

export type SourceFormat = 'csv' | 'json' | 'ndjson';

export interface FileSourceSpec {
  /** Path on the worker's file system (absolute, or relative to the worker's working directory). */
  path: string;
  /** Default: from the file extension (.csv, .json, .ndjson/.jsonl). */
  format?: SourceFormat;
  /** Attribute mapping (see src/scim/mapping.ts). Without one: CSV headers are SCIM paths, JSON records are SCIM Users. */
  mapping?: unknown;
}

/** A source record after mapping: a User, or why there is none. */
export type MappedRecord = { user: Record<string, unknown> } | { problems: string[] };

export interface LoadedSource {
  path: string;
  format: SourceFormat;
  sha256: string;
  bytes: number;
  records: MappedRecord[];
}

export function formatOf(file: string, explicit?: string): SourceFormat {
  if (explicit === 'csv' || explicit === 'json' || explicit === 'ndjson') return explicit;
  if (explicit !== undefined) {
    throw ApplicationFailure.nonRetryable(`unknown source format "${explicit}" (csv, json or ndjson)`, FailureType.InvalidSource);
  }
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.ndjson' || ext === '.jsonl') return 'ndjson';
  if (ext === '.json') return 'json';
  throw ApplicationFailure.nonRetryable(`cannot tell the format of ${file} from its extension: give format csv, json or ndjson`, FailureType.InvalidSource);
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

async function parseCsv(text: string): Promise<{ columns: string[]; rows: Record<string, string>[] }> {
  return new Promise((resolve, reject) => {
    let columns: string[] = [];
    parse(
      text,
      {
        bom: true,
        skip_empty_lines: true,
        columns: (header: string[]) => (columns = header.map((h) => h.trim())),
      },
      (err, rows: Record<string, string>[]) => (err ? reject(err) : resolve({ columns, rows })),
    );
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

/** One record per non-empty line; a line that is not JSON becomes an invalid record, not a failed run. */
function parseNdjson(text: string): unknown[] {
  const records: unknown[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    try {
      records.push(JSON.parse(line));
    } catch (err) {
      records.push(new UnparsableLine(i + 1, (err as Error).message));
    }
  }
  return records;
}

class UnparsableLine {
  constructor(
    readonly line: number,
    readonly message: string,
  ) {}
}

async function readAndMap(spec: FileSourceSpec, format: SourceFormat, content: Buffer): Promise<MappedRecord[]> {
  const text = content.toString('utf8');
  const mapping = compiled(spec.mapping);
  try {
    if (format === 'csv') {
      const { columns, rows } = await parseCsv(text);
      const effective = mapping ?? identity(columns);
      return mapRecords(rows, effective);
    }
    if (format === 'json') return mapRecords(parseJson(text), mapping);
    return parseNdjson(text).map((record) =>
      record instanceof UnparsableLine
        ? { problems: [`line ${record.line}: not JSON (${record.message})`] }
        : mapRecords([record], mapping)[0],
    );
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err;
    throw ApplicationFailure.nonRetryable(`cannot read ${spec.path} as ${format}: ${(err as Error).message}`, FailureType.InvalidSource);
  }
}

function identity(columns: string[]): CompiledMapping {
  const result = identityMapping(columns);
  if (!result.ok) throw ApplicationFailure.nonRetryable(`the CSV header is not a list of SCIM paths: ${result.problems.join('; ')}`, FailureType.InvalidMapping);
  return result.mapping;
}

interface CacheEntry {
  key: string;
  size: number;
  mtimeMs: number;
  loaded: LoadedSource;
}

/** The last few sources read by this worker process (a run's chunks all read the same file). */
const cache: CacheEntry[] = [];
const CACHE_ENTRIES = 2;
const inFlight = new Map<string, Promise<LoadedSource>>();

/**
 * Reads, parses and maps a file source. Served from the cache while the file's size and mtime
 * are unchanged; the returned sha256 is that of the bytes actually parsed.
 */
export async function loadFileSource(spec: FileSourceSpec): Promise<LoadedSource> {
  const format = formatOf(spec.path, spec.format);
  const file = path.resolve(spec.path);
  const key = canonicalJson([file, format, spec.mapping ?? null]);
  let stat;
  try {
    stat = await fs.stat(file);
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`cannot read the source file ${file}: ${(err as Error).message}`, FailureType.SourceUnreadable);
  }
  const hit = cache.find((e) => e.key === key && e.size === stat.size && e.mtimeMs === stat.mtimeMs);
  if (hit) return hit.loaded;
  const pending = inFlight.get(key);
  if (pending) return pending;
  const loading = (async () => {
    const content = await fs.readFile(file);
    const loaded: LoadedSource = {
      path: file,
      format,
      sha256: createHash('sha256').update(content).digest('hex'),
      bytes: content.byteLength,
      records: await readAndMap(spec, format, content),
    };
    const existing = cache.findIndex((e) => e.key === key);
    if (existing !== -1) cache.splice(existing, 1);
    cache.unshift({ key, size: stat.size, mtimeMs: stat.mtimeMs, loaded });
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
