import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addDays,
  canonicalTimeZone,
  checkCalendarDate,
  checkDatesSettings,
  datedDisposition,
  datedFacts,
  endOfLocalDay,
  localIso,
  parseLeadTime,
  startOfLocalDay,
  type DatedAction,
} from '../src/scim/dated-actions';
import {
  applyPlan,
  cancelAction,
  initialState,
  parseDatedActionId,
  datedActionId,
  takeDue,
  type DatedPlan,
} from '../src/workflows/dated/schedule';

const iso = (ms: number) => new Date(ms).toISOString();

describe('local start and end of day', () => {
  it('is local midnight on an ordinary day, and the end is the next local midnight', () => {
    assert.equal(iso(startOfLocalDay('2027-01-15', 'Europe/Paris')), '2027-01-14T23:00:00.000Z');
    assert.equal(iso(endOfLocalDay('2027-01-15', 'Europe/Paris')), '2027-01-15T23:00:00.000Z');
    assert.equal(iso(startOfLocalDay('2027-01-15', 'America/New_York')), '2027-01-15T05:00:00.000Z');
    assert.equal(iso(startOfLocalDay('2027-01-15', 'Asia/Kolkata')), '2027-01-14T18:30:00.000Z');
    assert.equal(iso(startOfLocalDay('2027-01-15', 'UTC')), '2027-01-15T00:00:00.000Z');
  });

  it('makes a spring-forward day 23 hours and a fall-back day 25 hours long (Europe/London)', () => {
    const spring = '2027-03-28';
    assert.equal(iso(startOfLocalDay(spring, 'Europe/London')), '2027-03-28T00:00:00.000Z');
    assert.equal(iso(endOfLocalDay(spring, 'Europe/London')), '2027-03-28T23:00:00.000Z');
    assert.equal(endOfLocalDay(spring, 'Europe/London') - startOfLocalDay(spring, 'Europe/London'), 23 * 3600_000);
    const autumn = '2027-10-31';
    assert.equal(iso(startOfLocalDay(autumn, 'Europe/London')), '2027-10-30T23:00:00.000Z');
    assert.equal(endOfLocalDay(autumn, 'Europe/London') - startOfLocalDay(autumn, 'Europe/London'), 25 * 3600_000);
  });

  it('starts a day whose midnight did not exist at the end of the gap (America/Sao_Paulo, 2018-11-04)', () => {
    // Clocks went from 23:59:59 on the 3rd straight to 01:00 on the 4th.
    const start = startOfLocalDay('2018-11-04', 'America/Sao_Paulo');
    assert.equal(iso(start), '2018-11-04T03:00:00.000Z');
    assert.equal(localIso(start, 'America/Sao_Paulo'), '2018-11-04T01:00:00-02:00');
    assert.equal(localIso(start - 1000, 'America/Sao_Paulo'), '2018-11-03T23:59:59-03:00');
    assert.equal(endOfLocalDay('2018-11-03', 'America/Sao_Paulo'), start);
    // …and back on 2019-02-17 at 00:00, to 23:00 on the 16th: the 16th lasted 25 hours.
    assert.equal(iso(endOfLocalDay('2019-02-16', 'America/Sao_Paulo')), '2019-02-17T03:00:00.000Z');
  });

  it('starts a day that does not exist (Pacific/Apia skipped 2011-12-30) where the next day starts', () => {
    assert.equal(startOfLocalDay('2011-12-30', 'Pacific/Apia'), startOfLocalDay('2011-12-31', 'Pacific/Apia'));
    assert.equal(iso(endOfLocalDay('2011-12-29', 'Pacific/Apia')), '2011-12-30T10:00:00.000Z');
  });

  it('counts a lead time in calendar days across a change (7 days before 2027-03-29 in Paris is 167 hours)', () => {
    const start = startOfLocalDay('2027-03-29', 'Europe/Paris');
    const lead = startOfLocalDay(addDays('2027-03-29', -7), 'Europe/Paris');
    assert.equal(start - lead, (7 * 24 - 1) * 3600_000);
    assert.equal(addDays('2028-03-01', -1), '2028-02-29');
    assert.equal(addDays('2026-12-31', 1), '2027-01-01');
  });
});

