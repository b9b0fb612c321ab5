// Scratch files of one activity attempt on the worker's local disk: lines appended through a
// small buffer, read back in order (whole or a byte range) in chunks. What a planner spools here
// instead of holding it keeps its memory bounded whatever the size of the source.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A fresh folder for one attempt's scratch files; `remove` deletes it and all it holds. */
export function scratchFolder(purpose: string): { dir: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cxone-scim-${purpose}-`));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Lines appended to a file (each without its newline), written a buffer at a time. The file is opened
 * for each buffer and closed again, so an attempt that fails midway leaves no descriptor open.
 */
export class LineWriter {
  readonly file: string;
  #pending: string[] = [];
  #pendingChars = 0;
  #written = 0;
  readonly #bufferChars: number;

  constructor(file: string, bufferChars = 1 << 16) {
    this.file = file;
    this.#bufferChars = bufferChars;
  }

  write(line: string): void {
    this.#pending.push(line, '\n');
    this.#pendingChars += line.length + 1;
    if (this.#pendingChars >= this.#bufferChars) this.flush();
  }

  /** Writes what is buffered; returns the file's size in bytes. */
  flush(): number {
    if (this.#pending.length === 0) return this.#written;
    const text = this.#pending.join('');
    fs.appendFileSync(this.file, text);
    this.#written += Buffer.byteLength(text);
    this.#pending = [];
    this.#pendingChars = 0;
    return this.#written;
  }

  /** Writes what is buffered (a later write appends again); returns the file's size in bytes. */
  close(): number {
    return this.flush();
  }
}

/**
 * The lines of `file` (or of bytes [start, end) of it), in order, read `chunkBytes` at a time.
 * A newline byte never occurs inside a UTF-8 sequence, so each line is decoded whole.
 */
export function* linesOf(
  file: string | { fd: number },
  start = 0,
  end = Number.POSITIVE_INFINITY,
  chunkBytes = 1 << 16,
): Generator<string> {
  if (typeof file === 'string' && !fs.existsSync(file)) return;
  // A descriptor given stays open: several readers of one file share it (positional reads).
  const fd = typeof file === 'string' ? fs.openSync(file, 'r') : file.fd;
  try {
    const chunk = Buffer.allocUnsafe(chunkBytes);
    let rest = Buffer.alloc(0);
    for (let position = start; position < end; ) {
      const read = fs.readSync(fd, chunk, 0, Math.min(chunkBytes, end - position), position);
      if (read === 0) break;
      position += read;
      const bytes = rest.length > 0 ? Buffer.concat([rest, chunk.subarray(0, read)]) : chunk.subarray(0, read);
      let from = 0;
      for (let nl = bytes.indexOf(10, from); nl !== -1; nl = bytes.indexOf(10, from)) {
        yield bytes.toString('utf8', from, nl);
        from = nl + 1;
      }
      rest = Buffer.from(bytes.subarray(from));
    }
    if (rest.length > 0) yield rest.toString('utf8');
  } finally {
    if (typeof file === 'string') fs.closeSync(fd);
  }
}

/**
 * Lines in K partitions, kept in memory up to a budget and beyond it spilled, a batch at a time, to
 * one file (each partition's lines in segments of it). A partition is read once, and then forgotten.
 */
export class PartitionSpool {
  readonly file: string;
  readonly #pending: Array<string[] | undefined>;
  readonly #segments: Array<Array<[start: number, bytes: number]> | undefined>;
  readonly #budgetChars: number;
  #pendingChars = 0;
  #fd: number | undefined;
  #size = 0;

  constructor(dir: string, name: string, partitions: number, budgetChars = 1 << 21) {
    this.file = path.join(dir, name);
    this.#pending = new Array(partitions);
    this.#segments = new Array(partitions);
    this.#budgetChars = budgetChars;
  }

  add(partition: number, line: string): void {
    let lines = this.#pending[partition];
    if (!lines) {
      lines = [];
      this.#pending[partition] = lines;
    }
    lines.push(line);
    this.#pendingChars += line.length + 1;
    if (this.#pendingChars >= this.#budgetChars) this.#spill();
  }

  /** Writes every partition's pending lines to the file, one segment each. */
  #spill(): void {
    this.#fd ??= fs.openSync(this.file, 'w+');
    for (const [partition, lines] of this.#pending.entries()) {
      if (!lines) continue;
      const bytes = fs.writeSync(this.#fd, `${lines.join('\n')}\n`, this.#size);
      let segments = this.#segments[partition];
      if (!segments) {
        segments = [];
        this.#segments[partition] = segments;
      }
      segments.push([this.#size, bytes]);
      this.#size += bytes;
      this.#pending[partition] = undefined;
    }
    this.#pendingChars = 0;
  }

  /** The lines of one partition, in the order added; the spool forgets them. */
  take(partition: number): string[] {
    const lines: string[] = [];
    for (const [start, bytes] of this.#segments[partition] ?? []) {
      const buffer = Buffer.allocUnsafe(bytes);
      fs.readSync(this.#fd as number, buffer, 0, bytes, start);
      for (const line of buffer.toString('utf8', 0, bytes - 1).split('\n')) lines.push(line);
    }
    this.#segments[partition] = undefined;
    const pending = this.#pending[partition] ?? [];
    for (const line of pending) {
      lines.push(line);
      this.#pendingChars -= line.length + 1;
    }
    this.#pending[partition] = undefined;
    return lines;
  }

  close(): void {
    if (this.#fd !== undefined) fs.closeSync(this.#fd);
    this.#fd = undefined;
  }
}
