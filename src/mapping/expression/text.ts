// String work behind the functions, as .NET does it: invariant casing, TextInfo.ToTitleCase's
// word rules, Encoding.Unicode base64, UTF-8 hex, .NET regular expressions and their `${name}`
// substitutions, and Microsoft's published NormalizeDiacritics table. Pure: no Buffer, no I/O.

// ---------------------------------------------------------------------------------------------
// NormalizeDiacritics: exactly the table in Microsoft's reference (characters outside it stay).

const DIACRITICS: Array<[string, string]> = [
  ['ä, à, â, ã, å, á, ą, ă, ā, ā́, ā̀, ā̂, ā̃, ǟ, ā̈, ǡ, a̱, å̄', 'a'],
  ['Ä, À, Â, Ã, Å, Á, Ą, Ă, Ā, Ā́, Ā̀, Ā̂, Ā̃, Ǟ, Ā̈, Ǡ, A̱, Å̄', 'A'],
  ['æ, ǣ', 'ae'],
  ['Æ, Ǣ', 'AE'],
  ['ç, č, ć, c̄, c̱', 'c'],
  ['Ç, Č, Ć, C̄, C̱', 'C'],
  ['ď, d̄, ḏ', 'd'],
  ['Ď, D̄, Ḏ', 'D'],
  ['ë, è, é, ê, ę, ě, ė, ē, ḗ, ḕ, ē̂, ē̃, ê̄, e̱, ë̄, e̊̄', 'e'],
  ['Ë, È, É, Ê, Ę, Ě, Ė, Ē, Ḗ, Ḕ, Ē̂, Ē̃, Ê̄, E̱, Ë̄, E̊̄', 'E'],
  ['ğ, ḡ, g̱', 'g'],
  ['Ğ, Ḡ, G̱', 'G'],
  ['ï, î, ì, í, ı, ī, ī́, ī̀, ī̂, ī̃, i̱', 'i'],
  ['Ï, Î, Ì, Í, İ, Ī, Ī́, Ī̀, Ī̂, Ī̃, I̱', 'I'],
  ['ľ, ł, l̄, ḹ, ḻ', 'l'],
  ['Ł, Ľ, L̄, Ḹ, Ḻ', 'L'],
  ['ñ, ń, ň, n̄, ṉ', 'n'],
  ['Ñ, Ń, Ň, N̄, Ṉ', 'N'],
  ['ö, ò, ő, õ, ô, ó, ō, ṓ, ṑ, ō̂, ō̃, ȫ, ō̈, ǭ, ȭ, ȱ, o̱', 'o'],
  ['Ö, Ò, Ő, Õ, Ô, Ó, Ō, Ṓ, Ṑ, Ō̂, Ō̃, Ȫ, Ō̈, Ǭ, Ȭ, Ȱ, O̱', 'O'],
  ['ø, ø̄, œ̄', 'oe'],
  ['Ø, Ø̄, Œ̄', 'OE'],
  ['ř, r̄, ṟ, ṝ', 'r'],
  ['Ř, R̄, Ṟ, Ṝ', 'R'],
  ['ß', 'ss'],
  ['š, ś, ș, ş, s̄, s̱', 's'],
  ['Š, Ś, Ș, Ş, S̄, S̱', 'S'],
  ['ť, ț, t̄, ṯ', 't'],
  ['Ť, Ț, T̄, Ṯ', 'T'],
  ['ü, ù, û, ú, ů, ű, ū, ū́, ū̀, ū̂, ū̃, u̇̄, ǖ, ṻ, ṳ̄, u̱', 'u'],
  ['Ü, Ù, Û, Ú, Ů, Ű, Ū, Ū́, Ū̀, Ū̂, Ū̃, U̇̄, Ǖ, Ṻ, Ṳ̄, U̱', 'U'],
  ['ÿ, ý, ȳ, ȳ́, ȳ̀, ȳ̃, y̱', 'y'],
  ['Ÿ, Ý, Ȳ, Ȳ́, Ȳ̀, Ȳ̃, Y̱', 'Y'],
  ['ź, ž, ż, z̄, ẕ', 'z'],
  ['Ź, Ž, Ż, Z̄, Ẕ', 'Z'],
];

