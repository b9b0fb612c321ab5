// Entra's expression functions: one row per function, with Microsoft's argument order, the
// argument counts checked before anything runs, checks of literal arguments (formats, patterns,
// intervals) made at compile time, and the implementation. Arguments are evaluated lazily, so IIF
// and Switch only evaluate the branch they return, as Microsoft's AND/OR workarounds expect.
import {
  type DateValue,
  dateAdd,
  DateProblem,
  dateDiff,
  DEFAULT_STYLES,
  formatDotNet,
  formatItems,
  fromFileTime,
  parseDate,
  parseExact,
  parseStyles,
  toFileTime,
  toInterval,
} from './datetime';
import type { Argument } from './parser';
import {
  CHARACTER_SETS,
  checkCulture,
  dotNetRegex,
  normalizeDiacritics,
  properCase,
  substitute,
  toLower,
  toUpper,
  unicodeBase64,
  utf8Hex,
} from './text';
import {
  describe,
  EvaluationError,
  isDate,
  toBigInt,
  toBoolean,
  toInteger,
  toList,
  textOrEmpty,
  toText,
  type Value,
} from './values';

/** One argument as an implementation sees it: whether it was written, and its value on demand. */
export interface Arg {
  present: boolean;
  value(): Value;
}

export interface CallContext {
  /** The fixed instant Now() returns for this record. */
  now: DateValue;
  /** Uniform in [0, 1): the caller's seeded generator, so a re-planned record gets the same Guid()/RandomString(). */
  random(): number;
  /** Set by Redact(): the value must not appear in logs. */
  redacted: boolean;
}

/** IgnoreFlowIfNullOrEmpty met null or "": the target attribute is left out of the record. */
export class IgnoreFlow {}

const SPACES = / /g;

export const IGNORE_FLOW = 'IgnoreFlowIfNullOrEmpty';

/** What IgnoreFlowIfNullOrEmpty ignores: null, "" or no values. */
export function isNullOrEmpty(value: Value): boolean {
  return value === null || value === '' || (Array.isArray(value) && value.length === 0);
}

export type CompileCheck = (args: Argument[], fail: (argIndex: number, expected: string) => void) => void;

export interface FunctionSpec {
  name: string;
  min: number;
  max: number;
  /** Arguments as Microsoft names them, for messages and the docs. */
  signature: string;
  check?: CompileCheck;
  /** Now, Guid, RandomString: the value depends on the moment or on chance, not only the record. */
  volatile?: boolean;
  /** SelectUniqueValue: "must be at the top-level and can't be nested". */
  topLevelOnly?: boolean;
  evaluate(args: Arg[], context: CallContext): Value;
}

/** Documented functions that need Entra's own directory, refused with this reason. */
export const LEFT_OUT: Record<string, string> = {
  AppRoleAssignmentsComplex: "it reads a user's app role assignments, which exist only in Entra's directory",
  SingleAppRoleAssignment: "it reads a user's app role assignments, which exist only in Entra's directory",
};

// ---------------------------------------------------------------------------------------------
// Helpers

const literalString = (arg: Argument | undefined): string | undefined =>
  arg?.type === 'string' ? arg.value : undefined;

const literalNumber = (arg: Argument | undefined): number | undefined =>
  arg?.type === 'number' && !arg.text.startsWith('&') ? Number(arg.text) : undefined;

/** Runs a date helper, turning its DateProblem into this record's error under the function's name. */
function dates<T>(fn: string, work: () => T): T {
  try {
    return work();
  } catch (problem) {
    if (problem instanceof DateProblem) throw new EvaluationError(`${fn}: ${problem.message}`);
    throw problem;
  }
}

function toDate(fn: string, value: Value, what: string): DateValue | null {
  if (value === null) return null;
  if (isDate(value)) return value;
  if (typeof value === 'string') return dates(fn, () => parseDate(value));
  throw new EvaluationError(`${fn}: ${what} must be a DateTime (wrap a date string in CDate), got ${describe(value)}`);
}

