// Future-dated joiners and leavers: from a source record's start date and last working day, in the
// user's IANA time zone, to the UTC instants at which the user is created, activated and
// deactivated. Pure (no I/O), but it reads the time-zone database through Intl, whose data changes
// with the Node build: so it runs in the planner (an activity, the CLI), never in workflow code —
// workflows receive the instants it computed.
//
// Definitions (docs/workflows.md "Future-dated joiners and leavers"):
// - A calendar date is `YYYY-MM-DD`. The local start of day D in zone Z is the earliest instant
//   whose wall-clock date in Z is D or later. Where midnight does not exist (a daylight-saving
//   change at 00:00, as in America/Sao_Paulo until 2019), that is the first instant after the gap
//   (01:00 local); where a whole day was skipped (Pacific/Apia, 2011-12-30), it is the next day's start.
// - The local end of day D is the local start of day D+1 (exclusive): the last day is worked in
//   full, however long daylight saving made it (23, 24 or 25 hours).
// - A joiner's lead time is in calendar days: provisioned at the local start of (start − N days),
//   so a week's lead across a daylight-saving change is 7 × 24 ± 1 hours, as a person expects.

/** The settings of dated actions: which source fields carry the dates and the zone, and the policy. */
export interface DatesSettings {
  /** Source column (CSV) or field (JSON) of the first working day, `YYYY-MM-DD`. */
  start?: string;
  /** Source column or field of the last working day, `YYYY-MM-DD`. */
  lastDay?: string;
  /** Source column or field of the user's IANA time zone (e.g. `Europe/Paris`). */
  timeZone?: string;
  /** The zone when the record names none (neither the column nor the mapped CXone `timezone`): the tenant's. */
  defaultTimeZone?: string;
  /**
   * How long before the start a joiner is provisioned (inactive): `"N days"` (calendar days in the
   * user's zone), or `"none"` (default): not provisioned at all until the start of day one.
   */
  leadTime?: string;
}

export type DatedActionKind = 'create' | 'activate' | 'deactivate';

/** The signal datedUserActions takes a planner's DatedPlan by (its workflow defines it with this name). */
export const DATED_PLAN_SIGNAL = 'datedPlan';

/** One action at one instant. Plain JSON: workflow inputs and signals carry it. */
export interface DatedAction {
  kind: DatedActionKind;
  /** When, UTC (ISO 8601, `Z`). */
  at: string;
  /** The same instant on the user's wall clock, with its offset (`2027-03-29T00:00:00+02:00`). */
  localAt: string;
  timeZone: string;
  /** The calendar date the instant is the start (create, activate) or end (deactivate) of. */
  date: string;
  /** `create` only: whether the account is created active (lead time none) or inactive until day one. */
  active?: boolean;
  /** Why, for a person: the source field and value it comes from. */
  reason: string;
}

/** What a planner (the sync, `cxone-scim pending schedule`) sends: the user's future actions as the source now says. */
export interface DatedPlan {
  /** When the source was read (ISO): a plan older than the last one applied is ignored. */
  plannedAt: string;
  /** Which source, for the record (`hr.csv line 4`). */
  source?: string;
  /** At most one per kind; an action absent here that was pending is cancelled (the date was removed). */
  actions: DatedAction[];
  /** The SCIM User to create, when `actions` has a `create`. */
  user?: Record<string, unknown>;
}

/**
 * What the sync does with a record today:
 * - `create-active`: nothing dated stands in the way (no start date or one that has begun, no last day);
 * - `create-inactive-and-schedule`: within the lead time before the start: create (or keep) it inactive, activate later;
 * - `defer`: too early to create it (before the lead time, or lead time none): leave it out; the schedule creates it;
 * - `schedule-deactivation`: active now, deactivated at the local end of the last day;
 * - `deactivate-now`: the last day is over: deactivate (or create nothing).
 * `actions` are the future actions for the user's schedule (none for create-active and deactivate-now).
 */
export type DatedDispositionKind =
  | 'create-active'
  | 'create-inactive-and-schedule'
  | 'defer'
  | 'schedule-deactivation'
  | 'deactivate-now';

export interface DatedDisposition {
  kind: DatedDispositionKind;
  actions: DatedAction[];
}

/** The dated facts of one record, checked. */
export interface DatedFacts {
  start?: string;
  lastDay?: string;
  timeZone: string;
  /** Where the facts came from, for reasons (`line 4`, `record 2`). */
  where?: string;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; problems: string[] };

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** `YYYY-MM-DD` naming a real day (2027-02-29 is not one), or why not. */
export function checkCalendarDate(text: string): string | undefined {
  const match = DATE.exec(text);
  if (!match) return `"${text}" is not a date in the form YYYY-MM-DD`;
  const [year, month, day] = match.slice(1).map(Number);
  const probe = new Date(Date.UTC(year, month - 1, day));
  if (month < 1 || month > 12 || probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day)
    return `"${text}" is not a day of the calendar`;
  return undefined;
}

