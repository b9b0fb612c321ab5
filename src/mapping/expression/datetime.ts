// DateTimes the way Entra's functions see them: .NET custom and standard format strings (invariant
// culture) for FormatDateTime, DateTime.Parse-style reading for CDate, VBA's DateAdd/DateDiff
// intervals, and Active Directory file times. Entra runs in UTC, so "local" time is UTC here too:
// a value with an offset is converted to UTC, a value without one is taken as UTC.

/** A point in time to 100 ns (a .NET tick): epoch milliseconds plus the ticks below a millisecond. */
export interface DateValue {
  epochMs: number;
  subMsTicks: number;
  /** .NET's DateTimeKind, which only the K specifier prints: utc "Z", local "+00:00", unspecified "". */
  dateKind: 'utc' | 'local' | 'unspecified';
}

export class DateProblem extends Error {}

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const MS_PER_DAY = 86_400_000;
/** 100 ns intervals from 1601-01-01 (AD's epoch) to 1970-01-01. */
const FILETIME_EPOCH_OFFSET = 116_444_736_000_000_000n;

interface Parts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
  subMsTicks: number;
}

function utcMs(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, ms = 0): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  return date.getTime();
}

function checkRange(epochMs: number): number {
  const year = new Date(epochMs).getUTCFullYear();
  if (!Number.isFinite(epochMs) || year < 1 || year > 9999)
    throw new DateProblem('the date falls outside the years 1 to 9999');
  return epochMs;
}

export function makeDate(epochMs: number, dateKind: DateValue['dateKind'] = 'utc', subMsTicks = 0): DateValue {
  return { epochMs: checkRange(epochMs), subMsTicks, dateKind };
}

function parts(value: DateValue): Parts {
  const d = new Date(value.epochMs);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    ms: d.getUTCMilliseconds(),
    subMsTicks: value.subMsTicks,
  };
}

const daysInMonth = (year: number, month: number): number => new Date(utcMs(year, month + 1, 0)).getUTCDate();

// ---------------------------------------------------------------------------------------------
// Format strings

type FormatItem = { literal: string } | { spec: string; count: number };

/** .NET's standard formats (single letters), as the invariant culture expands them. */
const STANDARD: Record<string, string> = {
  d: 'MM/dd/yyyy',
  D: 'dddd, dd MMMM yyyy',
  f: 'dddd, dd MMMM yyyy HH:mm',
  F: 'dddd, dd MMMM yyyy HH:mm:ss',
  g: 'MM/dd/yyyy HH:mm',
  G: 'MM/dd/yyyy HH:mm:ss',
  m: 'MMMM dd',
  M: 'MMMM dd',
  o: "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
  O: "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
  r: "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
  R: "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
  s: "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
  t: 'HH:mm',
  T: 'HH:mm:ss',
  u: "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
  U: 'dddd, dd MMMM yyyy HH:mm:ss',
  y: 'yyyy MMMM',
  Y: 'yyyy MMMM',
};

const SPECIFIERS = new Set(['d', 'f', 'F', 'g', 'h', 'H', 'K', 'm', 'M', 's', 't', 'y', 'z']);

