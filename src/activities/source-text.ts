// Source files are UTF-8. Decoding leniently would turn other bytes into U+FFFD and send the
// damaged values to the provider; decoding strictly would fail the whole run for one bad row.
// So the text is decoded leniently and the lines whose bytes are not UTF-8 are remembered:
// the records on those lines are reported as invalid, the others go on.

export interface SourceText {
  text: string;
  /** 1-based numbers of the lines that are not valid UTF-8 (ascending). */
  badLines: number[];
}

const strict = new TextDecoder('utf-8', { fatal: true });

export function decodeSource(content: Buffer): SourceText {
  if ((content[0] === 0xff && content[1] === 0xfe) || (content[0] === 0xfe && content[1] === 0xff)) {
    throw new Error('the file is UTF-16 (it starts with a UTF-16 byte order mark): save it as UTF-8');
  }
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
