// Per-attribute write rules of a mapping (docs/mappings.md "Per-attribute options"): `apply: "create"`,
// `defaultOnCreate` and `flowNull`, from the compiled mapping through the mapped record to the
// update diff (what classify plans for a matched user) and the PUT a provider without PATCH gets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyMapping, compileMapping, type CompiledMapping } from '../src/mapping/mapping';
import { forUpdate, mergedForPut, removedBy, updateOperations } from '../src/scim/patch';
import { classify, type ProviderUser } from '../src/scim/reconcile';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

function compiled(attributes: Record<string, unknown>): CompiledMapping {
  const result = compileMapping({ attributes });
  assert.ok(result.ok, JSON.stringify(result));
  return result.mapping;
}

const mapping = () =>
  compiled({
    userName: 'email',
    externalId: 'employee_id',
    'name.givenName': 'first',
    // Set once when the user is created (a welcome title), never overwritten by a sync.
    title: { source: 'title', apply: 'create' },
    // A new hire without a department starts in "Onboarding"; an existing user keeps theirs.
    [`${ENTERPRISE}:department`]: { source: 'dept', defaultOnCreate: 'Onboarding' },
    // An emptied cost center is removed at the provider.
    [`${ENTERPRISE}:costCenter`]: { source: 'cost_center', flowNull: true },
    'phoneNumbers[type eq "work"].value': { expression: 'IgnoreFlowIfNullOrEmpty([phone])', flowNull: true },
  });

describe('mapping rules: compiled metadata', () => {
  it('keeps apply, defaultOnCreate and flowNull on the compiled rules', () => {
    const rules = Object.fromEntries(mapping().rules.map((r) => [r.target, r]));
    assert.equal(rules.title.apply, 'create');
    assert.equal(rules[`${ENTERPRISE}:department`].defaultOnCreate, 'Onboarding');
    assert.equal(rules[`${ENTERPRISE}:costCenter`].flowNull, true);
    assert.equal(rules.userName.apply, undefined);
  });

  it('refuses contradictory or unknown options, naming the target', () => {
    const both = compileMapping({ attributes: { title: { source: 't', default: 'a', defaultOnCreate: 'b' } } });
    assert.ok(!both.ok);
    assert.match(both.problems.join(), /title: has both "default" and "defaultOnCreate"/);
    const never = compileMapping({ attributes: { title: { source: 't', apply: 'create', flowNull: true } } });
    assert.ok(!never.ok);
    assert.match(never.problems.join(), /title: "apply": "create" never writes an update/);
    const unknown = compileMapping({ attributes: { title: { source: 't', apply: 'sometimes' } } });
    assert.ok(!unknown.ok);
    assert.match(unknown.problems.join(), /apply/);
  });

  it('marks create-only attributes and flow-null clears on the mapped record', () => {
    const full = applyMapping(mapping(), {
      email: 'ana@x.example',
      employee_id: 'E1',
      first: 'Ana',
      title: 'Agent',
      dept: 'Sales',
      cost_center: 'CC1',
      phone: '+1 555',
    });
    assert.ok(full.ok);
    assert.deepEqual(full.writes, { createOnly: ['title'] });
    const empty = applyMapping(mapping(), { email: 'ana@x.example', employee_id: 'E1', first: 'Ana', phone: '' });
    assert.ok(empty.ok);
    // The department is the create default; cost center clears; the phone's IgnoreFlowIfNullOrEmpty skips, never clears.
    assert.equal((empty.user[ENTERPRISE] as Record<string, unknown>).department, 'Onboarding');
    assert.deepEqual(empty.writes, { createOnly: [`${ENTERPRISE}:department`], clear: [`${ENTERPRISE}:costCenter`] });
    const plain = applyMapping(compiled({ userName: 'email' }), { email: 'a@x' });
    assert.ok(plain.ok);
    assert.equal('writes' in plain, false);
  });
});

