// CSV reading, line by line as a source streams in, that treats a malformed row as that row's
// problem, like a non-JSON line in NDJSON: the row is reported with the line it starts on, and
// every other row goes on. csv-parse stops at the first error (an unterminated quote even reads
// to the end of the file), so after an error a new parser resumes at the next line, fed again with
// the lines the failed one had not settled; only the lines since the last complete row are kept.
import { Parser } from 'csv-parse';
import { isRefusedKey, refusedKeyMessage } from '../../core/json';

/** A data row (the header excluded) as column → value, or why it could not be read. */
export type CsvRow =
  | { line: number; endLine: number; values: Record<string, string> }
  | { line: number; endLine: number; problem: string };

export interface ParsedCsv {
  columns: string[];
  rows: CsvRow[];
}

/** A line of the source: its text, and whether a line break ended it (the last line may have none). */
export interface CsvLine {
  text: string;
  terminated: boolean;
}

/** Past this many malformed rows the file is not the CSV it claims to be (and resuming would get slow). */
export const MAX_MALFORMED_ROWS = 1000;

type RawRecord =
  | { line: number; endLine: number; fields: string[] }
  | { line: number; endLine: number; problem: string };

interface CsvErrorLike {
  code?: string;
  lines?: number;
  message: string;
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

/**
 * Rows from CSV lines fed in order (`write`, then `end`). The first record is the header; each
 * call returns the data rows it completed.
 */
export class CsvReader {
  /** The header's column names, once read. */
  columns: string[] | undefined;
  /** Lines (with their line break) not yet part of a settled record, from line `pendingFrom`. */
  private pending: string[] = [];
  private pendingFrom = 1;
  /** How many of `pending` the current parser was given. */
  private fed = 0;
  private parser!: Parser;
  /** The absolute line number of the current parser's first line. */
  private parserFrom = 1;
  private parsed: RawRecord[] = [];
  private malformed = 0;

  constructor() {
    this.startParser(1);
  }

  async write(lines: readonly CsvLine[]): Promise<CsvRow[]> {
    for (const line of lines) this.pending.push(line.terminated ? `${line.text}\n` : line.text);
    return this.feed(false);
  }

  async end(): Promise<CsvRow[]> {
    const rows = await this.feed(true);
    this.columns ??= [];
    return rows;
  }

  private startParser(from: number): void {
    const offset = from - 1;
    this.parserFrom = from;
    this.fed = 0;
    this.parser = new Parser({
      bom: from === 1,
      relax_column_count: true,
      skip_empty_lines: true,
      raw: true,
      info: true,
      // With `raw` and `info`, csv-parse hands on_record the record with its raw text and position;
      // returning nothing keeps it out of the stream's buffer (it is collected here).
      on_record: ((entry: { record: string[]; raw: string; info: { lines: number } }) => {
        // `lines` counts to the record's last line; its raw text (empty lines before it removed) gives the first.
        const body = entry.raw.replace(/^(?:\r?\n)+/, '').replace(/\r?\n$/, '');
        const endLine = offset + entry.info.lines;
        const inner = (body.match(/\n/g) ?? []).length;
        this.parsed.push({ line: endLine - inner, endLine, fields: entry.record });
        return undefined;
      }) as unknown as (record: string[]) => string[],
    });
    this.parser.on('error', () => undefined); // reported through the write and end callbacks
  }

  /** Gives the parser the lines it has not seen; after an error, resumes past the bad record. */
  private async feed(ending: boolean): Promise<CsvRow[]> {
    for (;;) {
      let error: CsvErrorLike | undefined;
      if (this.fed < this.pending.length) {
        const text = this.pending.slice(this.fed).join('');
        this.fed = this.pending.length;
        error = await new Promise<CsvErrorLike | undefined>((resolve) =>
          this.parser.write(text, (err) => resolve(err ?? undefined)),
        );
      }
      if (!error && ending)
        error = await new Promise<CsvErrorLike | undefined>((resolve) =>
          this.parser.end((err?: Error | null) => resolve(err ?? undefined)).once('error', resolve),
        );
      this.settle();
      if (!error) return this.rows();
      this.resume(error);
    }
  }

  /** Lines up to the last record parsed are done with. */
  private settle(): void {
    const last = this.parsed[this.parsed.length - 1];
    if (!last || last.endLine < this.pendingFrom) return;
    const done = last.endLine - this.pendingFrom + 1;
    this.pending.splice(0, done);
    this.pendingFrom += done;
    this.fed = Math.max(0, this.fed - done);
  }

  /**
   * The bad record is the one starting at the first non-blank line after the last good one. Only
   * that line is given up: the lines after it are read again as records (an unterminated quote is
   * only detected at the end of the file).
   */
  private resume(error: CsvErrorLike): void {
    const skip = this.pending.findIndex((text) => text.trim() !== '');
    if (skip === -1) {
      this.pendingFrom += this.pending.length;
      this.pending = [];
      this.startParser(this.pendingFrom);
      return;
    }
    const start = this.pendingFrom + skip;
    const detected = (error.lines ?? 0) + this.parserFrom - 1;
    const problem =
      error.code === 'CSV_INVALID_CLOSING_QUOTE' && detected > start
        ? `a quoted field opens here and runs on to line ${detected}, where its closing quote is followed by other characters (an unbalanced quote?)`
        : describe(error);
    this.parsed.push({ line: start, endLine: start, problem });
    if (++this.malformed > MAX_MALFORMED_ROWS) {
      throw new Error(
        `more than ${MAX_MALFORMED_ROWS} malformed rows (the last at line ${start}): is this a comma-separated file with a header row?`,
      );
    }
    this.pending.splice(0, skip + 1);
    this.pendingFrom = start + 1;
    this.startParser(this.pendingFrom);
  }

  /** The records parsed so far as rows; the first one is the header. */
  private rows(): CsvRow[] {
    const records = this.parsed;
    this.parsed = [];
    if (this.columns === undefined && records.length > 0) {
      const header = records.shift() as RawRecord;
      if (!('fields' in header)) throw new Error(`line ${header.line}: the header row is malformed: ${header.problem}`);
      this.columns = header.fields.map((h) => h.trim());
      // Each row becomes an object keyed by these names: a refused one would be in every record.
      const refused = this.columns.findIndex(isRefusedKey);
      if (refused !== -1) {
        const name = this.columns[refused];
        throw new Error(`line ${header.line}: column ${refused + 1} of the header: ${refusedKeyMessage(name)}`);
      }
    }
    const columns = this.columns ?? [];
    return records.map((record): CsvRow => {
      if (!('fields' in record)) return record;
      const { line, endLine, fields } = record;
      if (fields.length !== columns.length) {
        const hint = fields.length > columns.length ? ' (an unquoted comma in a value?)' : '';
        return { line, endLine, problem: `${fields.length} fields, but the header has ${columns.length}${hint}` };
      }
      return { line, endLine, values: Object.fromEntries(columns.map((column, i) => [column, fields[i]])) };
    });
  }
}

/** A whole CSV text at once (small files: group sources). */
export async function parseCsvText(text: string): Promise<ParsedCsv> {
  const reader = new CsvReader();
  const parts = text.split('\n');
  const rows = await reader.write(parts.map((part, i) => ({ text: part, terminated: i < parts.length - 1 })));
  rows.push(...(await reader.end()));
  return { columns: reader.columns ?? [], rows };
}