describe('dated settings and record checks', () => {
  it('accepts only real days written YYYY-MM-DD', () => {
    assert.equal(checkCalendarDate('2028-02-29'), undefined);
    assert.match(checkCalendarDate('2027-02-29') ?? '', /not a day of the calendar/);
    assert.match(checkCalendarDate('2027-13-01') ?? '', /not a day of the calendar/);
    assert.match(checkCalendarDate('31/12/2027') ?? '', /not a date in the form YYYY-MM-DD/);
    assert.match(checkCalendarDate('2027-1-5') ?? '', /YYYY-MM-DD/);
  });

  it('knows IANA zones by their canonical names and refuses others', () => {
    assert.equal(canonicalTimeZone('europe/paris'), 'Europe/Paris');
    assert.equal(canonicalTimeZone('Mars/Olympus'), undefined);
    assert.equal(canonicalTimeZone(''), undefined);
  });

  it('reads lead times in days, or none', () => {
    assert.deepEqual(parseLeadTime('7 days'), { days: 7 });
    assert.deepEqual(parseLeadTime('1 day'), { days: 1 });
    assert.deepEqual(parseLeadTime(undefined), { days: null });
    assert.deepEqual(parseLeadTime('none'), { days: null });
    assert.match((parseLeadTime('1 week') as { problem: string }).problem, /"N days"/);
  });

  it('reports every settings problem at once, each naming its field', () => {
    const checked = checkDatesSettings({ defaultTimeZone: 'Nowhere/Town', leadTime: 'soon' });
    assert.equal(checked.ok, false);
    const problems = (checked as { problems: string[] }).problems.join('\n');
    assert.match(problems, /name a start column, a lastDay column or both/);
    assert.match(problems, /dates\.defaultTimeZone: "Nowhere\/Town" is not an IANA time zone/);
    assert.match(problems, /dates\.leadTime: "soon"/);
    const good = checkDatesSettings({ start: 'start_date', defaultTimeZone: 'europe/paris', leadTime: '3 days' });
    assert.deepEqual(good.ok && [good.value.defaultTimeZone, good.value.leadDays], ['Europe/Paris', 3]);
  });

  it('names the line and the column of a bad date or zone, and keeps going for the other fields', () => {
    const settings = { start: 'start_date', lastDay: 'last_day', timeZone: 'tz', defaultTimeZone: 'UTC' };
    const bad = datedFacts({ start_date: '2027-02-30', last_day: 'soon', tz: 'Mars/Base' }, settings, 'line 4');
    assert.equal(bad.ok, false);
    assert.deepEqual((bad as { problems: string[] }).problems, [
      'line 4, column "start_date": "2027-02-30" is not a day of the calendar',
      'line 4, column "last_day": "soon" is not a date in the form YYYY-MM-DD',
      'line 4, column "tz": "Mars/Base" is not an IANA time zone',
    ]);
    const reversed = datedFacts({ start_date: '2027-05-01', last_day: '2027-04-30' }, settings, 'line 5');
    assert.match(
      (reversed as { problems: string[] }).problems[0],
      /line 5, column "last_day": last day 2027-04-30 is before/,
    );
  });

  it('takes the zone from the column, else the mapped CXone timezone, else the default', () => {
    const settings = { start: 's', timeZone: 'tz', defaultTimeZone: 'Europe/Paris' };
    const zoneOf = (record: Record<string, unknown>, user?: Record<string, unknown>) => {
      const facts = datedFacts(record, settings, 'record 1', user);
      return facts.ok ? facts.value.timeZone : facts.problems.join();
    };
    assert.equal(zoneOf({ s: '2027-01-01', tz: 'Asia/Tokyo' }, { timezone: 'America/Chicago' }), 'Asia/Tokyo');
    assert.equal(zoneOf({ s: '2027-01-01', tz: '' }, { timezone: 'America/Chicago' }), 'America/Chicago');
    assert.equal(zoneOf({ s: '2027-01-01' }), 'Europe/Paris');
    const none = datedFacts({ s: '2027-01-01' }, { start: 's', timeZone: 'tz' }, 'line 2');
    assert.match((none as { problems: string[] }).problems[0], /line 2: no time zone/);
  });
});

describe('datedDisposition', () => {
  const now = Date.parse('2027-03-10T12:00:00Z');
  const paris = (facts: { start?: string; lastDay?: string }) => ({
    ...facts,
    timeZone: 'Europe/Paris',
    where: 'line 2',
  });
  const kinds = (actions: DatedAction[]) => actions.map((a) => `${a.kind}@${a.at}`);

  it('creates active when the start has begun and there is no last day', () => {
    assert.deepEqual(datedDisposition(paris({ start: '2027-03-10' }), now, 7), { kind: 'create-active', actions: [] });
    assert.deepEqual(datedDisposition(paris({}), now, 7), { kind: 'create-active', actions: [] });
  });

  it('creates inactive within the lead time, and schedules the activation at local start of day one', () => {
    const d = datedDisposition(paris({ start: '2027-03-15' }), now, 7);
    assert.equal(d.kind, 'create-inactive-and-schedule');
    assert.deepEqual(kinds(d.actions), ['activate@2027-03-14T23:00:00.000Z']);
  });

  it('defers a joiner before the lead time: create inactive then, activate at the start (across DST)', () => {
    const d = datedDisposition(paris({ start: '2027-03-29' }), now, 7);
    assert.equal(d.kind, 'defer');
    assert.deepEqual(kinds(d.actions), ['create@2027-03-21T23:00:00.000Z', 'activate@2027-03-28T22:00:00.000Z']);
    assert.equal(d.actions[0].active, false);
    assert.equal(d.actions[1].localAt, '2027-03-29T00:00:00+02:00');
    assert.match(d.actions[0].reason, /7 days before start date 2027-03-29 \(line 2\)/);
  });

  it('without a lead time, creates the joiner active at the start of day one', () => {
    const d = datedDisposition(paris({ start: '2027-03-15' }), now, null);
    assert.equal(d.kind, 'defer');
    assert.equal(d.actions.length, 1);
    assert.deepEqual(
      [d.actions[0].kind, d.actions[0].active, d.actions[0].at],
      ['create', true, '2027-03-14T23:00:00.000Z'],
    );
  });

  it('schedules a leaver at the local end of the last day, and deactivates one whose last day is over', () => {
    const d = datedDisposition(paris({ lastDay: '2027-03-31' }), now, 7);
    assert.equal(d.kind, 'schedule-deactivation');
    assert.deepEqual(kinds(d.actions), ['deactivate@2027-03-31T22:00:00.000Z']);
    assert.equal(d.actions[0].localAt, '2027-04-01T00:00:00+02:00');
    assert.equal(datedDisposition(paris({ lastDay: '2027-03-09' }), now, 7).kind, 'deactivate-now');
    // The last day is today: still active until local midnight.
    assert.equal(datedDisposition(paris({ lastDay: '2027-03-10' }), now, 7).kind, 'schedule-deactivation');
  });

  it('lets the last day win over a start in the future, and schedules both for a fixed-term joiner', () => {
    assert.equal(
      datedDisposition(paris({ start: '2027-04-01', lastDay: '2027-03-01' }), now, 7).kind,
      'deactivate-now',
    );
    const d = datedDisposition(paris({ start: '2027-03-12', lastDay: '2027-06-30' }), now, 7);
    assert.equal(d.kind, 'create-inactive-and-schedule');
    assert.deepEqual(
      d.actions.map((a) => a.kind),
      ['activate', 'deactivate'],
    );
  });
});

