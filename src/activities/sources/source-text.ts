// Source files are UTF-8. Decoding leniently would turn other bytes into U+FFFD and send the
// damaged values to the provider; decoding strictly would fail the whole run for one bad row.
// So the text is decoded leniently and the lines whose bytes are not UTF-8 are remembered:
// the records on those lines are reported as invalid, the others go on. Streamed sources are
// split into lines as they arrive (`sourceLines`), each checked on its own.
import { isUtf8 } from 'node:buffer';

export interface SourceText {
  text: string;
  /** 1-based numbers of the lines that are not valid UTF-8 (ascending). */
  badLines: number[];
}

const strict = new TextDecoder('utf-8', { fatal: true });

function refuseUtf16(start: Buffer): void {
  if ((start[0] === 0xff && start[1] === 0xfe) || (start[0] === 0xfe && start[1] === 0xff)) {
    throw new Error('the file is UTF-16 (it starts with a UTF-16 byte order mark): save it as UTF-8');
  }
}

export function decodeSource(content: Buffer): SourceText {
  refuseUtf16(content);
  const text = content.toString('utf8');
  try {
    strict.decode(content);
    return { text, badLines: [] };
  } catch {
    // Some bytes are not UTF-8: find the lines they are on.
  }
  const badLines: number[] = [];
  let line = 1;
  let start = 0;
  for (let i = 0; i <= content.length; i++) {
    if (i < content.length && content[i] !== 0x0a) continue;
    try {
      strict.decode(content.subarray(start, i));
    } catch {
      badLines.push(line);
    }
    line++;
    start = i + 1;
  }
  return { text, badLines };
}

/** The first line in [from, to] that is not UTF-8, if any. */
export function badLineWithin(badLines: readonly number[], from: number, to: number): number | undefined {
  return badLines.find((line) => line >= from && line <= to);
}

export function notUtf8(line: number): string {
  return `line ${line}: not valid UTF-8 (save the file as UTF-8; the bytes would reach the provider as U+FFFD)`;
}

/** A line of a streamed source: its number, text (without the line break) and whether its bytes are UTF-8. */
export interface SourceLine {
  line: number;
  text: string;
  utf8: boolean;
  /** False for a last line that no line break ends. */
  terminated: boolean;
}

/** The lines of a byte stream, in blocks as they complete (a last line without a line break comes at the end). */
export async function* sourceLines(body: AsyncIterable<Buffer>): AsyncGenerator<SourceLine[]> {
  let partial: Buffer[] = [];
  let next = 1;
  let checked = false;
  const block = (bytes: Buffer, terminated: boolean): SourceLine[] => {
    if (!checked) refuseUtf16(bytes);
    checked = true;
    const out: SourceLine[] = [];
    if (isUtf8(bytes)) {
      for (const text of bytes.toString('utf8').split('\n'))
        out.push({ line: next++, text, utf8: true, terminated: true });
    } else {
      let start = 0;
      for (let i = 0; i <= bytes.length; i++) {
        if (i < bytes.length && bytes[i] !== 0x0a) continue;
        const part = bytes.subarray(start, i);
        out.push({ line: next++, text: part.toString('utf8'), utf8: isUtf8(part), terminated: true });
        start = i + 1;
      }
    }
    out[out.length - 1].terminated = terminated;
    return out;
  };
  for await (const chunk of body) {
    if (!checked && partial.length === 0 && chunk.length >= 2) {
      refuseUtf16(chunk);
      checked = true;
    }
    const cut = chunk.lastIndexOf(0x0a);
    if (cut === -1) {
      partial.push(chunk);
      continue;
    }
    yield block(Buffer.concat([...partial, chunk.subarray(0, cut)]), true);
    partial = [chunk.subarray(cut + 1)];
  }
  const rest = Buffer.concat(partial);
  if (rest.length > 0) yield block(rest, false);
}
