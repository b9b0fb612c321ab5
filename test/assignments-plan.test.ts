import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  employeeOf,
  managedSkillNames,
  NICE_USER_EXTENSION,
  parseSkillsCell,
  planAssignments,
  readAssignments,
  resolveSkillNames,
  verifyTeam,
  type AssignmentInputs,
  type ProviderSkill,
  type RawAssignment,
} from '../src/scim/assignments';
import type { MatchResult } from '../src/scim/user-match';

const COLUMNS = { key: 'userName', skills: 'skills', team: 'team' };
const SKILLS: ProviderSkill[] = [
  { skillId: 101, skillName: 'Sales', isActive: true },
  { skillId: 102, skillName: 'Support', isActive: true },
  { skillId: 103, skillName: 'Billing', isActive: true },
  { skillId: 104, skillName: 'Twin', isActive: true },
  { skillId: 105, skillName: 'twin', isActive: true },
];
const TEAMS = new Map([
  ['red', { kind: 'one' as const, value: { id: 't-red', name: 'Red' } }],
  ['blue', { kind: 'one' as const, value: { id: 't-blue', name: 'Blue' } }],
  ['ghost', { kind: 'none' as const }],
]);

const employee = (id: string, agentId?: number, team?: string): MatchResult => ({
  kind: 'one',
  resource: {
    id,
    userName: `${id}@corp.example`,
    [NICE_USER_EXTENSION]: {
      ...(agentId !== undefined ? { agentId } : {}),
      ...(team ? { team: { value: team } } : {}),
    },
  },
});

/** Plans `rows` (userName, skills, team) against holders and employees; managed skills from the rows unless `explicit`. */
function plan(
  rows: Array<[string | undefined, string | undefined, string | undefined]>,
  holders: Record<number, Record<number, number>>,
  employees: MatchResult[],
  explicit?: string[],
) {
  const raw: RawAssignment[] = rows.map(([userName, skills, team], i) => ({
    origin: `users.csv line ${i + 2}`,
    userName,
    skills,
    team,
  }));
  const read = readAssignments(raw, COLUMNS);
  const inputs: AssignmentInputs = {
    records: read.records,
    unidentified: read.unidentified,
    readProblems: read.problems,
    skills: resolveSkillNames(managedSkillNames(read.records, explicit), SKILLS),
    holders: new Map(
      Object.entries(holders).map(([skill, agents]) => [
        Number(skill),
        new Map(Object.entries(agents).map(([a, p]) => [Number(a), p])),
      ]),
    ),
    employees,
    teams: TEAMS,
  };
  return planAssignments(inputs);
}

describe('parseSkillsCell', () => {
  it('reads Name:proficiency pairs, trimming and ignoring empty parts', () => {
    assert.deepEqual(parseSkillsCell(' Sales:5 ; Support : 3;; '), {
      ok: true,
      skills: [
        { name: 'Sales', proficiency: 5 },
        { name: 'Support', proficiency: 3 },
      ],
    });
    assert.deepEqual(parseSkillsCell(''), { ok: true, skills: [] });
    assert.deepEqual(parseSkillsCell('Tier:2:Escalations:20'), {
      ok: true,
      skills: [{ name: 'Tier:2:Escalations', proficiency: 20 }],
    });
  });

  it('refuses a name without proficiency, a proficiency outside 1..20 or not an integer, a repeat and an empty name', () => {
    const reason = (cell: string) => {
      const parsed = parseSkillsCell(cell);
      assert.equal(parsed.ok, false, cell);
      return (parsed as { reason: string }).reason;
    };
    assert.match(reason('Sales'), /"Sales" has no proficiency: write Name:proficiency \(1\.\.20\)/);
    assert.match(reason('Sales:0'), /proficiency must be an integer 1\.\.20, got "0"/);
    assert.match(reason('Sales:21'), /got "21"/);
    assert.match(reason('Sales:2.5'), /got "2\.5"/);
    assert.match(reason('Sales:-1'), /got "-1"/);
    assert.match(reason('Sales:'), /got ""/);
    assert.match(reason('Sales:3;sales:4'), /skill "sales" is given twice/);
    assert.match(reason(':4'), /no skill name/);
  });
});