function toNumber(value: Value, what: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && /^\s*[-+]?\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  throw new EvaluationError(`${what} must be a number, got ${describe(value)}`);
}

const randomInt = (context: CallContext, n: number): number => Math.min(n - 1, Math.floor(context.random() * n));

/** The compiled regex of a literal pattern is checked once; a computed pattern is checked per record. */
function regexOf(fn: string, pattern: string): RegExp {
  try {
    return dotNetRegex(pattern);
  } catch (problem) {
    throw new EvaluationError(
      `${fn}: ${JSON.stringify(pattern)} is not a regular expression: ${(problem as Error).message}`,
    );
  }
}

function checkRegex(arg: Argument | undefined, index: number, fail: (i: number, expected: string) => void): void {
  const pattern = literalString(arg);
  if (pattern === undefined) return;
  try {
    dotNetRegex(pattern);
  } catch (problem) {
    fail(index, `a regular expression (${(problem as Error).message})`);
  }
}

function checkDateFormat(arg: Argument | undefined, index: number, fail: (i: number, expected: string) => void): void {
  const format = literalString(arg);
  if (format === undefined) return;
  try {
    formatItems(format);
  } catch (problem) {
    if (problem instanceof DateProblem) fail(index, problem.message);
    else throw problem;
  }
}

function checkInterval(arg: Argument | undefined, index: number, fail: (i: number, expected: string) => void): void {
  const interval = literalString(arg);
  if (interval === undefined) return;
  try {
    toInterval(interval);
  } catch (problem) {
    fail(index, (problem as Error).message);
  }
}

function checkCultureArg(arg: Argument | undefined, index: number, fail: (i: number, expected: string) => void): void {
  const culture = literalString(arg);
  if (culture === undefined || culture === '') return;
  try {
    checkCulture(culture);
  } catch {
    fail(index, `a culture name such as en-US or tr-TR, not ${JSON.stringify(culture)}`);
  }
}

function culture(fn: string, arg: Arg | undefined): string | undefined {
  const name = arg?.present ? toText(arg.value(), `${fn}'s culture`) : null;
  if (!name) return undefined;
  try {
    return checkCulture(name);
  } catch {
    throw new EvaluationError(`${fn}: ${JSON.stringify(name)} is not a culture name such as en-US or tr-TR`);
  }
}

/** A single-valued string argument; null (an absent attribute) stays null. */
function text(fn: string, arg: Arg, what = 'source'): string | null {
  const value = arg.value();
  // Strings (the usual case) without building the message toText would need for anything else.
  return typeof value === 'string' || value === null ? value : toText(value, `${fn}'s ${what}`);
}

// ---------------------------------------------------------------------------------------------
// Replace: its five documented argument forms

const REPLACE_FORMS =
  'Replace(source, oldValue, , , replacementValue, , ), Replace(source, oldValue, , , , , template), ' +
  'Replace(source, , regexPattern, , replacementValue, , ), Replace(source, , regexPattern, regexGroupName, replacementValue, , ) ' +
  'or Replace(source, , regexPattern, regexGroupName, , replacementAttributeName, )';

type ReplaceForm = 'value' | 'template' | 'regex' | 'regexGroup' | 'regexAttribute';

function replaceForm(present: (i: number) => boolean): ReplaceForm | undefined {
  const [oldValue, pattern, group, replacement, attribute, template] = [1, 2, 3, 4, 5, 6].map(present);
  if (oldValue && !pattern && !group && !attribute) {
    if (replacement && !template) return 'value';
    if (template && !replacement) return 'template';
    return undefined;
  }
  if (pattern && !oldValue && !template) {
    if (group && replacement && !attribute) return 'regexGroup';
    if (group && attribute && !replacement) return 'regexAttribute';
    if (!group && replacement && !attribute) return 'regex';
  }
  return undefined;
}

