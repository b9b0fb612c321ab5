// CSV reading that treats a malformed row as that row's problem, like a non-JSON line in NDJSON:
// the row is reported with the line it starts on, and every other row goes on. csv-parse stops
// at the first error (an unterminated quote even reads to the end of the file), so after an
// error parsing resumes at the next line and the rows parsed so far are kept.
import { parse } from 'csv-parse/sync';

/** A data row (the header excluded) as column → value, or why it could not be read. */
export type CsvRow = { line: number; endLine: number; values: Record<string, string> } | { line: number; endLine: number; problem: string };

export interface ParsedCsv {
  columns: string[];
  rows: CsvRow[];
}

/** Past this many malformed rows the file is not the CSV it claims to be (and resuming would get slow). */
export const MAX_MALFORMED_ROWS = 1000;

interface RawRecord {
  line: number;
  endLine: number;
  fields: string[];
}

interface CsvErrorLike {
  code?: string;
  lines?: number;
  message: string;
}

/** Parses from `fromLine` (1-based, absolute); returns the records read before the first error, and that error. */
function parseFrom(lines: string[], fromLine: number): { records: RawRecord[]; error?: CsvErrorLike } {
  const records: RawRecord[] = [];
  const text = lines.slice(fromLine - 1).join('\n');
  const offset = fromLine - 1;
  try {
    parse(text, {
      bom: fromLine === 1,
      relax_column_count: true,
      skip_empty_lines: true,
      raw: true,
      info: true,
      // With `raw` and `info`, csv-parse hands on_record the record with its raw text and position.
      on_record: ((entry: { record: string[]; raw: string; info: { lines: number } }) => {
        // `lines` counts to the record's last line; its raw text (empty lines before it removed) gives the first.
        const body = entry.raw.replace(/^(?:\r?\n)+/, '').replace(/\r?\n$/, '');
        const endLine = offset + entry.info.lines;
        const inner = (body.match(/\n/g) ?? []).length;
        records.push({ line: endLine - inner, endLine, fields: entry.record });
        return entry.record;
      }) as unknown as (record: string[]) => string[],
    });
    return { records };
  } catch (err) {
    return { records, error: err as CsvErrorLike };
  }
}

/** The first non-blank line at or after `from`. */
function nextContentLine(lines: string[], from: number): number {
  let line = from;
  while (line <= lines.length && lines[line - 1].trim() === '') line++;
  return line;
}

function describe(error: CsvErrorLike): string {
  switch (error.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'a quoted field opens here and is never closed (unterminated quote)';
    case 'CSV_INVALID_CLOSING_QUOTE':
      return 'a quoted field is followed by other characters before the next delimiter (a stray quote)';
    case 'INVALID_OPENING_QUOTE':
      return 'a quote inside an unquoted field (quote the whole field and double the quote: "say ""hi""")';
    default:
      return error.message.replace(/\s*at line \d+\.?$/, '');
  }
}

export function parseCsvText(text: string): ParsedCsv {
  const lines = text.split('\n');
  const records: Array<RawRecord | { line: number; endLine: number; problem: string }> = [];
  let from = 1;
  let malformed = 0;
  for (;;) {
    const { records: parsed, error } = parseFrom(lines, from);
    records.push(...parsed);
    if (!error) break;
    const last = parsed.length > 0 ? parsed[parsed.length - 1].endLine : from - 1;
    const start = nextContentLine(lines, last + 1);
    if (start > lines.length) break;
    // The bad record is the one starting at `start`. Only that line is given up: the lines after
    // it are read again as records (an unterminated quote is only detected at the end of the file).
    const detected = (error.lines ?? 0) + from - 1;
    const problem =
      error.code === 'CSV_INVALID_CLOSING_QUOTE' && detected > start
        ? `a quoted field opens here and runs on to line ${detected}, where its closing quote is followed by other characters (an unbalanced quote?)`
        : describe(error);
    records.push({ line: start, endLine: start, problem });
    if (++malformed > MAX_MALFORMED_ROWS) {
      throw new Error(`more than ${MAX_MALFORMED_ROWS} malformed rows (the last at line ${start}): is this a comma-separated file with a header row?`);
    }
    from = start + 1;
  }
  const header = records.shift();
  if (!header) return { columns: [], rows: [] };
  if (!('fields' in header)) throw new Error(`line ${header.line}: the header row is malformed: ${header.problem}`);
  const columns = header.fields.map((h) => h.trim());
  const rows = records.map((record): CsvRow => {
    if (!('fields' in record)) return record;
    const { line, endLine, fields } = record;
    if (fields.length !== columns.length) {
      const hint = fields.length > columns.length ? ' (an unquoted comma in a value?)' : '';
      return { line, endLine, problem: `${fields.length} fields, but the header has ${columns.length}${hint}` };
    }
    return { line, endLine, values: Object.fromEntries(columns.map((column, i) => [column, fields[i]])) };
  });
  return { columns, rows };
}