/** The calendar date `days` after `date` (negative: before). */
export function addDays(date: string, days: number): string {
  const [year, month, day] = date.split('-').map(Number);
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The zone's canonical IANA name, or undefined when the time-zone database has no such zone. */
export function canonicalTimeZone(zone: string): string | undefined {
  if (zone.trim() === '') return undefined;
  try {
    return formatterFor(zone).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

function formatterFor(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, formatter);
  }
  return formatter;
}

/** The wall clock of `instant` (epoch ms) in `zone`: date, time, and offset from UTC in minutes. */
export function wallClock(instant: number, zone: string): { date: string; time: string; offsetMinutes: number } {
  const parts = Object.fromEntries(
    formatterFor(zone)
      .formatToParts(new Date(instant))
      .map((p) => [p.type, p.value]),
  );
  const date = `${parts.year.padStart(4, '0')}-${parts.month}-${parts.day}`;
  const time = `${parts.hour}:${parts.minute}:${parts.second}`;
  const asUtc = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  const whole = instant - (((instant % 1000) + 1000) % 1000);
  return { date, time, offsetMinutes: Math.round((asUtc - whole) / 60_000) };
}

/** `2027-03-29T00:00:00+02:00`: the instant as the user's wall clock shows it. */
export function localIso(instant: number, zone: string): string {
  const { date, time, offsetMinutes } = wallClock(instant, zone);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${date}T${time}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

const DAY_MS = 86_400_000;
const startCache = new Map<string, number>();

/**
 * The local start of `date` in `zone` (epoch ms): the earliest instant whose wall-clock date is
 * `date` or later. Found by bisection over the ±2 days around UTC midnight (every real offset is
 * within ±14 h), to the second: offsets and transitions are whole seconds.
 */
export function startOfLocalDay(date: string, zone: string): number {
  const key = `${zone} ${date}`;
  const cached = startCache.get(key);
  if (cached !== undefined) return cached;
  const [year, month, day] = date.split('-').map(Number);
  const utcMidnight = Date.UTC(year, month - 1, day);
  // Invariant: the date at `low` is before `date`, the date at `high` is `date` or later.
  let low = (utcMidnight - 2 * DAY_MS) / 1000;
  let high = (utcMidnight + 2 * DAY_MS) / 1000;
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (wallClock(mid * 1000, zone).date < date) low = mid;
    else high = mid;
  }
  const start = high * 1000;
  if (startCache.size > 100_000) startCache.clear();
  startCache.set(key, start);
  return start;
}

/** The local end of `date` in `zone` (exclusive): the local start of the next day. */
export function endOfLocalDay(date: string, zone: string): number {
  return startOfLocalDay(addDays(date, 1), zone);
}

/** `"7 days"`, `"1 day"`, `"0 days"` → days; `"none"` → null; anything else: why not. */
export function parseLeadTime(text: string | undefined): { days: number | null } | { problem: string } {
  if (text === undefined || text.trim().toLowerCase() === 'none') return { days: null };
  const match = /^\s*(\d{1,3})\s*(?:d|days?)\s*$/i.exec(text);
  if (!match) return { problem: `leadTime: "${text}" is not a lead time: give "N days" (calendar days) or "none"` };
  return { days: Number(match[1]) };
}

/** The settings, checked: every problem at once, each naming its field. */
export function checkDatesSettings(settings: DatesSettings): Checked<DatesSettings & { leadDays: number | null }> {
  const problems: string[] = [];
  if (settings.start === undefined && settings.lastDay === undefined)
    problems.push('dates: name a start column, a lastDay column or both');
  for (const field of ['start', 'lastDay', 'timeZone'] as const) {
    const value = settings[field];
    if (value !== undefined && (typeof value !== 'string' || value.trim() === ''))
      problems.push(`dates.${field}: must name a source column or field`);
  }
  let defaultTimeZone: string | undefined;
  if (settings.defaultTimeZone !== undefined) {
    defaultTimeZone = canonicalTimeZone(settings.defaultTimeZone);
    if (!defaultTimeZone)
      problems.push(
        `dates.defaultTimeZone: "${settings.defaultTimeZone}" is not an IANA time zone (e.g. Europe/Paris)`,
      );
  }
  if (settings.timeZone === undefined && settings.defaultTimeZone === undefined)
    problems.push(
      'dates: give a timeZone column or a defaultTimeZone (the mapped CXone timezone is used when a record has one)',
    );
  const lead = parseLeadTime(settings.leadTime);
  if ('problem' in lead) problems.push(`dates.${lead.problem}`);
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    value: {
      ...settings,
      ...(defaultTimeZone ? { defaultTimeZone } : {}),
      leadDays: 'days' in lead ? lead.days : null,
    },
  };
}

/** A field of a raw record (CSV row or JSON object), own keys only; dotted paths reach into JSON objects. */
function fieldOf(record: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(record, name)) return record[name];
  let value: unknown = record;
  for (const part of name.split('.')) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

const blank = (value: unknown) =>
  value === undefined || value === null || (typeof value === 'string' && value.trim() === '');

/**
 * The dated facts of one raw record. `user` is the record mapped to a SCIM User: its CXone time
 * zone (`timezone` in requests, `timeZone` in responses) is the zone when the record's column is
 * empty. Problems name the place (`line 4`) and the column.
 */