const DIACRITIC_MAP = new Map<string, string>(
  DIACRITICS.flatMap(([list, plain]) => list.split(', ').map((c): [string, string] => [c.normalize('NFC'), plain])),
);
/** Longest entries first: "ā́" (ā + combining acute) must win over "ā". */
const DIACRITIC_PATTERN = new RegExp(
  [...DIACRITIC_MAP.keys()]
    .sort((a, b) => b.length - a.length)
    .map((c) => c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('|'),
  'gu',
);

export function normalizeDiacritics(text: string): string {
  return text.normalize('NFC').replace(DIACRITIC_PATTERN, (c) => DIACRITIC_MAP.get(c)!);
}

// ---------------------------------------------------------------------------------------------
// Casing. .NET maps one character to one character (ToUpperInvariant keeps ß); JavaScript's full
// mappings can grow a string ("ß" → "SS"), so a mapping that changes the length is not taken,
// except İ → i, whose .NET simple lowercase mapping is the first of JavaScript's two characters.

function mapChars(text: string, map: (c: string) => string, lower: boolean): string {
  let out = '';
  for (const c of text) {
    const mapped = map(c);
    const mappedChars = [...mapped];
    out += mappedChars.length === 1 ? mapped : lower ? mappedChars[0] : c;
  }
  return out;
}

/** A culture name for ToLower/ToUpper ("tr-TR"); throws RangeError when it is not a BCP 47 tag. */
export function checkCulture(culture: string): string {
  return Intl.getCanonicalLocales(culture)[0];
}

/** Latin-1: every character's invariant case mapping is one character, except ß's upper case ("SS"). */
const LATIN_1 = /^[\u0000-\u00ff]*$/;

export function toUpper(text: string, culture?: string): string {
  if (culture === undefined && LATIN_1.test(text) && !text.includes('ß')) return text.toUpperCase();
  return mapChars(text, (c) => (culture ? c.toLocaleUpperCase(culture) : c.toUpperCase()), false);
}

export function toLower(text: string, culture?: string): string {
  if (culture === undefined && LATIN_1.test(text)) return text.toLowerCase();
  return mapChars(text, (c) => (culture ? c.toLocaleLowerCase(culture) : c.toLowerCase()), true);
}

const LETTER = /^\p{L}$/u;
/** The Unicode categories .NET's ToTitleCase treats as word separators. */
const WORD_SEPARATOR =
  /^[\p{Zs}\p{Zl}\p{Zp}\p{Cc}\p{Cf}\p{Pc}\p{Pd}\p{Ps}\p{Pe}\p{Pi}\p{Pf}\p{Po}\p{Sm}\p{Sc}\p{Sk}\p{So}]$/u;

/**
 * PCase: every character lower-cased, then the first letter of each word upper-cased.
 * Without separators, words are split as .NET's TextInfo.ToTitleCase splits them (a letter starts
 * a word; letters, digits, marks and apostrophes continue it); with separators, only those do.
 */
export function properCase(text: string, separators?: string): string {
  const chars = [...toLower(text)];
  let out = '';
  if (separators !== undefined) {
    let atWordStart = true;
    for (const c of chars) {
      out += atWordStart ? toUpper(c) : c;
      atWordStart = separators.includes(c);
    }
    return out;
  }
  let i = 0;
  while (i < chars.length) {
    const c = chars[i];
    if (!LETTER.test(c)) {
      out += c;
      i++;
      continue;
    }
    out += toUpper(c);
    i++;
    while (i < chars.length && (LETTER.test(chars[i]) || chars[i] === "'" || !WORD_SEPARATOR.test(chars[i]))) {
      out += chars[i];
      i++;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Encodings

function utf8Bytes(text: string): number[] {
  const bytes: number[] = [];
  for (const c of text) {
    const code = c.codePointAt(0)!;
    if (code < 0x80) bytes.push(code);
    else if (code < 0x800) bytes.push(0xc0 | (code >> 6), 0x80 | (code & 63));
    else if (code < 0x10000) bytes.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
    else bytes.push(0xf0 | (code >> 18), 0x80 | ((code >> 12) & 63), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
  }
  return bytes;
}

export function utf8Hex(text: string): string {
  return utf8Bytes(text)
    .map((b) => b.toString(16).toUpperCase().padStart(2, '0'))
    .join('');
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function base64(bytes: number[]): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const [a, b, c] = [bytes[i], bytes[i + 1], bytes[i + 2]];
    out += BASE64[a >> 2] + BASE64[((a & 3) << 4) | ((b ?? 0) >> 4)];
    out += b === undefined ? '=' : BASE64[((b & 15) << 2) | ((c ?? 0) >> 6)];
    out += c === undefined ? '=' : BASE64[c & 63];
  }
  return out;
}

/** Convert.ToBase64String(Encoding.Unicode.GetBytes(text)): UTF-16 little-endian, as Microsoft's example shows. */
export function unicodeBase64(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    bytes.push(unit & 0xff, unit >> 8);
  }
  return base64(bytes);
}

// ---------------------------------------------------------------------------------------------
// .NET regular expressions

/**
 * A .NET pattern as a JavaScript RegExp (global, with group indices). Named groups `(?<n>…)` are
 * the same in both; `(?'n'…)` becomes `(?<n>…)`, a leading `(?i)` becomes the i flag, `\A` and
 * `\z` become anchors. Unicode mode is tried first (for `\p{L}`), then the legacy mode.
 * Throws SyntaxError when neither reads the pattern.
 */
export function dotNetRegex(pattern: string): RegExp {
  let source = pattern.replace(/\(\?'([A-Za-z_]\w*)'/g, '(?<$1>');
  let flags = 'gd';
  const inline = /^\(\?([imsx]+)\)/.exec(source);
  if (inline) {
    if (inline[1].includes('x'))
      throw new SyntaxError('the x (ignore pattern whitespace) option has no JavaScript equivalent');
    flags += inline[1];
    source = source.slice(inline[0].length);
  }
  source = source.replace(/\\A/g, '^').replace(/\\[zZ]/g, '$');
  try {
    return new RegExp(source, `${flags}u`);
  } catch {
    return new RegExp(source, flags);
  }
}

/** Regex.Replace's substitutions: $1, ${name}, $$, $&, $`, $', $+, $_. */
export function substitute(replacement: string, match: RegExpExecArray, input: string): string {
  return replacement.replace(
    /\$(\$|&|`|'|\+|_|\{([A-Za-z_]\w*|\d+)\}|\d+)/g,
    (whole, token: string, braced?: string) => {
      if (token === '$') return '$';
      if (token === '&') return match[0];
      if (token === '`') return input.slice(0, match.index);
      if (token === "'") return input.slice(match.index + match[0].length);
      if (token === '_') return input;
      if (token === '+') return match[match.length - 1] ?? '';
      const key = braced ?? token;
      if (/^\d+$/.test(key)) {
        const n = Number(key);
        return n < match.length ? (match[n] ?? '') : whole;
      }
      return match.groups && key in match.groups ? (match.groups[key] ?? '') : whole;
    },
  );
}

// ---------------------------------------------------------------------------------------------
// RandomString's alphabet: Windows password-complexity categories (ASCII part)

export const CHARACTER_SETS = {
  numbers: '0123456789',
  special: '~!@#$%^&*_-+=`|\\(){}[]:;"\'<>,.?/',
  capital: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  lower: 'abcdefghijklmnopqrstuvwxyz',
};