describe('a user schedule', () => {
  const action = (kind: 'activate' | 'deactivate', at: string): DatedAction => ({
    kind,
    at,
    localAt: at,
    timeZone: 'UTC',
    date: at.slice(0, 10),
    reason: 'test',
  });
  const plan = (plannedAt: string, ...actions: DatedAction[]): DatedPlan => ({ plannedAt, actions });
  const empty = initialState('acme', 'jane@corp.example');

  it('moves an action whose date moved, keeping one entry per kind and where it came from', () => {
    let s = applyPlan(empty, plan('2027-01-01T00:00:00Z', action('deactivate', '2027-02-01T00:00:00.000Z'))).state;
    const moved = applyPlan(s, plan('2027-01-02T00:00:00Z', action('deactivate', '2027-03-01T00:00:00.000Z')));
    s = moved.state;
    assert.deepEqual(moved.changes, ['deactivate moved from 2027-02-01T00:00:00.000Z to 2027-03-01T00:00:00.000Z']);
    assert.equal(s.live.length, 1);
    assert.deepEqual(s.live[0].movedFrom, ['2027-02-01T00:00:00.000Z']);
  });

  it('removes an action the source no longer asks for, and ignores a plan older than the last one', () => {
    const s = applyPlan(empty, plan('2027-01-02T00:00:00Z', action('deactivate', '2027-02-01T00:00:00.000Z'))).state;
    const stale = applyPlan(s, plan('2027-01-01T00:00:00Z'));
    assert.equal(stale.ignored, true);
    assert.equal(stale.state.live.length, 1);
    const removed = applyPlan(s, plan('2027-01-03T00:00:00Z')).state;
    assert.equal(removed.live.length, 0);
    assert.equal(removed.recent[0].status, 'removed');
  });

  it('keeps an operator’s cancellation for the same date, and schedules again for a new one', () => {
    const first = action('deactivate', '2027-02-01T00:00:00.000Z');
    let s = applyPlan(empty, plan('2027-01-01T00:00:00Z', first)).state;
    const cancelled = cancelAction(s, 'deactivate', 'ops', 'legal hold', Date.parse('2027-01-01T01:00:00Z'));
    assert.equal(cancelled.entry?.status, 'held');
    assert.match(cancelAction(cancelled.state, 'deactivate', 'ops', undefined, 0).refusal ?? '', /cancelled already/);
    assert.match(cancelAction(cancelled.state, 'activate', 'ops', undefined, 0).refusal ?? '', /no pending activate/);
    s = applyPlan(cancelled.state, plan('2027-01-02T00:00:00Z', first)).state;
    assert.equal(s.live[0].status, 'held');
    // The hold ends at its instant without an action.
    const due = takeDue(s, Date.parse(first.at));
    assert.equal(due.due, undefined);
    assert.equal(due.ended?.status, 'held');
    s = applyPlan(s, plan('2027-01-03T00:00:00Z', action('deactivate', '2027-03-01T00:00:00.000Z'))).state;
    assert.equal(s.live[0].status, 'pending');
  });

  it('gives every action an id that `pending cancel` takes back', () => {
    const id = datedActionId('acme', 'jane@corp.example', 'deactivate');
    assert.deepEqual(parseDatedActionId(id), { tenant: 'acme', userName: 'jane@corp.example', kind: 'deactivate' });
    assert.equal(parseDatedActionId('acme/jane'), undefined);
    assert.equal(parseDatedActionId('acme/jane/delete'), undefined);
  });
});