export function datedFacts(
  record: Record<string, unknown>,
  settings: DatesSettings,
  where: string,
  user?: Record<string, unknown>,
): Checked<DatedFacts> {
  const problems: string[] = [];
  const dateOf = (field: 'start' | 'lastDay'): string | undefined => {
    const column = settings[field];
    if (column === undefined) return undefined;
    const value = fieldOf(record, column);
    if (blank(value)) return undefined;
    const text = String(value).trim();
    const problem = checkCalendarDate(text);
    if (problem) {
      problems.push(`${where}, column "${column}": ${problem}`);
      return undefined;
    }
    return text;
  };
  const start = dateOf('start');
  const lastDay = dateOf('lastDay');
  let timeZone: string | undefined;
  const column = settings.timeZone;
  const own = column === undefined ? undefined : fieldOf(record, column);
  const mapped = user?.timezone ?? user?.timeZone;
  if (!blank(own)) {
    timeZone = canonicalTimeZone(String(own).trim());
    if (!timeZone) problems.push(`${where}, column "${column}": "${String(own).trim()}" is not an IANA time zone`);
  } else if (!blank(mapped)) {
    timeZone = canonicalTimeZone(String(mapped).trim());
    if (!timeZone) problems.push(`${where}, mapped timezone: "${String(mapped).trim()}" is not an IANA time zone`);
  } else if (settings.defaultTimeZone !== undefined) {
    timeZone = canonicalTimeZone(settings.defaultTimeZone);
  }
  if (!timeZone && problems.length === 0 && (start !== undefined || lastDay !== undefined))
    problems.push(`${where}: no time zone (column "${column ?? '-'}" is empty and there is no defaultTimeZone)`);
  if (start !== undefined && lastDay !== undefined && lastDay < start)
    problems.push(
      `${where}, column "${settings.lastDay}": last day ${lastDay} is before the start date ${start} (column "${settings.start}")`,
    );
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    value: {
      ...(start !== undefined ? { start } : {}),
      ...(lastDay !== undefined ? { lastDay } : {}),
      timeZone: timeZone ?? 'UTC',
      where,
    },
  };
}

function action(
  kind: DatedActionKind,
  instant: number,
  facts: DatedFacts,
  date: string,
  reason: string,
  active?: boolean,
): DatedAction {
  return {
    kind,
    at: new Date(instant).toISOString(),
    localAt: localIso(instant, facts.timeZone),
    timeZone: facts.timeZone,
    date,
    ...(active !== undefined ? { active } : {}),
    reason: facts.where ? `${reason} (${facts.where})` : reason,
  };
}

/**
 * What to do with a record at `now` (epoch ms), and the future actions of its schedule. The last
 * day wins over the start: a record whose last day is over is deactivated (or never created).
 */
export function datedDisposition(facts: DatedFacts, now: number, leadDays: number | null): DatedDisposition {
  const actions: DatedAction[] = [];
  if (facts.lastDay !== undefined) {
    const end = endOfLocalDay(facts.lastDay, facts.timeZone);
    if (end <= now) return { kind: 'deactivate-now', actions: [] };
    actions.push(action('deactivate', end, facts, facts.lastDay, `end of last day ${facts.lastDay}`));
  }
  if (facts.start === undefined)
    return { kind: actions.length > 0 ? 'schedule-deactivation' : 'create-active', actions };
  const start = startOfLocalDay(facts.start, facts.timeZone);
  if (start <= now) return { kind: actions.length > 0 ? 'schedule-deactivation' : 'create-active', actions };
  const ahead: DatedAction[] = [];
  if (leadDays === null) {
    ahead.push(action('create', start, facts, facts.start, `start date ${facts.start} (no lead time)`, true));
    return { kind: 'defer', actions: [...ahead, ...actions] };
  }
  const provisionDate = addDays(facts.start, -leadDays);
  const provisionAt = startOfLocalDay(provisionDate, facts.timeZone);
  const activate = action('activate', start, facts, facts.start, `start date ${facts.start}`);
  if (provisionAt > now) {
    ahead.push(
      action('create', provisionAt, facts, provisionDate, `${leadDays} days before start date ${facts.start}`, false),
    );
    return { kind: 'defer', actions: [...ahead, activate, ...actions] };
  }
  return { kind: 'create-inactive-and-schedule', actions: [activate, ...actions] };
}

/** One line for a person: `deactivate at end of 2026-12-31 Europe/Paris (2027-01-01T00:00:00+01:00 = 2026-12-31T23:00:00.000Z)`. */
export function describeAction(
  a: Pick<DatedAction, 'kind' | 'date' | 'timeZone' | 'localAt' | 'at' | 'active'>,
): string {
  const when =
    a.kind === 'deactivate' ? `end of ${a.date}` : a.kind === 'activate' ? `start of ${a.date}` : `start of ${a.date}`;
  const what = a.kind === 'create' ? `create${a.active ? ' (active)' : ' (inactive)'}` : a.kind;
  return `${what} at ${when} ${a.timeZone} (${a.localAt} = ${a.at})`;
}
