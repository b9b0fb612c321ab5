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

/** Lines appended to a file (each without its newline), written a buffer at a time. */
export class LineWriter {
  readonly file: string;
  #fd: number | undefined;
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
    this.#fd ??= fs.openSync(this.file, 'a');
    this.#written += fs.writeSync(this.#fd, this.#pending.join(''));
    this.#pending = [];
    this.#pendingChars = 0;
    return this.#written;
  }

  /** Flushes and closes the file (a later write opens it again); returns its size in bytes. */
  close(): number {
    const size = this.flush();
    if (this.#fd !== undefined) fs.closeSync(this.#fd);
    this.#fd = undefined;
    return size;
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

/** Lines in K partition files (named `name-k`), each opened when first written to. */
export class PartitionFiles {
  readonly #writers = new Map<number, LineWriter>();
  readonly #dir: string;
  readonly #name: string;

  constructor(dir: string, name: string) {
    this.#dir = dir;
    this.#name = name;
  }

  add(partition: number, line: string): void {
    let writer = this.#writers.get(partition);
    if (!writer) {
      // Small buffers: a few hundred partitions may be filling at once.
      writer = new LineWriter(path.join(this.#dir, `${this.#name}-${partition}`), 1 << 14);
      this.#writers.set(partition, writer);
    }
    writer.write(line);
  }

  /** The lines of one partition, in the order written (its file closed first). */
  lines(partition: number): string[] {
    const writer = this.#writers.get(partition);
    if (!writer) return [];
    writer.close();
    const text = fs.readFileSync(writer.file, 'utf8');
    return text === '' ? [] : text.slice(0, -1).split('\n');
  }

  close(): void {
    for (const writer of this.#writers.values()) writer.close();
  }
}