function replace(args: Arg[]): Value {
  const fn = 'Replace';
  const present = (i: number) => args[i]?.present === true;
  const form = replaceForm(present)!;
  const get = (i: number, what: string) => textOrEmpty(args[i].value(), `${fn}'s ${what}`);
  const source = text(fn, args[0]);
  switch (form) {
    case 'value': {
      if (source === null) return null;
      const oldValue = get(1, 'oldValue');
      return oldValue === '' ? source : source.split(oldValue).join(get(4, 'replacementValue'));
    }
    case 'template': {
      if (source === null) return null;
      return get(6, 'template').split(get(1, 'oldValue')).join(source);
    }
    case 'regex': {
      if (source === null) return null;
      const regex = regexOf(fn, get(2, 'regexPattern'));
      const replacement = get(4, 'replacementValue');
      return source.replace(regex, (...groups) => {
        const match = matchOf(groups);
        return substitute(replacement, match, source);
      });
    }
    case 'regexGroup': {
      if (source === null) return null;
      const regex = regexOf(fn, get(2, 'regexPattern'));
      const group = get(3, 'regexGroupName');
      const replacement = get(4, 'replacementValue');
      let out = '';
      let last = 0;
      for (const match of source.matchAll(regex)) {
        const span = match.indices?.groups?.[group];
        if (!match.groups || !(group in match.groups))
          throw new EvaluationError(`${fn}: the pattern has no group named ${JSON.stringify(group)}`);
        if (!span) continue; // the group took no part in this match
        out += source.slice(last, span[0]) + replacement;
        last = span[1];
      }
      return out + source.slice(last);
    }
    case 'regexAttribute': {
      if (source !== null && source !== '') return source;
      const fallback = toText(args[5].value(), `${fn}'s replacementAttributeName`);
      if (fallback === null) return null;
      const regex = regexOf(fn, get(2, 'regexPattern'));
      const group = get(3, 'regexGroupName');
      regex.lastIndex = 0;
      const match = regex.exec(fallback);
      if (match?.groups && !(group in match.groups))
        throw new EvaluationError(`${fn}: the pattern has no group named ${JSON.stringify(group)}`);
      return match?.groups?.[group] ?? null;
    }
  }
}

/** String.prototype.replace's callback arguments back into a RegExpExecArray shape. */
function matchOf(callbackArgs: unknown[]): RegExpExecArray {
  const hasGroups = typeof callbackArgs[callbackArgs.length - 1] === 'object';
  const groups = hasGroups ? (callbackArgs[callbackArgs.length - 1] as Record<string, string>) : undefined;
  const inputIndex = hasGroups ? callbackArgs.length - 2 : callbackArgs.length - 1;
  const captures = callbackArgs.slice(0, inputIndex - 1) as string[];
  const match = Object.assign([...captures], {
    index: callbackArgs[inputIndex - 1] as number,
    input: callbackArgs[inputIndex] as string,
    groups,
  });
  return match as unknown as RegExpExecArray;
}

// ---------------------------------------------------------------------------------------------
// The table

