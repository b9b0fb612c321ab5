import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import { planHashOf } from '../src/activities/groups';
import { canonicalJson } from '../src/scim/canonical';
import {
  assertFilteredRemovals,
  groupsWhoseMembersMatter,
  MemberIndex,
  planGroups,
  removeMemberOperation,
  slices,
  type GroupRules,
  type SourceGroup,
} from '../src/scim/group-reconcile';

// Group planning is pure: these pin what a plan contains for each kind of source and provider state.

const rules: GroupRules = {
  matchKey: 'displayName',
  memberKey: 'userName',
  scope: {},
  protectedGroups: [],
  deprovision: 'empty',
};
const users = [
  { id: 'u1', userName: 'alice@corp.example' },
  { id: 'u2', userName: 'bob@corp.example' },
  { id: 'u3', userName: 'carol@corp.example' },
  { id: 'd1', userName: 'dup@corp.example' },
  { id: 'd2', userName: 'DUP@corp.example' },
];
const group = (displayName: string, members: string[], origin = 'test'): SourceGroup => ({
  displayName,
  members,
  origin,
});

describe('planGroups', () => {
  it('creates missing groups, diffs memberships case-insensitively, and empties groups gone from the source', () => {
    const members = new Map([
      ['g1', new Set(['u1', 'u3'])],
      ['g2', new Set(['u2'])],
    ]);
    const plan = planGroups(
      [group('Sales', ['ALICE@corp.example', 'bob@corp.example']), group('Support', ['carol@corp.example'])],
      [
        { id: 'g1', displayName: 'sales' },
        { id: 'g2', displayName: 'Old' },
      ],
      users,
      (id) => members.get(id) ?? new Set(),
      rules,
    );
    assert.deepEqual(plan.problems, []);
    assert.deepEqual(
      plan.changes.map((c) => [c.action, c.displayName, c.add, c.remove]),
      [
        ['update', 'Sales', ['u2'], ['u3']],
        ['create', 'Support', ['u3'], []],
        ['empty', 'Old', [], ['u2']],
      ],
    );
    assert.equal(plan.changes[0].rename, 'Sales', 'a case-only difference of displayName is written as a rename');
    assert.equal(plan.changes[0].renamedFrom, 'sales', 'the name it had when planned, for the journal');
    assert.equal(plan.managedMemberships, 3);
  });

  it("names the member that matches no user or several, and holds back that group's removals", () => {
    const plan = planGroups(
      [group('Sales', ['alice@corp.example', 'ghost@corp.example', 'dup@corp.example'], 'groups.csv line 2')],
      [{ id: 'g1', displayName: 'Sales' }],
      users,
      () => new Set(['u2']),
      rules,
    );
    assert.deepEqual(
      plan.problems.map((p) => p.reason),
      [
        'member "ghost@corp.example" matches no provider user (by userName)',
        'member "dup@corp.example" matches 2 provider users (ids d1, d2): resolve the duplicate at the provider',
      ],
    );
    assert.equal(plan.problems[0].origin, 'groups.csv line 2');
    assert.deepEqual([plan.changes[0].add, plan.changes[0].remove, plan.changes[0].removalsHeld], [['u1'], [], true]);
  });

  it('reports duplicate names, nested groups and cycles per group, and never empties the groups they name', () => {
    const plan = planGroups(
      [
        group('A', ['B'], 'line 2'),
        group('B', ['A'], 'line 3'),
        group('Outer', ['Inner'], 'line 4'),
        group('Inner', ['alice@corp.example'], 'line 5'),
        group('Twice', [], 'line 6'),
        group('twice', [], 'line 7'),
      ],
      [{ id: 'gt', displayName: 'Twice' }],
      users,
      () => new Set(['u1']),
      rules,
    );
    const reasons = new Map(plan.problems.map((p) => [`${p.group}@${p.origin}`, p.reason]));
    assert.equal(reasons.get('A@line 2'), 'cycle: a → b → a (nested groups are not supported)');
    assert.equal(reasons.get('B@line 3'), 'cycle: b → a → b (nested groups are not supported)');
    assert.equal(
      reasons.get('Outer@line 4'),
      'nested groups are not supported: member "Inner" is a group of the source',
    );
    assert.match(reasons.get('Twice@line 6') ?? '', /displayName "Twice" is given 2 times \(line 6, line 7\)/);
    assert.deepEqual(
      plan.changes.map((c) => `${c.action} ${c.displayName}`),
      ['create Inner'],
      'the duplicated provider group is neither updated nor emptied',
    );
  });

  it('never empties a provider group whose source group lacks the match key', () => {
    const plan = planGroups(
      [group('Sales', ['alice@corp.example'], 'line 2')],
      [{ id: 'g1', displayName: 'Sales' }],
      users,
      () => new Set(['u1']),
      { ...rules, matchKey: 'externalId' },
    );
    assert.deepEqual(
      plan.problems.map((p) => p.reason),
      ["externalId: required to match the group (the sync's group match key)"],
    );
    assert.deepEqual(plan.changes, []);
  });

  it('keeps protected and out-of-scope groups, and deletes with deprovision delete', () => {
    const plan = planGroups(
      [],
      [
        { id: 'g1', displayName: 'Admins' },
        { id: 'g2', displayName: 'hr-old' },
        { id: 'g3', displayName: 'Other' },
      ],
      users,
      () => new Set(['u1']),
      {
        ...rules,
        protectedGroups: ['admins'],
        scope: { displayNamePrefix: 'HR-' },
        deprovision: 'delete',
      },
    );
    assert.deepEqual(
      plan.changes.map((c) => `${c.action} ${c.displayName}`),
      ['protected Admins', 'delete hr-old', 'out-of-scope Other'],
    );
    assert.equal(plan.managedGroups, 1);
  });
});