describe('mapping rules: the update diff', () => {
  const current = {
    id: 'p1',
    userName: 'ana@x.example',
    externalId: 'E1',
    name: { givenName: 'Ana' },
    title: 'Senior agent',
    [ENTERPRISE]: { department: 'Support', costCenter: 'CC9' },
  };

  it('leaves create-only attributes out of an update and removes flow-null clears the provider has', () => {
    const mapped = applyMapping(mapping(), { email: 'ana@x.example', employee_id: 'E1', first: 'Ana', title: 'Agent' });
    assert.ok(mapped.ok);
    const ops = updateOperations(mapped.user, current, mapped.writes);
    // Not title (create-only), not department (its create default), and costCenter removed.
    assert.deepEqual(ops, [{ op: 'remove', path: `${ENTERPRISE}:costCenter` }]);
    // The same user without the rules: title and department would be overwritten, costCenter kept.
    assert.deepEqual(
      updateOperations(mapped.user, current, undefined).map((op) => `${op.op} ${op.path}`),
      ['replace title', `replace ${ENTERPRISE}:department`],
    );
  });

  it('plans no removal when the provider has nothing to clear', () => {
    const { [ENTERPRISE]: _extension, ...bare } = current;
    const mapped = applyMapping(mapping(), { email: 'ana@x.example', employee_id: 'E1', first: 'Ana' });
    assert.ok(mapped.ok);
    assert.deepEqual(updateOperations(mapped.user, { ...bare, title: 'Agent' }, mapped.writes), []);
  });

  it('drops a create-only list element and an emptied extension, leaving the input unchanged', () => {
    const user = {
      userName: 'a',
      emails: [{ type: 'work', value: 'a@x' }],
      [ENTERPRISE]: { department: 'D' },
    };
    const sent = forUpdate(user, { createOnly: ['emails[type eq "work"].value', `${ENTERPRISE}:department`] });
    assert.deepEqual(sent, { userName: 'a' });
    assert.deepEqual(user.emails, [{ type: 'work', value: 'a@x' }]);
  });

  it('a PUT instead of the PATCH leaves out the removed attributes', () => {
    const ops = updateOperations({ userName: 'ana@x.example' }, current, { clear: [`${ENTERPRISE}:costCenter`] });
    const put = mergedForPut({ userName: 'ana@x.example' }, current, removedBy(ops));
    assert.deepEqual(put[ENTERPRISE], { department: 'Support' });
    assert.equal(put.title, 'Senior agent');
  });

  it('classify plans create-only and flow-null for a matched user, and everything for a new one', () => {
    const m = mapping();
    const ana = applyMapping(m, { email: 'ana@x.example', employee_id: 'E1', first: 'Ana', title: 'Agent' });
    const bo = applyMapping(m, { email: 'bo@x.example', employee_id: 'E2', first: 'Bo', title: 'Agent' });
    assert.ok(ana.ok && bo.ok);
    const provider: ProviderUser[] = [{ id: 'p1', userName: 'ana@x.example', externalId: 'E1', resource: current }];
    const { changes } = classify(
      [
        { index: 0, user: ana.user, writes: ana.writes },
        { index: 1, user: bo.user, writes: bo.writes },
      ],
      provider,
      { matchKey: 'userName', scope: {}, protectedAccounts: [], deprovision: 'deactivate' },
    );
    assert.deepEqual(
      changes.map((c) => [c.action, c.userName, c.changes]),
      [
        ['update', 'ana@x.example', [{ op: 'remove', path: `${ENTERPRISE}:costCenter` }]],
        ['create', 'bo@x.example', undefined],
      ],
    );
  });
});

describe('mapping rules: matchOn', () => {
  const rules = { matchKey: 'userName' as const, scope: {}, protectedAccounts: [], deprovision: 'deactivate' as const };
  const provider: ProviderUser[] = [
    {
      id: 'p1',
      userName: 'ana.old@x.example',
      externalId: 'E1',
      resource: { userName: 'ana.old@x.example', externalId: 'E1' },
    },
    { id: 'p2', userName: 'bo@x.example', resource: { userName: 'bo@x.example' } },
  ];

  it('compiles the pairs and refuses a member that is no attribute path', () => {
    const ok = compileMapping({
      attributes: { userName: 'email' },
      matchOn: [
        ['userName', 'userName'],
        ['externalId', 'externalId'],
      ],
    });
    assert.ok(ok.ok);
    assert.deepEqual(ok.mapping.matchOn, [
      ['userName', 'userName'],
      ['externalId', 'externalId'],
    ]);
    const bad = compileMapping({ attributes: { userName: 'email' }, matchOn: [['user name!', 'userName']] });
    assert.ok(!bad.ok);
    assert.match(bad.problems.join(), /matchOn\[0\]: "user name!" is not an attribute path/);
  });

  it('tries the pairs in turn: a renamed user is found by externalId, a user without one by userName', () => {
    const { changes, problems } = classify(
      [
        { index: 0, user: { userName: 'ana.new@x.example', externalId: 'E1' } },
        { index: 1, user: { userName: 'BO@x.example' } },
        { index: 2, user: { userName: 'cy@x.example', externalId: 'E3' } },
      ],
      provider,
      {
        ...rules,
        matchOn: [
          ['userName', 'userName'],
          ['externalId', 'externalId'],
        ],
      },
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(
      changes.map((c) => [c.action, c.record, c.id, c.changes?.map((op) => op.path)]),
      [
        ['update', 0, 'p1', ['userName']],
        ['unchanged', 1, 'p2', undefined],
        ['create', 2, undefined, undefined],
      ],
    );
    // With the match key alone the renamed user is a new one, and the old one a leaver.
    const byKey = classify([{ index: 0, user: { userName: 'ana.new@x.example', externalId: 'E1' } }], provider, rules);
    assert.deepEqual(
      byKey.changes.map((c) => c.action),
      ['create', 'deactivate', 'deactivate'],
    );
  });

  it('reports a record none of whose pairs has a value', () => {
    const { problems } = classify([{ index: 0, user: { displayName: 'x' } }], provider, {
      ...rules,
      matchOn: [['externalId', 'externalId']],
    });
    assert.match(problems[0].reason, /matchOn \(externalId\): required to match the user/);
  });
});
