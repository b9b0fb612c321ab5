// Tokens of Microsoft Entra's attribute-mapping expressions: `Name(`, `[column]`, `"text"`,
// numbers (`7`, `-10`, `&HF7`), `,`, `)` and the comparison operators IIF conditions use.
import type { ExpressionError } from './errors';

export type Token =
  | { kind: 'name'; text: string; position: number }
  | { kind: 'column'; name: string; position: number }
  | { kind: 'string'; value: string; position: number }
  | { kind: 'number'; text: string; position: number }
  | { kind: 'punct'; text: '(' | ')' | ','; position: number }
  | { kind: 'operator'; text: ComparisonOperator; position: number }
  | { kind: 'end'; position: number };

export type ComparisonOperator = '=' | '<>' | '<' | '<=' | '>' | '>=';

export type LexResult = { ok: true; tokens: Token[] } | { ok: false; error: Omit<ExpressionError, 'entry'> };

export function describeToken(token: Token): string {
  switch (token.kind) {
    case 'end':
      return 'the end of the expression';
    case 'name':
      return `"${token.text}"`;
    case 'column':
      return `[${token.name}]`;
    case 'string':
      return `the string ${JSON.stringify(token.value)}`;
    case 'number':
      return `the number ${token.text}`;
    default:
      return `"${token.text}"`;
  }
}

/** Positions are 0-based offsets here; errors report them 1-based. */
export function lex(text: string): LexResult {
  const tokens: Token[] = [];
  const fail = (position: number, expected: string, found: string): LexResult => ({
    ok: false,
    error: { position: position + 1, expected, found },
  });
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i++;
      continue;
    }
    const start = i;
    if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: 'punct', text: c, position: start });
      i++;
    } else if (c === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length)
          return fail(
            i,
            `a closing " for the string that starts at character ${start + 1}`,
            'the end of the expression',
          );
        const d = text[i];
        if (d === '"') break;
        if (d === '\\') {
          const next = text[i + 1];
          if (next !== '\\' && next !== '"')
            return fail(
              i,
              '\\\\ or \\" after a backslash in a string (write a backslash as \\\\)',
              next === undefined ? 'the end of the expression' : `\\${next}`,
            );
          value += next;
          i += 2;
        } else {
          value += d;
          i++;
        }
      }
      i++; // closing quote
      tokens.push({ kind: 'string', value, position: start });
    } else if (c === '[') {
      const close = text.indexOf(']', i + 1);
      const newline = text.slice(i + 1, close === -1 ? text.length : close).search(/[\r\n[]/);
      if (close === -1 || newline !== -1)
        return fail(
          newline !== -1 ? i + 1 + newline : text.length,
          `a closing ] for the column that starts at character ${start + 1}`,
          newline !== -1 ? JSON.stringify(text[i + 1 + newline]) : 'the end of the expression',
        );
      const name = text.slice(i + 1, close);
      if (name.trim() === '') return fail(i + 1, 'a column name between [ and ]', '"]"');
      tokens.push({ kind: 'column', name, position: start });
      i = close + 1;
    } else if (c === '&' && (text[i + 1] === 'H' || text[i + 1] === 'h')) {
      const digits = /^[0-9A-Fa-f]+/.exec(text.slice(i + 2))?.[0];
      if (!digits) return fail(i + 2, 'hexadecimal digits after &H (e.g. &HF7)', describeChar(text, i + 2));
      tokens.push({ kind: 'number', text: text.slice(i, i + 2 + digits.length), position: start });
      i += 2 + digits.length;
    } else if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const literal = /^-?[0-9]+(?:\.[0-9]+)?/.exec(text.slice(i))![0];
      tokens.push({ kind: 'number', text: literal, position: start });
      i += literal.length;
    } else if (/[A-Za-z_]/.test(c)) {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))![0];
      tokens.push({ kind: 'name', text: name, position: start });
      i += name.length;
    } else if (c === '=' || c === '<' || c === '>') {
      const two = text.slice(i, i + 2);
      if (two === '==') return fail(i, '= (one equals sign compares)', '"=="');
      const op: ComparisonOperator = two === '<>' || two === '<=' || two === '>=' ? two : (c as ComparisonOperator);
      tokens.push({ kind: 'operator', text: op, position: start });
      i += op.length;
    } else if (c === '!' && text[i + 1] === '=') {
      return fail(i, '<> (not equal is written <>)', '"!="');
    } else {
      return fail(i, 'a function call, a [column], a "string" or a number', describeChar(text, i));
    }
  }
  tokens.push({ kind: 'end', position: text.length });
  return { ok: true, tokens };
}

function describeChar(text: string, i: number): string {
  return i >= text.length ? 'the end of the expression' : JSON.stringify(text[i]);
}