const ALL: FunctionSpec[] = [
  {
    name: 'Append',
    signature: 'Append(source, suffix)',
    min: 2,
    max: 2,
    evaluate: ([source, suffix]) => {
      const value = text('Append', source);
      return value === null ? null : value + textOrEmpty(suffix.value(), "Append's suffix");
    },
  },
  {
    name: 'AssertNotNull',
    signature: 'AssertNotNull(expression)',
    min: 1,
    max: 1,
    evaluate: ([expression]) => {
      const value = expression.value();
      if (value === null || value === '' || (Array.isArray(value) && value.length === 0))
        throw new EvaluationError('AssertNotNull: the value is null or empty');
      return value;
    },
  },
  {
    name: 'BitAnd',
    signature: 'BitAnd(value1, value2)',
    min: 2,
    max: 2,
    evaluate: ([a, b]) => {
      const result = toBigInt(a.value(), "BitAnd's value1") & toBigInt(b.value(), "BitAnd's value2");
      return result >= BigInt(Number.MIN_SAFE_INTEGER) && result <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(result)
        : result;
    },
  },
  {
    name: 'CBool',
    signature: 'CBool(expression)',
    min: 1,
    max: 1,
    evaluate: ([expression]) => toBoolean(expression.value(), "CBool's expression"),
  },
  {
    name: 'CDate',
    signature: 'CDate(expression)',
    min: 1,
    max: 1,
    evaluate: ([expression]) => {
      const value = expression.value();
      if (isDate(value)) return { ...value, dateKind: 'utc' };
      const input = toText(value, "CDate's expression");
      return input === null ? null : dates('CDate', () => parseDate(input));
    },
  },
  {
    name: 'Coalesce',
    signature: 'Coalesce(source1, source2, …, defaultValue)',
    min: 1,
    max: Number.POSITIVE_INFINITY,
    evaluate: (args) => {
      for (const arg of args) {
        if (!arg.present) continue;
        const value = arg.value();
        if (value !== null) return value;
      }
      return null;
    },
  },
  {
    name: 'ConvertToBase64',
    signature: 'ConvertToBase64(source)',
    min: 1,
    max: 1,
    evaluate: ([source]) => {
      const value = text('ConvertToBase64', source);
      return value === null ? null : unicodeBase64(value);
    },
  },
  {
    name: 'ConvertToUTF8Hex',
    signature: 'ConvertToUTF8Hex(source)',
    min: 1,
    max: 1,
    evaluate: ([source]) => {
      const value = text('ConvertToUTF8Hex', source);
      return value === null ? null : utf8Hex(value);
    },
  },
  {
    name: 'Count',
    signature: 'Count(attribute)',
    min: 1,
    max: 1,
    evaluate: ([attribute]) => toList(attribute.value(), "Count's attribute").length,
  },
  {
    name: 'CStr',
    signature: 'CStr(value)',
    min: 1,
    max: 1,
    evaluate: ([value]) => text('CStr', value, 'value'),
  },
  {
    name: 'DateAdd',
    signature: 'DateAdd(interval, value, dateTime)',
    min: 3,
    max: 3,
    check: (args, fail) => checkInterval(args[0], 0, fail),
    evaluate: ([interval, amount, dateTime]) => {
      const date = toDate('DateAdd', dateTime.value(), 'dateTime');
      if (date === null) return null;
      const unit = dates('DateAdd', () => toInterval(textOrEmpty(interval.value(), "DateAdd's interval")));
      return dates('DateAdd', () => dateAdd(unit, toNumber(amount.value(), "DateAdd's value"), date));
    },
  },
  {
    name: 'DateDiff',
    signature: 'DateDiff(interval, date1, date2)',
    min: 3,
    max: 3,
    check: (args, fail) => checkInterval(args[0], 0, fail),
    evaluate: ([interval, first, second]) => {
      const date1 = toDate('DateDiff', first.value(), 'date1');
      const date2 = toDate('DateDiff', second.value(), 'date2');
      if (date1 === null || date2 === null) return null;
      const unit = dates('DateDiff', () => toInterval(textOrEmpty(interval.value(), "DateDiff's interval")));
      return dateDiff(unit, date1, date2);
    },
  },
  {
    name: 'DateFromNum',
    signature: 'DateFromNum(value)',
    min: 1,
    max: 1,
    evaluate: ([value]) => {
      const v = value.value();
      return v === null ? null : dates('DateFromNum', () => fromFileTime(toBigInt(v, "DateFromNum's value")));
    },
  },
  {
    name: 'FormatDateTime',
    signature: 'FormatDateTime(source, dateTimeStyles, inputFormat, outputFormat)',
    min: 4,
    max: 4,
    check: (args, fail) => {
      const styles = literalString(args[1]);
      if (styles !== undefined)
        try {
          parseStyles(styles);
        } catch (problem) {
          fail(1, (problem as Error).message);
        }
      if (args[2].type === 'missing') fail(2, 'the inputFormat (required)');
      if (args[3].type === 'missing') fail(3, 'the outputFormat (required)');
      checkDateFormat(args[2], 2, fail);
      checkDateFormat(args[3], 3, fail);
    },
    evaluate: ([source, stylesArg, inputFormat, outputFormat], context) => {
      const fn = 'FormatDateTime';
      const value = text(fn, source);
      if (value === null) return null;
      const stylesText = stylesArg.present ? textOrEmpty(stylesArg.value(), `${fn}'s dateTimeStyles`) : '';
      return dates(fn, () => {
        const styles = stylesText === '' ? DEFAULT_STYLES : parseStyles(stylesText);
        const date = parseExact(value, textOrEmpty(inputFormat.value(), `${fn}'s inputFormat`), styles, context.now);
        return formatDotNet(date, textOrEmpty(outputFormat.value(), `${fn}'s outputFormat`));
      });
    },
  },
  {
    name: 'Guid',
    signature: 'Guid()',
    min: 0,
    max: 0,
    volatile: true,
    evaluate: (_args, context) => {
      const bytes = Array.from({ length: 16 }, () => randomInt(context, 256));
      bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
      bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
      const hex = bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    },
  },
  {
    name: IGNORE_FLOW,
    signature: 'IgnoreFlowIfNullOrEmpty(expression)',
    min: 1,
    max: 1,
    evaluate: ([expression]) => {
      const value = expression.value();
      if (isNullOrEmpty(value)) throw new IgnoreFlow();
      return value;
    },
  },
  {
    name: 'IIF',
    signature: 'IIF(condition, valueIfTrue, valueIfFalse)',
    min: 3,
    max: 3,
    evaluate: ([condition, ifTrue, ifFalse]) =>
      toBoolean(condition.value(), "IIF's condition") ? ifTrue.value() : ifFalse.value(),
  },
  {
    name: 'InStr',
    signature: 'InStr(value1, value2, start, compareType)',
    min: 2,
    max: 4,
    evaluate: ([value1, value2, start, compareType]) => {
      const fn = 'InStr';
      const haystack = text(fn, value1, 'value1');
      const needle = text(fn, value2, 'value2');
      if (haystack === null || needle === null) return null;
      const from = start?.present ? toInteger(start.value(), `${fn}'s start`) : 1;
      if (from < 1) throw new EvaluationError(`${fn}: start must be 1 or more, got ${from}`);
      const mode = compareType?.present ? textOrEmpty(compareType.value(), `${fn}'s compareType`).toLowerCase() : '';
      const textCompare = mode === 'vbtextcompare' || mode === '1';
      if (mode !== '' && !textCompare && mode !== 'vbbinarycompare' && mode !== '0')
        throw new EvaluationError(
          `${fn}: compareType must be vbBinaryCompare or vbTextCompare, got ${JSON.stringify(mode)}`,
        );
      if (from > haystack.length) return 0;
      if (needle === '') return from;
      const [h, n] = textCompare ? [toLower(haystack), toLower(needle)] : [haystack, needle];
      return h.indexOf(n, from - 1) + 1;
    },
  },
  {
    name: 'IsNull',
    signature: 'IsNull(expression)',
    min: 1,
    max: 1,
    evaluate: ([expression]) => expression.value() === null,
  },
  {
    name: 'IsNullOrEmpty',
    signature: 'IsNullOrEmpty(expression)',
    min: 1,
    max: 1,
    evaluate: ([expression]) => {
      const value = expression.value();
      return value === null || value === '';
    },
  },
  {
    name: 'IsPresent',
    signature: 'IsPresent(expression)',
    min: 1,
    max: 1,
    evaluate: ([expression]) => {
      const value = expression.value();
      return value !== null && value !== '';
    },
  },
  {
    name: 'IsString',
    signature: 'IsString(expression)',
    min: 1,
    max: 1,
    evaluate: ([expression]) => typeof expression.value() === 'string',
  },
  {
    name: 'Item',
    signature: 'Item(attribute, index)',
    min: 2,
    max: 2,
    check: (args, fail) => {
      const index = literalNumber(args[1]);
      if (index !== undefined && index < 1) fail(1, 'an index of 1 or more (Item counts from 1)');
    },
    evaluate: ([attribute, index]) => {
      const n = toInteger(index.value(), "Item's index");
      if (n < 1) throw new EvaluationError(`Item: the index counts from 1, got ${n}`);
      const value = attribute.value();
      const items = value === null ? [] : Array.isArray(value) ? value : [value];
      return items[n - 1] ?? null;
    },
  },
  {
    name: 'Join',
    signature: 'Join(separator, source1, source2, …)',
    min: 2,
    max: Number.POSITIVE_INFINITY,
    evaluate: (args) => {
      // Null and empty sources are skipped: Join(", ", "", [surname], [givenName]) gives "Doe, John".
      const parts: string[] = [];
      for (let i = 1; i < args.length; i++) {
        if (!args[i].present) continue;
        const value = args[i].value();
        if (typeof value === 'string') {
          if (value !== '') parts.push(value);
        } else for (const part of toList(value, "Join's source")) if (part !== '') parts.push(part);
      }
      return parts.join(textOrEmpty(args[0].value(), "Join's separator"));
    },
  },
  {
    name: 'Left',
    signature: 'Left(String, NumChars)',
    min: 2,
    max: 2,
    evaluate: ([source, numChars]) => {
      const value = textOrEmpty(source.value(), "Left's String");
      const n = toInteger(numChars.value(), "Left's NumChars");
      return n < 0 ? value : value.slice(0, n);
    },
  },
  {
    name: 'Mid',
    signature: 'Mid(source, start, length)',
    min: 3,
    max: 3,
    check: (args, fail) => {
      const start = literalNumber(args[1]);
      const length = literalNumber(args[2]);
      if (start !== undefined && start < 1) fail(1, 'a start of 1 or more (Mid counts from 1)');
      if (length !== undefined && length < 0) fail(2, 'a length of 0 or more');
    },
    evaluate: ([source, start, length]) => {
      const value = text('Mid', source);
      if (value === null) return null;
      const from = toInteger(start.value(), "Mid's start");
      const count = toInteger(length.value(), "Mid's length");
      if (from < 1) throw new EvaluationError(`Mid: start counts from 1, got ${from}`);
      if (count < 0) throw new EvaluationError(`Mid: length must be 0 or more, got ${count}`);
      return value.substr(from - 1, count);
    },
  },
  {
    name: 'NormalizeDiacritics',
    signature: 'NormalizeDiacritics(source)',
    min: 1,
    max: 1,
    evaluate: ([source]) => {
      const value = text('NormalizeDiacritics', source);
      return value === null ? null : normalizeDiacritics(value);
    },
  },
  {
    name: 'Not',
    signature: 'Not(source)',
    min: 1,
    max: 1,
    // "If source value is True, returns False. Otherwise, returns True."
    evaluate: ([source]) => {
      const value = source.value();
      if (value === true) return false;
      return !(typeof value === 'string' && value.trim().toLowerCase() === 'true');
    },
  },
  {
    name: 'Now',
    signature: 'Now()',
    min: 0,
    max: 0,
    volatile: true,
    evaluate: (_args, context) => context.now,
  },
  {
    name: 'NumFromDate',
    signature: 'NumFromDate(value)',
    min: 1,
    max: 1,
    evaluate: ([value]) => {
      const date = toDate('NumFromDate', value.value(), 'value');
      return date === null ? null : dates('NumFromDate', () => toFileTime(date));
    },
  },
  {
    name: 'PCase',
    signature: 'PCase(source, wordSeparators)',
    min: 1,
    max: 2,
    evaluate: ([source, separators]) => {
      const value = text('PCase', source);
      if (value === null) return null;
      const chosen = separators?.present ? textOrEmpty(separators.value(), "PCase's wordSeparators") : undefined;
      return properCase(value, chosen);
    },
  },
  {
    name: 'RandomString',
    signature:
      'RandomString(Length, MinimumNumbers, MinimumSpecialCharacters, MinimumCapital, MinimumLowerCase, CharactersToAvoid)',
    min: 5,
    max: 6,
    volatile: true,
    check: (args, fail) => {
      const numbers = args.slice(0, 5).map(literalNumber);
      numbers.forEach((n, i) => {
        if (n !== undefined && (!Number.isInteger(n) || n < 0)) fail(i, 'a whole number of 0 or more');
      });
      const [length, ...minimums] = numbers;
      if (length !== undefined && length > 256) fail(0, 'a Length of at most 256');
      if (length !== undefined && minimums.every((n) => n !== undefined)) {
        const sum = (minimums as number[]).reduce((a, b) => a + b, 0);
        if (sum > length) fail(0, `a Length of at least ${sum}, the sum of the minimums`);
      }
    },
    evaluate: (args, context) => {
      const fn = 'RandomString';
      const names = ['Length', 'MinimumNumbers', 'MinimumSpecialCharacters', 'MinimumCapital', 'MinimumLowerCase'];
      const [length, numbers, special, capital, lower] = names.map((name, i) => {
        const n = toInteger(args[i].value(), `${fn}'s ${name}`);
        if (n < 0) throw new EvaluationError(`${fn}: ${name} must be 0 or more, got ${n}`);
        return n;
      });
      if (length > 256) throw new EvaluationError(`${fn}: Length is at most 256, got ${length}`);
      if (numbers + special + capital + lower > length)
        throw new EvaluationError(`${fn}: the minimums add up to more than Length ${length}`);
      const avoid = args[5]?.present ? textOrEmpty(args[5].value(), `${fn}'s CharactersToAvoid`) : '';
      const allowed = (set: string) => [...set].filter((c) => !avoid.includes(c)).join('');
      const sets = {
        numbers: allowed(CHARACTER_SETS.numbers),
        special: allowed(CHARACTER_SETS.special),
        capital: allowed(CHARACTER_SETS.capital),
        lower: allowed(CHARACTER_SETS.lower),
      };
      const chars: string[] = [];
      const pick = (set: string, count: number, what: string) => {
        if (count > 0 && set === '') throw new EvaluationError(`${fn}: CharactersToAvoid leaves no ${what}`);
        for (let k = 0; k < count; k++) chars.push(set[randomInt(context, set.length)]);
      };
      pick(sets.numbers, numbers, 'numbers');
      pick(sets.special, special, 'special characters');
      pick(sets.capital, capital, 'capital letters');
      pick(sets.lower, lower, 'lower-case letters');
      pick(sets.numbers + sets.special + sets.capital + sets.lower, length - chars.length, 'characters');
      for (let k = chars.length - 1; k > 0; k--) {
        const j = randomInt(context, k + 1);
        [chars[k], chars[j]] = [chars[j], chars[k]];
      }
      return chars.join('');
    },
  },
  {
    name: 'Redact',
    signature: 'Redact(attribute/value)',
    min: 1,
    max: 1,
    evaluate: ([value], context) => {
      context.redacted = true;
      return value.value();
    },
  },
  {
    name: 'RemoveDuplicates',
    signature: 'RemoveDuplicates(attribute)',
    min: 1,
    max: 1,
    evaluate: ([attribute]) => {
      const value = attribute.value();
      if (!Array.isArray(value)) return value;
      return [...new Set(toList(value, "RemoveDuplicates' attribute"))];
    },
  },
  {
    name: 'Replace',
    signature:
      'Replace(source, oldValue, regexPattern, regexGroupName, replacementValue, replacementAttributeName, template)',
    min: 3,
    max: 7,
    check: (args, fail) => {
      const present = (i: number) => args[i] !== undefined && args[i].type !== 'missing';
      if (!replaceForm(present)) fail(0, `one of the documented argument forms: ${REPLACE_FORMS}`);
      checkRegex(args[2], 2, fail);
    },
    evaluate: replace,
  },
  {
    name: 'SelectUniqueValue',
    signature: 'SelectUniqueValue(uniqueValueRule1, uniqueValueRule2, …)',
    min: 2,
    max: Number.POSITIVE_INFINITY,
    topLevelOnly: true,
    evaluate: () => {
      throw new EvaluationError('SelectUniqueValue is evaluated by the expression itself, at the top level');
    },
  },
  {
    name: 'Split',
    signature: 'Split(source, delimiter)',
    min: 2,
    max: 2,
    check: (args, fail) => {
      if (literalString(args[1]) === '') fail(1, 'a delimiter that is not empty');
    },
    evaluate: ([source, delimiter]) => {
      const value = text('Split', source);
      if (value === null) return null;
      const by = textOrEmpty(delimiter.value(), "Split's delimiter");
      if (by === '') throw new EvaluationError('Split: the delimiter is empty');
      // Microsoft's example splits "PermissionSetOne, PermissionSetTwo" on "," into two names
      // without the space, so each value is trimmed.
      return value.split(by).map((part) => part.trim());
    },
  },
  {
    name: 'StripSpaces',
    signature: 'StripSpaces(source)',
    min: 1,
    max: 1,
    evaluate: ([source]) => {
      const value = text('StripSpaces', source);
      return value === null ? null : value.replace(SPACES, ''); // a regular expression: faster than replaceAll in V8
    },
  },
  {
    name: 'Switch',
    signature: 'Switch(source, defaultValue, key1, value1, key2, value2, …)',
    min: 4,
    max: Number.POSITIVE_INFINITY,
    check: (args, fail) => {
      if (args.length % 2 !== 0)
        fail(
          args.length - 1,
          `an even number of arguments (source, defaultValue, then key/value pairs), got ${args.length}`,
        );
    },
    evaluate: ([source, defaultValue, ...pairs]) => {
      // Case-sensitive; an absent source matches the key "" (Microsoft's way to test for empty).
      const value = textOrEmpty(source.value(), "Switch's source");
      for (let i = 0; i + 1 < pairs.length; i += 2)
        if (textOrEmpty(pairs[i].value(), "Switch's key") === value)
          return pairs[i + 1].present ? pairs[i + 1].value() : null;
      return defaultValue.present ? defaultValue.value() : null;
    },
  },
  {
    name: 'ToLower',
    signature: 'ToLower(source, culture)',
    min: 1,
    max: 2,
    check: (args, fail) => checkCultureArg(args[1], 1, fail),
    evaluate: ([source, cultureArg]) => {
      const value = text('ToLower', source);
      return value === null ? null : toLower(value, culture('ToLower', cultureArg));
    },
  },
  {
    name: 'ToUpper',
    signature: 'ToUpper(source, culture)',
    min: 1,
    max: 2,
    check: (args, fail) => checkCultureArg(args[1], 1, fail),
    evaluate: ([source, cultureArg]) => {
      const value = text('ToUpper', source);
      return value === null ? null : toUpper(value, culture('ToUpper', cultureArg));
    },
  },
  {
    name: 'Word',
    signature: 'Word(String, WordNumber, Delimiters)',
    min: 3,
    max: 3,
    evaluate: ([source, number, delimiters]) => {
      const value = textOrEmpty(source.value(), "Word's String");
      const n = toInteger(number.value(), "Word's WordNumber");
      const by = textOrEmpty(delimiters.value(), "Word's Delimiters");
      if (n < 1) return '';
      const words: string[] = [];
      let current = '';
      for (const c of value) {
        if (by.includes(c)) {
          if (current !== '') words.push(current);
          current = '';
        } else current += c;
      }
      if (current !== '') words.push(current);
      return words[n - 1] ?? '';
    },
  },
];

/** Function names are matched in any case (`iif`, `IIf`, `IIF`); this map is keyed in lower case. */
export const FUNCTIONS: ReadonlyMap<string, FunctionSpec> = new Map(ALL.map((spec) => [spec.name.toLowerCase(), spec]));