describe('readAssignments and managedSkillNames', () => {
  it('names the line and the column of a bad cell, keeps the record (its employee is still looked up) and counts records without a key', () => {
    const read = readAssignments(
      [
        { origin: 'users.csv line 2', userName: 'a@x', skills: 'Sales:5', team: 'Red' },
        { origin: 'users.csv line 3', userName: 'b@x', skills: 'Sales:x' },
        { origin: 'users.csv line 4', userName: '  ', skills: 'Sales:1' },
        { origin: 'users.json record 1', userName: 'c@x', skills: ['Sales:1'] },
        { origin: 'users.json record 2', userName: 'd@x', team: 7 },
      ],
      { key: 'email', skills: 'skillset', team: 'team' },
    );
    assert.deepEqual(
      read.records.map((r) => [r.origin, r.userName, r.problem ?? 'ok']),
      [
        ['users.csv line 2', 'a@x', 'ok'],
        ['users.csv line 3', 'b@x', 'column skillset: "Sales:x": proficiency must be an integer 1..20, got "x"'],
        ['users.json record 1', 'c@x', 'column skillset: must be text such as "Sales:5;Support:3"'],
        ['users.json record 2', 'd@x', 'column team: must be a team name'],
      ],
    );
    assert.equal(read.unidentified, 1);
    assert.deepEqual(read.problems, [
      { origin: 'users.csv line 4', reason: 'column email: empty, so the record names no employee' },
    ]);
  });

  it('manages the skills named anywhere in the source, or exactly the explicit list', () => {
    const { records } = readAssignments(
      [
        { origin: 'l2', userName: 'a', skills: 'Sales:1;Support:2' },
        { origin: 'l3', userName: 'b', skills: 'support:3;Billing:4' },
      ],
      COLUMNS,
    );
    assert.deepEqual(managedSkillNames(records), ['Sales', 'Support', 'Billing']);
    assert.deepEqual(managedSkillNames(records, ['Billing', ' billing ', '']), ['Billing']);
  });
});

describe('resolveSkillNames, verifyTeam and employeeOf', () => {
  it('resolves skill names without case; two skills of one name are ambiguous; an unknown one is none', () => {
    const resolved = resolveSkillNames(['SALES', 'Twin', 'Nope'], SKILLS);
    assert.deepEqual(resolved.get('sales'), { kind: 'one', value: SKILLS[0] });
    assert.deepEqual(resolved.get('twin'), { kind: 'ambiguous', ids: ['104', '105'] });
    assert.deepEqual(resolved.get('nope'), { kind: 'none' });
  });

  it('keeps only teams whose name really is the one asked for', () => {
    const teams = [
      { id: '1', name: 'Sales' },
      { id: '2', name: 'Sales East' },
    ];
    assert.deepEqual(verifyTeam('sales', teams), { kind: 'one', value: teams[0] });
    assert.deepEqual(verifyTeam('Support', teams), { kind: 'none' });
    assert.deepEqual(verifyTeam('Sales', [...teams, { id: '3', name: 'SALES' }]), {
      kind: 'ambiguous',
      ids: ['1', '3'],
    });
  });

  it('reads agentId and team from the NICE extension', () => {
    assert.deepEqual(
      employeeOf({ id: 'u1', [NICE_USER_EXTENSION]: { agentId: 7, team: { value: 't1', display: 'Red' } } }),
      { id: 'u1', agentId: 7, team: { value: 't1', display: 'Red' } },
    );
    assert.deepEqual(employeeOf({ id: 'u2', [NICE_USER_EXTENSION]: { agentId: '8' } }), { id: 'u2', agentId: 8 });
    assert.deepEqual(employeeOf({ id: 'u3' }), { id: 'u3' });
  });
});