describe('planning at scale', () => {
  it('keeps in the member index only the users the source names, one id per key, every id of a shared key', () => {
    const source = [group('Sales', ['ALICE@corp.example', 'dup@corp.example', 'ghost@corp.example'])];
    const index = new MemberIndex('userName', MemberIndex.keysNamedBy(source, 'userName'));
    for (const u of [...users, users[0]]) index.add(u.id, u.userName); // alice listed twice (a page shifted)
    assert.deepEqual(index.lookup('alice@CORP.example'), ['u1'], 'listed twice, still one user');
    assert.deepEqual(index.lookup('dup@corp.example'), ['d1', 'd2']);
    assert.deepEqual(index.lookup('bob@corp.example'), [], 'a user the source never names is not kept');
    const plan = planGroups(source, [], index, () => new Set(), rules);
    assert.deepEqual(plan.changes[0].add, ['u1']);
    assert.equal(plan.problemCount, 2);
    assert.throws(
      () => planGroups(source, [], index, () => new Set(), { ...rules, memberKey: 'externalId' }),
      /by userName/,
    );
  });

  it('counts every problem and keeps the first maxProblems', () => {
    const ghosts = Array.from({ length: 50 }, (_, i) => `ghost${i}@corp.example`);
    const plan = planGroups([group('Sales', ghosts)], [], users, () => new Set(), rules, 3);
    assert.equal(plan.problemCount, 50);
    assert.deepEqual(
      plan.problems.map((p) => p.reason),
      ghosts.slice(0, 3).map((g) => `member "${g}" matches no provider user (by userName)`),
    );
  });

  it('reads current members only of groups in scope or matched by the source, never of protected ones', () => {
    const ids = groupsWhoseMembersMatter(
      [group('Sales', [])],
      [
        { id: 'g1', displayName: 'hr-payroll' },
        { id: 'g2', displayName: 'SALES' },
        { id: 'g3', displayName: 'Other' },
        { id: 'g4', displayName: 'HR-Admins' },
      ],
      { ...rules, scope: { displayNamePrefix: 'HR-' }, protectedGroups: ['hr-admins'] },
    );
    assert.deepEqual([...ids].sort(), ['g1', 'g2']);
  });

  it('hashes the plan change by change to the SHA-256 of its canonical JSON', () => {
    const plan = planGroups(
      [group('Sales', ['alice@corp.example']), group('Support', ['bob@corp.example'])],
      [{ id: 'g1', displayName: 'Sales', externalId: 'x' }],
      users,
      () => new Set(['u3']),
      rules,
    );
    const whole = createHash('sha256')
      .update(canonicalJson({ tenant: 't"1', rules, changes: plan.changes }))
      .digest('hex');
    assert.equal(planHashOf('t"1', rules, plan.changes), whole);
    assert.equal(
      planHashOf('t', rules, []),
      createHash('sha256')
        .update(canonicalJson({ tenant: 't', rules, changes: [] }))
        .digest('hex'),
    );
  });
});

describe('member removals', () => {
  it('always carry a value filter; a PatchOp with an unfiltered member remove is refused', () => {
    assert.deepEqual(removeMemberOperation('a"b'), { op: 'remove', path: 'members[value eq "a\\"b"]' });
    assertFilteredRemovals([removeMemberOperation('u1'), { op: 'add', path: 'members', value: [{ value: 'u2' }] }]);
    assert.throws(
      () => assertFilteredRemovals([{ op: 'remove', path: 'members' }]),
      /needs the filter members\[value eq "id"\]/,
    );
    assert.throws(() => assertFilteredRemovals([{ op: 'remove' } as never]), /without a path/);
    assert.deepEqual(slices([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
  });
});