/** Splits a .NET date format string into specifiers and literals; throws DateProblem when .NET would refuse it. */
export function formatItems(format: string): FormatItem[] {
  if (format === '') throw new DateProblem('a format string, not an empty one');
  if (format.length === 1) {
    const standard = STANDARD[format];
    if (!standard)
      throw new DateProblem(
        `a .NET date format: "${format}" is not a standard format (d D f F g G m o r s t T u U y) — write "%${format}" for the single custom specifier`,
      );
    return formatItems(standard);
  }
  const items: FormatItem[] = [];
  const literal = (text: string) => {
    const last = items[items.length - 1];
    if (last && 'literal' in last) last.literal += text;
    else items.push({ literal: text });
  };
  let i = 0;
  while (i < format.length) {
    const c = format[i];
    if (c === "'" || c === '"') {
      const close = format.indexOf(c, i + 1);
      if (close === -1) throw new DateProblem(`a closing ${c} in the date format "${format}"`);
      literal(format.slice(i + 1, close));
      i = close + 1;
    } else if (c === '\\') {
      if (i + 1 >= format.length) throw new DateProblem(`a character after \\ in the date format "${format}"`);
      literal(format[i + 1]);
      i += 2;
    } else if (c === '%') {
      const next = format[i + 1];
      if (next === undefined || !SPECIFIERS.has(next))
        throw new DateProblem(`a format specifier after % in the date format "${format}"`);
      i++;
    } else if (SPECIFIERS.has(c)) {
      let count = 1;
      while (format[i + count] === c) count++;
      if ((c === 'f' || c === 'F') && count > 7)
        throw new DateProblem(`at most 7 ${c} in the date format "${format}" (.NET keeps 100 ns)`);
      if (c === 'K' && count > 1) for (let k = 0; k < count; k++) items.push({ spec: 'K', count: 1 });
      else items.push({ spec: c, count });
      i += count;
    } else {
      literal(c); // ':' and '/' are the invariant culture's separators; anything else is copied
      i++;
    }
  }
  return items;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** DateTime.ToString(format, CultureInfo.InvariantCulture). */
export function formatDotNet(value: DateValue, format: string): string {
  const p = parts(value);
  const ticks = p.ms * 10_000 + p.subMsTicks; // 7 digits of the second's fraction
  const dayOfWeek = new Date(value.epochMs).getUTCDay();
  let out = '';
  for (const item of formatItems(format)) {
    if ('literal' in item) {
      out += item.literal;
      continue;
    }
    const { spec, count } = item;
    switch (spec) {
      case 'd':
        out +=
          count === 1
            ? p.day
            : count === 2
              ? pad(p.day, 2)
              : count === 3
                ? DAYS[dayOfWeek].slice(0, 3)
                : DAYS[dayOfWeek];
        break;
      case 'M':
        out +=
          count === 1
            ? p.month
            : count === 2
              ? pad(p.month, 2)
              : count === 3
                ? MONTHS[p.month - 1].slice(0, 3)
                : MONTHS[p.month - 1];
        break;
      case 'y':
        out += count === 1 ? p.year % 100 : count === 2 ? pad(p.year % 100, 2) : pad(p.year, count);
        break;
      case 'h':
        out += pad(p.hour % 12 === 0 ? 12 : p.hour % 12, Math.min(count, 2));
        break;
      case 'H':
        out += pad(p.hour, Math.min(count, 2));
        break;
      case 'm':
        out += pad(p.minute, Math.min(count, 2));
        break;
      case 's':
        out += pad(p.second, Math.min(count, 2));
        break;
      case 'f':
        out += pad(ticks, 7).slice(0, count);
        break;
      case 'F': {
        const digits = pad(ticks, 7).slice(0, count).replace(/0+$/, '');
        // .NET drops a '.' left dangling before an all-zero F fraction.
        if (digits === '' && out.endsWith('.')) out = out.slice(0, -1);
        out += digits;
        break;
      }
      case 't':
        out += (p.hour < 12 ? 'AM' : 'PM').slice(0, count === 1 ? 1 : 2);
        break;
      case 'z':
        out += count === 1 ? '+0' : count === 2 ? '+00' : '+00:00';
        break;
      case 'K':
        out += value.dateKind === 'utc' ? 'Z' : value.dateKind === 'local' ? '+00:00' : '';
        break;
      case 'g':
        out += 'A.D.';
        break;
    }
  }
  return out;
}

/** How Entra prints a DateTime: M/d/yyyy h:mm:ss tt, in UTC. */
export function formatDate(value: DateValue): string {
  return formatDotNet(value, 'M/d/yyyy h:mm:ss tt');
}

// ---------------------------------------------------------------------------------------------
// DateTimeStyles (FormatDateTime's second argument)

const STYLE_NAMES = [
  'None',
  'AllowLeadingWhite',
  'AllowTrailingWhite',
  'AllowInnerWhite',
  'AllowWhiteSpaces',
  'NoCurrentDateDefault',
  'AdjustToUniversal',
  'AssumeLocal',
  'AssumeUniversal',
  'RoundtripKind',
];

export interface DateStyles {
  leadingWhite: boolean;
  trailingWhite: boolean;
  innerWhite: boolean;
  noCurrentDateDefault: boolean;
  adjustToUniversal: boolean;
  assume: boolean;
}

/** Entra's default when the argument is left empty: RoundtripKind, AllowLeadingWhite, AllowTrailingWhite. */
export const DEFAULT_STYLES: DateStyles = {
  leadingWhite: true,
  trailingWhite: true,
  innerWhite: false,
  noCurrentDateDefault: false,
  adjustToUniversal: false,
  assume: false,
};

/** "AdjustToUniversal, AllowWhiteSpaces" (also with `|` or a `DateTimeStyles.` prefix, any case). */
export function parseStyles(text: string): DateStyles {
  const names = text
    .split(/[,|]/)
    .map((name) => name.trim().replace(/^DateTimeStyles\./i, ''))
    .filter((name) => name !== '');
  if (names.length === 0) return DEFAULT_STYLES;
  const styles: DateStyles = { ...DEFAULT_STYLES, leadingWhite: false, trailingWhite: false };
  for (const name of names) {
    const known = STYLE_NAMES.find((style) => style.toLowerCase() === name.toLowerCase());
    if (!known) throw new DateProblem(`DateTimeStyles names (${STYLE_NAMES.join(', ')}), not "${name}"`);
    if (known === 'AllowLeadingWhite' || known === 'AllowWhiteSpaces') styles.leadingWhite = true;
    if (known === 'AllowTrailingWhite' || known === 'AllowWhiteSpaces') styles.trailingWhite = true;
    if (known === 'AllowInnerWhite' || known === 'AllowWhiteSpaces') styles.innerWhite = true;
    if (known === 'NoCurrentDateDefault') styles.noCurrentDateDefault = true;
    if (known === 'AdjustToUniversal') styles.adjustToUniversal = true;
    if (known === 'AssumeLocal' || known === 'AssumeUniversal') styles.assume = true;
  }
  return styles;
}

// ---------------------------------------------------------------------------------------------
// DateTime.ParseExact

/** DateTime.ParseExact(text, format, InvariantCulture, styles); `now` fills a missing date as .NET does. */
export function parseExact(text: string, format: string, styles: DateStyles, now: DateValue): DateValue {
  const items = formatItems(format);
  let s = text;
  if (styles.leadingWhite) s = s.replace(/^\s+/, '');
  if (styles.trailingWhite) s = s.replace(/\s+$/, '');
  let pos = 0;
  const mismatch = (what: string): never => {
    throw new DateProblem(
      `"${text}" does not match the date format "${format}": expected ${what} at character ${pos + 1}`,
    );
  };
  const digits = (min: number, max: number, what: string): number => {
    const match = new RegExp(`^\\d{${min},${max}}`).exec(s.slice(pos));
    if (!match) return mismatch(`${what} (${min === max ? min : `${min}-${max}`} digits)`);
    pos += match[0].length;
    return Number(match[0]);
  };
  const name = (names: string[], what: string): number => {
    const rest = s.slice(pos).toLowerCase();
    // Longest first, so "June" is not read as "Jun".
    const order = names.map((n, index) => ({ n, index })).sort((a, b) => b.n.length - a.n.length);
    const found = order.find(({ n }) => rest.startsWith(n.toLowerCase()));
    if (!found) return mismatch(what);
    pos += found.n.length;
    return found.index;
  };
  const offset = (form: 'z' | 'zz' | 'zzz'): number => {
    const sign = s[pos];
    if (sign !== '+' && sign !== '-') return mismatch('+ or - of a UTC offset');
    pos++;
    const hours = digits(form === 'z' ? 1 : 2, 2, 'offset hours');
    let minutes = 0;
    if (form === 'zzz') {
      if (s[pos] !== ':') return mismatch(': in the UTC offset');
      pos++;
      minutes = digits(2, 2, 'offset minutes');
    }
    if (hours > 14 || minutes > 59) return mismatch('a UTC offset within ±14:00');
    return (sign === '-' ? -1 : 1) * (hours * 60 + minutes);
  };

  let year: number | undefined;
  let month: number | undefined;
  let day: number | undefined;
  let dayOfWeek: number | undefined;
  let hour = 0;
  let hour12: number | undefined;
  let pm: boolean | undefined;
  let minute = 0;
  let second = 0;
  let fraction = 0; // ticks
  let offsetMinutes: number | undefined;
  let utc = false;

  for (let index = 0; index < items.length; index++) {
    const item = items[index];
    if ('literal' in item) {
      for (let k = 0; k < item.literal.length; k++) {
        const c = item.literal[k];
        const next = items[index + 1];
        // "ss.FFF" also reads "12:30:05" without a fraction, as .NET does.
        if (c === '.' && k === item.literal.length - 1 && next && 'spec' in next && next.spec === 'F' && s[pos] !== '.')
          continue;
        if (/\s/.test(c)) {
          if (styles.innerWhite) {
            while (/\s/.test(s[pos] ?? '')) pos++;
          } else if (/\s/.test(s[pos] ?? '')) pos++;
          else mismatch(JSON.stringify(c));
        } else if (c === 'Z' && s[pos] === 'Z') {
          utc = true; // .NET reads a literal Z in the format as UTC
          pos++;
        } else if (s[pos] === c) pos++;
        else mismatch(JSON.stringify(c));
      }
      continue;
    }
    const { spec, count } = item;
    switch (spec) {
      case 'd':
        if (count <= 2) day = digits(count, 2, 'the day');
        else dayOfWeek = name(count === 3 ? DAYS.map((n) => n.slice(0, 3)) : DAYS, 'a day name');
        break;
      case 'M':
        if (count <= 2) month = digits(count, 2, 'the month');
        else month = name(count === 3 ? MONTHS.map((n) => n.slice(0, 3)) : MONTHS, 'a month name') + 1;
        break;
      case 'y':
        if (count <= 2) {
          const two = digits(count, 2, 'the year');
          year = two + (two <= 49 ? 2000 : 1900); // the invariant calendar's TwoDigitYearMax is 2049
        } else year = digits(count, count, 'the year');
        break;
      case 'h':
        hour12 = digits(count === 1 ? 1 : 2, 2, 'the hour');
        if (hour12 < 1 || hour12 > 12) mismatch('an hour from 1 to 12');
        break;
      case 'H':
        hour = digits(count === 1 ? 1 : 2, 2, 'the hour');
        break;
      case 'm':
        minute = digits(count === 1 ? 1 : 2, 2, 'the minutes');
        break;
      case 's':
        second = digits(count === 1 ? 1 : 2, 2, 'the seconds');
        break;
      case 'f':
      case 'F': {
        const match = new RegExp(`^\\d{${spec === 'f' ? count : 0},${count}}`).exec(s.slice(pos));
        if (!match) mismatch(`${count} digits of the fraction`);
        pos += match![0].length;
        fraction = Number(match![0].padEnd(7, '0') || '0');
        break;
      }
      case 't': {
        const rest = s.slice(pos, pos + count).toUpperCase();
        const ok = count === 1 ? rest === 'A' || rest === 'P' : rest === 'AM' || rest === 'PM';
        if (!ok) mismatch(count === 1 ? 'A or P' : 'AM or PM');
        pm = rest.startsWith('P');
        pos += count === 1 ? 1 : 2;
        break;
      }
      case 'z':
        offsetMinutes = offset(count === 1 ? 'z' : count === 2 ? 'zz' : 'zzz');
        break;
      case 'K':
        if (s[pos] === 'Z') {
          utc = true;
          pos++;
        } else if (s[pos] === '+' || s[pos] === '-') offsetMinutes = offset('zzz');
        break;
      case 'g':
        throw new DateProblem(
          `a date format without era specifiers (g), which FormatDateTime cannot read: "${format}"`,
        );
    }
  }
  if (pos !== s.length) mismatch('the end of the value');
  if (hour12 !== undefined) hour = (hour12 % 12) + (pm ? 12 : 0);
  else if (pm !== undefined) {
    if (hour > 12) mismatch('an hour that agrees with AM/PM');
    if (pm && hour < 12) hour += 12;
    if (!pm && hour === 12) hour = 0;
  }
  if (year === undefined && month === undefined && day === undefined) {
    const today = parts(now);
    [year, month, day] = styles.noCurrentDateDefault ? [1, 1, 1] : [today.year, today.month, today.day];
  }
  year ??= parts(now).year;
  month ??= 1;
  day ??= 1;
  if (month < 1 || month > 12) mismatch('a month from 1 to 12');
  if (day < 1 || day > daysInMonth(year, month))
    throw new DateProblem(`"${text}": day ${day} does not exist in ${year}-${pad(month, 2)}`);
  if (hour > 23 || minute > 59 || second > 59) throw new DateProblem(`"${text}": not a valid time of day`);
  let epochMs = utcMs(year, month, day, hour, minute, second, Math.floor(fraction / 10_000));
  if (dayOfWeek !== undefined && new Date(epochMs).getUTCDay() !== dayOfWeek)
    throw new DateProblem(`"${text}": the day name does not match the date`);
  if (offsetMinutes !== undefined) epochMs -= offsetMinutes * 60_000;
  const dateKind: DateValue['dateKind'] =
    utc || styles.adjustToUniversal ? 'utc' : offsetMinutes !== undefined || styles.assume ? 'local' : 'unspecified';
  return makeDate(epochMs, dateKind, fraction % 10_000);
}

// ---------------------------------------------------------------------------------------------
// DateTime.Parse, as CDate uses it

const OFFSET = String.raw`(Z|[+-]\d{1,2}(?::?\d{2})?)?`;
const TIME = String.raw`(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?`;
const ISO = new RegExp(String.raw`^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]${TIME})?\s*${OFFSET}$`, 'i');
const SLASHED_YMD = new RegExp(String.raw`^(\d{4})/(\d{1,2})/(\d{1,2})(?:\s+${TIME}\s*(AM|PM)?)?\s*${OFFSET}$`, 'i');
const SLASHED_MDY = new RegExp(String.raw`^(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+${TIME}\s*(AM|PM)?)?\s*${OFFSET}$`, 'i');
const MONTH_NAME = String.raw`(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)`;
const WEEKDAY = String.raw`(?:(?:sun|mon|tue|wed|thu|fri|sat)[a-z]*,?\s+)?`;
const DAY_MONTH_YEAR = new RegExp(
  String.raw`^${WEEKDAY}(\d{1,2})\s+${MONTH_NAME}\s+(\d{4})(?:\s+${TIME}\s*(AM|PM)?)?\s*(GMT|UTC|Z|[+-]\d{1,2}(?::?\d{2})?)?$`,
  'i',
);
const MONTH_DAY_YEAR = new RegExp(
  String.raw`^${WEEKDAY}${MONTH_NAME}\s+(\d{1,2}),?\s+(\d{4})(?:\s+${TIME}\s*(AM|PM)?)?\s*(GMT|UTC|Z|[+-]\d{1,2}(?::?\d{2})?)?$`,
  'i',
);

function monthFromName(name: string): number {
  return MONTHS.findIndex((month) => month.toLowerCase().startsWith(name.toLowerCase().slice(0, 3))) + 1;
}

/**
 * Reads a date/time the way CDate does (DateTime.Parse, invariant culture): ISO 8601 with or
 * without time and offset ("2020-03-16-07:00", "2009-06-15T01:45:30-07:00"), M/d/yyyy with an
 * optional h:mm:ss AM/PM (what Now() and CDate print), yyyy/M/d, and English month names
 * ("1 January 2012", "Jan 1, 2012", RFC 1123). The result is in UTC.
 */
export function parseDate(input: string): DateValue {
  const text = input.trim();
  let year: string;
  let month: number;
  let day: string;
  let time: (string | undefined)[] = [];
  let ampm: string | undefined;
  let zone: string | undefined;
  let m: RegExpExecArray | null;
  if ((m = ISO.exec(text))) {
    [year, month, day, time, zone] = [m[1], Number(m[2]), m[3], m.slice(4, 8), m[8]];
  } else if ((m = SLASHED_YMD.exec(text))) {
    [year, month, day, time, ampm, zone] = [m[1], Number(m[2]), m[3], m.slice(4, 8), m[8], m[9]];
  } else if ((m = SLASHED_MDY.exec(text))) {
    [month, day, year, time, ampm, zone] = [Number(m[1]), m[2], m[3], m.slice(4, 8), m[8], m[9]];
  } else if ((m = DAY_MONTH_YEAR.exec(text))) {
    [day, month, year, time, ampm, zone] = [m[1], monthFromName(m[2]), m[3], m.slice(4, 8), m[8], m[9]];
  } else if ((m = MONTH_DAY_YEAR.exec(text))) {
    [month, day, year, time, ampm, zone] = [monthFromName(m[1]), m[2], m[3], m.slice(4, 8), m[8], m[9]];
  } else {
    throw new DateProblem(
      `"${input}" is not a date CDate can read (e.g. 2020-03-16, 2009-06-15T01:45:30-07:00, 3/16/2020 7:00:00 AM)`,
    );
  }
  const [hourText, minuteText, secondText, fractionText] = time;
  let hour = Number(hourText ?? 0);
  if (ampm) {
    if (hour < 1 || hour > 12) throw new DateProblem(`"${input}": hour ${hour} with ${ampm}`);
    hour = (hour % 12) + (ampm.toUpperCase() === 'PM' ? 12 : 0);
  }
  const minute = Number(minuteText ?? 0);
  const second = Number(secondText ?? 0);
  const fraction = Number((fractionText ?? '').padEnd(7, '0'));
  const y = Number(year);
  const d = Number(day);
  if (month < 1 || month > 12 || d < 1 || d > daysInMonth(y, month) || hour > 23 || minute > 59 || second > 59)
    throw new DateProblem(`"${input}" is not a valid date and time`);
  let epochMs = utcMs(y, month, d, hour, minute, second, Math.floor(fraction / 10_000));
  if (zone && !/^(z|gmt|utc)$/i.test(zone)) {
    const [, sign, hh, mm] = /^([+-])(\d{1,2}):?(\d{2})?$/.exec(zone)!;
    epochMs -= (sign === '-' ? -1 : 1) * (Number(hh) * 60 + Number(mm ?? 0)) * 60_000;
  }
  return makeDate(epochMs, 'utc', fraction % 10_000);
}

// ---------------------------------------------------------------------------------------------
// VBA's DateAdd / DateDiff intervals, as Microsoft.VisualBasic.DateAndTime implements them

export const INTERVALS = ['yyyy', 'q', 'm', 'y', 'd', 'w', 'ww', 'h', 'n', 's'] as const;
export type Interval = (typeof INTERVALS)[number];

export function toInterval(text: string): Interval {
  const interval = INTERVALS.find((known) => known === text.trim().toLowerCase());
  if (!interval)
    throw new DateProblem(
      `an interval: yyyy (year), m (month), d (day), ww (week), h (hour), n (minute) or s (second) — not "${text}"`,
    );
  return interval;
}

function addMonths(value: DateValue, months: number): DateValue {
  const p = parts(value);
  const total = p.year * 12 + (p.month - 1) + months;
  const year = Math.floor(total / 12);
  const month = (total % 12) + 1;
  if (year < 1 || year > 9999) throw new DateProblem('the date falls outside the years 1 to 9999');
  const day = Math.min(p.day, daysInMonth(year, month)); // .NET AddMonths keeps the day, clamped to the month's end
  return makeDate(utcMs(year, month, day, p.hour, p.minute, p.second, p.ms), value.dateKind, value.subMsTicks);
}

export function dateAdd(interval: Interval, amount: number, value: DateValue): DateValue {
  const n = Math.trunc(amount);
  const plus = (ms: number) => makeDate(value.epochMs + ms, value.dateKind, value.subMsTicks);
  switch (interval) {
    case 'yyyy':
      return addMonths(value, 12 * n);
    case 'q':
      return addMonths(value, 3 * n);
    case 'm':
      return addMonths(value, n);
    case 'y':
    case 'd':
    case 'w':
      return plus(n * MS_PER_DAY);
    case 'ww':
      return plus(7 * n * MS_PER_DAY);
    case 'h':
      return plus(n * 3_600_000);
    case 'n':
      return plus(n * 60_000);
    case 's':
      return plus(n * 1000);
  }
}

/** .NET's Math.Round (to even), which VBA's CLng uses. */
function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Positive when date2 is later. Day-and-shorter intervals count whole elapsed units; months and years count calendar boundaries. */
export function dateDiff(interval: Interval, date1: DateValue, date2: DateValue): number {
  const elapsedMs = date2.epochMs - date1.epochMs + (date2.subMsTicks - date1.subMsTicks) / 10_000;
  const p1 = parts(date1);
  const p2 = parts(date2);
  switch (interval) {
    case 'y':
    case 'd':
      return Math.trunc(elapsedMs / MS_PER_DAY);
    case 'w':
      return Math.trunc(Math.trunc(elapsedMs / MS_PER_DAY) / 7);
    case 'ww': {
      // Both dates go back to their week's Sunday (VBA's default first day), then whole weeks between.
      const sunday1 = date1.epochMs - new Date(date1.epochMs).getUTCDay() * MS_PER_DAY;
      const sunday2 = date2.epochMs - new Date(date2.epochMs).getUTCDay() * MS_PER_DAY;
      return Math.trunc(roundHalfEven((sunday2 - sunday1) / MS_PER_DAY) / 7);
    }
    case 'h':
      return Math.trunc(elapsedMs / 3_600_000);
    case 'n':
      return Math.trunc(elapsedMs / 60_000);
    case 's':
      return Math.trunc(elapsedMs / 1000);
    case 'm':
      return (p2.year - p1.year) * 12 + (p2.month - p1.month);
    case 'q':
      return (p2.year - p1.year) * 4 + (Math.ceil(p2.month / 3) - Math.ceil(p1.month / 3));
    case 'yyyy':
      return p2.year - p1.year;
  }
}

// ---------------------------------------------------------------------------------------------
// Active Directory file times (100 ns since 1601-01-01 UTC), for DateFromNum and NumFromDate

export function fromFileTime(fileTime: bigint): DateValue {
  if (fileTime < 0n) throw new DateProblem(`${fileTime} is not an AD date (negative)`);
  const sinceEpoch = fileTime - FILETIME_EPOCH_OFFSET;
  let ms = sinceEpoch / 10_000n;
  let sub = sinceEpoch % 10_000n;
  if (sub < 0n) {
    ms -= 1n;
    sub += 10_000n;
  }
  if (ms > 253_402_300_799_999n)
    throw new DateProblem(`${fileTime} is not an AD date (after the year 9999; "never" in AD)`);
  return makeDate(Number(ms), 'utc', Number(sub));
}

export function toFileTime(value: DateValue): bigint {
  const fileTime = BigInt(value.epochMs) * 10_000n + BigInt(value.subMsTicks) + FILETIME_EPOCH_OFFSET;
  if (fileTime < 0n) throw new DateProblem('dates before 1601 have no AD file time');
  return fileTime;
}