describe('planAssignments', () => {
  it('plans only differences: a proficiency change, an add, a removal and a team change; the rest is unchanged', () => {
    const result = plan(
      [
        ['a@corp.example', 'Sales:5;Support:3', 'Red'],
        ['b@corp.example', 'Sales:2', 'Blue'],
        ['c@corp.example', 'Support:1', 'Blue'],
      ],
      { 101: { 1: 4, 2: 2 }, 102: { 2: 6, 3: 1 } },
      [employee('a', 1, 't-red'), employee('b', 2, 't-red'), employee('c', 3, 't-blue')],
    );
    assert.deepEqual(result.problems, []);
    assert.deepEqual(
      result.changes.map((c) => [c.action, c.userName, c.skillName ?? c.teamName, c.from ?? c.fromTeam, c.proficiency]),
      [
        ['set-proficiency', 'a@corp.example', 'Sales', 4, 5],
        ['add-skill', 'a@corp.example', 'Support', undefined, 3],
        ['set-team', 'b@corp.example', 'Blue', 't-red', undefined],
        ['remove-skill', 'b@corp.example', 'Support', 6, undefined],
      ],
    );
    assert.deepEqual(result.counts, {
      teamChanges: 1,
      skillAdds: 1,
      proficiencyChanges: 1,
      skillRemovals: 1,
      unchanged: 1,
      errors: 0,
    });
    assert.equal(result.managedMemberships, 4);
    const team = result.changes.find((c) => c.action === 'set-team');
    assert.deepEqual([team?.userId, team?.teamId], ['b', 't-blue']);
  });

  it('never touches skills the run does not manage, and with an explicit list manages exactly those', () => {
    const holders = { 101: { 1: 3 }, 103: { 1: 9, 9: 9 } };
    const implicit = plan([['a@corp.example', 'Sales:3', undefined]], holders, [employee('a', 1)]);
    assert.deepEqual(implicit.changes, [], 'Billing (103) is not named in the source: kept');
    assert.equal(implicit.managedMemberships, 1);
    const explicit = plan([['a@corp.example', '', undefined]], holders, [employee('a', 1)], ['Billing']);
    assert.deepEqual(
      explicit.changes.map((c) => [c.action, c.agentId, c.skillId, c.userName]),
      [
        ['remove-skill', 1, 103, 'a@corp.example'],
        ['remove-skill', 9, 103, undefined],
      ],
      'an empty cell removes the managed skills; an agent the source does not list loses them too; Sales is not managed',
    );
  });

  it('removes a managed skill from agents the source does not list, sorted by skill and agent', () => {
    const result = plan([['a@corp.example', 'Sales:3', undefined]], { 101: { 1: 3, 8: 1, 5: 2 } }, [employee('a', 1)]);
    assert.deepEqual(
      result.changes.map((c) => [c.action, c.agentId, c.from]),
      [
        ['remove-skill', 5, 2],
        ['remove-skill', 8, 1],
      ],
    );
    assert.equal(result.removalsHeld, undefined);
  });

  it('makes every unresolvable thing an error of its record, writes nothing for it, and still protects its agent', () => {
    const result = plan(
      [
        ['a@corp.example', 'Sales:3;Nope:2', undefined],
        ['b@corp.example', 'Sales:3', 'Ghost'],
        ['nobody@corp.example', 'Sales:1', undefined],
        ['d@corp.example', 'Sales:x', undefined],
        ['e@corp.example', 'Twin:2', undefined],
        ['f@corp.example', 'Sales:1', 'Purple'],
      ],
      { 101: { 1: 1, 2: 1, 4: 1, 6: 1 } },
      [employee('a', 1), employee('b', 2), { kind: 'none' }, employee('d', 4), employee('e', 5), employee('f', 6)],
    );
    assert.deepEqual(
      result.problems.map((p) => `${p.origin} ${p.userName}: ${p.reason}`),
      [
        'users.csv line 2 a@corp.example: skill "Nope" does not exist in the tenant',
        'users.csv line 3 b@corp.example: team "Ghost" does not exist',
        'users.csv line 4 nobody@corp.example: no employee has userName "nobody@corp.example"',
        'users.csv line 5 d@corp.example: column skills: "Sales:x": proficiency must be an integer 1..20, got "x"',
        'users.csv line 6 e@corp.example: skill "Twin" names 2 skills (ids 104, 105)',
        'users.csv line 7 f@corp.example: team "Purple" does not exist',
      ],
    );
    assert.deepEqual(result.changes, [], 'nothing written for them, and their agents (1, 2, 4, 6) keep Sales');
    assert.equal(result.counts.errors, 6);
  });

  it('refuses a userName given twice, and an employee without agentId when skills are managed', () => {
    const result = plan(
      [
        ['a@corp.example', 'Sales:3', undefined],
        ['A@corp.example', 'Sales:4', undefined],
        ['n@corp.example', 'Sales:4', 'Red'],
      ],
      { 101: { 1: 2 } },
      [employee('a', 1), employee('a', 1), employee('n')],
    );
    assert.deepEqual(
      result.problems.map((p) => p.reason),
      [
        'userName "a@corp.example" is given in more than one record',
        'userName "A@corp.example" is given in more than one record',
        `the employee has no agentId in ${NICE_USER_EXTENSION}, so its skills cannot be read or written`,
      ],
    );
    assert.deepEqual(result.changes, []);
  });

  it('holds back removals from unlisted agents while a record cannot be tied to one employee, but not the listed ones', () => {
    const ambiguous = plan(
      [
        ['a@corp.example', '', undefined],
        ['x@corp.example', 'Sales:1', undefined],
      ],
      { 101: { 1: 2, 7: 2 } },
      [employee('a', 1), { kind: 'ambiguous', ids: ['u1', 'u2'] }],
    );
    assert.deepEqual(
      ambiguous.changes.map((c) => [c.action, c.agentId]),
      [['remove-skill', 1]],
    );
    assert.match(
      ambiguous.removalsHeld ?? '',
      /1 removals from agents the source does not list are held back: 1 source records/,
    );
    const keyless = plan(
      [
        ['a@corp.example', 'Sales:1', undefined],
        [undefined, 'Sales:1', undefined],
      ],
      { 101: { 7: 2 } },
      [employee('a', 1)],
    );
    assert.deepEqual(
      keyless.changes.map((c) => c.action),
      ['add-skill'],
    );
    assert.ok(keyless.removalsHeld);
    assert.deepEqual(
      keyless.problems.map((p) => p.origin),
      ['users.csv line 3'],
    );
    assert.equal(keyless.counts.errors, 1);
  });

  it('leaves the team alone when the cell is empty, and sets it when the employee has none', () => {
    const result = plan(
      [
        ['a@corp.example', '', undefined],
        ['b@corp.example', '', 'red'],
      ],
      {},
      [employee('a', 1, 't-blue'), employee('b', 2)],
    );
    assert.deepEqual(
      result.changes.map((c) => [c.action, c.userName, c.teamId, c.fromTeam]),
      [['set-team', 'b@corp.example', 't-red', undefined]],
    );
  });

  it('is deterministic: the same inputs give the same changes in the same order', () => {
    const args = [
      [
        ['b@corp.example', 'Support:2;Sales:1', 'Red'],
        ['a@corp.example', 'Sales:3', 'Blue'],
      ],
      { 101: { 9: 1, 3: 1 }, 102: { 4: 4 } },
      [employee('b', 2), employee('a', 1)],
    ] as const;
    const once = plan(...(args as unknown as Parameters<typeof plan>));
    const twice = plan(...(args as unknown as Parameters<typeof plan>));
    assert.deepEqual(once, twice);
    assert.deepEqual(
      once.changes.map((c) => `${c.action}:${c.agentId ?? c.userId}:${c.skillId ?? c.teamId}`),
      [
        'set-team:b:t-red',
        'add-skill:2:102',
        'add-skill:2:101',
        'set-team:a:t-blue',
        'add-skill:1:101',
        'remove-skill:3:101',
        'remove-skill:9:101',
        'remove-skill:4:102',
      ],
    );
  });
});
