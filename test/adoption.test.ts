// The adoption classification (src/scim/adoption.ts): every class, weak keys only when listed and
// ignoring case, ambiguity from either side, never a takeover, a deterministic plan hash, and the
// orphan policy of a first sync on a tenant nobody adopted.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  adoptionPlanText,
  classifyAdoption,
  fragmentAt,
  linkAttributeProblem,
  orphanPolicy,
  valueAt,
  withOrphanPolicy,
  type AdoptionProviderUser,
  type AdoptionRules,
  type AdoptionSource,
} from '../src/scim/adoption';
import type { PlannedChange } from '../src/scim/reconcile';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

const person = (userName: string, given: string, family: string, extra: Record<string, unknown> = {}) => ({
  userName,
  name: { givenName: given, familyName: family },
  emails: [{ value: userName, type: 'work', primary: true }],
  ...extra,
});
const source = (...users: Array<Record<string, unknown>>): AdoptionSource[] =>
  users.map((user, index) => ({ index, user }));
const provider = (id: string, user: Record<string, unknown>): AdoptionProviderUser => ({
  id,
  resource: { id, active: true, ...user },
});
const RULES: AdoptionRules = { linkAttribute: 'externalId', weakKeys: ['email', 'name'] };
const hashOf = (text: string) => createHash('sha256').update(text).digest('hex');

describe('classifyAdoption', () => {
  it('puts every record and every provider user in exactly one class', () => {
    const records = source(
      person('alice@corp.example', 'Alice', 'Ames', { externalId: 'E1' }), // exact by userName
      person('bob@corp.example', 'Bob', 'Brown', { externalId: 'E2' }), // exact by externalId (already linked)
      person('carol.new@corp.example', 'Carol', 'Cole', {
        externalId: 'E3',
        emails: [{ value: 'Carol@Corp.Example', type: 'work' }],
      }), // weak by email
      person('dan@corp.example', 'Dan', 'Dale', { externalId: 'E4' }), // ambiguous: two by name
      person('erin@corp.example', 'Erin', 'East', { externalId: 'E5' }), // source-only
    );
    const users = [
      provider('p1', person('ALICE@corp.example', 'Alice', 'Ames')),
      provider('p2', person('robert@corp.example', 'Robert', 'Brown', { externalId: 'E2' })),
      provider('p3', person('carol@corp.example', 'C.', 'Cole')),
      provider('p4', person('d.dale@corp.example', 'dan', 'DALE')),
      provider('p5', person('dan.dale@corp.example', ' Dan ', 'Dale')),
      provider('p6', person('admin@corp.example', 'Break', 'Glass')), // orphan
    ];
    const { entries, links, counts } = classifyAdoption(records, users, RULES);
    assert.deepEqual(counts, {
      exact: 2,
      weak: 1,
      ambiguousRecords: 1,
      ambiguousProviderUsers: 2,
      providerOnly: 1,
      sourceOnly: 1,
      alreadyLinked: 1,
      toLink: 2,
    });
    const line = (record: number) => entries.find((e) => e.record === record);
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((r) => [line(r)?.class, line(r)?.id, line(r)?.link]),
      [
        ['exact', 'p1', 'link'],
        ['exact', 'p2', 'linked'],
        ['weak', 'p3', 'link'],
        ['ambiguous', undefined, undefined],
        ['source-only', undefined, undefined],
      ],
    );
    assert.deepEqual(line(1)?.matchedBy, ['userName']);
    assert.deepEqual(line(2)?.matchedBy, ['externalId']);
    assert.deepEqual(line(3)?.matchedBy, ['email']);
    assert.deepEqual(line(4)?.candidateIds, ['p4', 'p5']);
    assert.deepEqual(
      entries.filter((e) => e.record === undefined).map((e) => [e.id, e.class]),
      [
        ['p4', 'ambiguous'],
        ['p5', 'ambiguous'],
        ['p6', 'provider-only'],
      ],
    );
    // Every provider user on exactly one line, every record on exactly one line.
    const ids = entries.flatMap((e) => (e.id ? [e.id] : []));
    assert.deepEqual([...ids].sort(), ['p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
    assert.equal(entries.filter((e) => e.record !== undefined).length, 5);
    assert.deepEqual(
      links.map((l) => [l.id, l.record, l.value, l.strength, l.expected.userName]),
      [
        ['p1', 1, 'E1', 'exact', 'ALICE@corp.example'],
        ['p3', 3, 'E3', 'weak', 'carol@corp.example'],
      ],
    );
  });

  it('uses only the listed weak keys: without them an email-only account is an orphan, never linked', () => {
    const records = source(person('carol.new@corp.example', 'Carol', 'Cole', { externalId: 'E3' }));
    const users = [
      provider('p3', person('carol@corp.example', 'Carol', 'Cole', { emails: [{ value: 'carol.new@corp.example' }] })),
    ];
    const none = classifyAdoption(records, users, { linkAttribute: 'externalId', weakKeys: [] });
    assert.deepEqual(
      none.entries.map((e) => e.class),
      ['source-only', 'provider-only'],
    );
    assert.equal(none.links.length, 0);
    const byName = classifyAdoption(records, users, { linkAttribute: 'externalId', weakKeys: ['name'] });
    assert.deepEqual(byName.entries[0].matchedBy, ['name']);
    const both = classifyAdoption(records, users, { linkAttribute: 'externalId', weakKeys: ['email', 'name'] });
    assert.deepEqual(both.entries[0].matchedBy, ['email', 'name']);
    assert.equal(both.links[0].strength, 'weak');
  });

  it('compares weak keys ignoring case and spacing, and userName ignoring case', () => {
    const records = source(
      { userName: 'x1@a.example', name: { givenName: 'José', familyName: 'Núñez  García' }, externalId: 'E1' },
      { userName: 'MiXeD@A.example', externalId: 'E2' },
    );
    const users = [
      provider('p1', { userName: 'jng@a.example', name: { givenName: ' JOSÉ', familyName: 'núñez garcía' } }),
      provider('p2', { userName: 'mixed@a.example' }),
    ];
    const { entries } = classifyAdoption(records, users, RULES);
    assert.deepEqual(
      entries.map((e) => [e.class, e.id]),
      [
        ['weak', 'p1'],
        ['exact', 'p2'],
      ],
    );
  });

  it('is ambiguous when one record matches several provider users exactly (userName one, externalId another)', () => {
    const records = source(person('a@x.example', 'A', 'A', { externalId: 'E1' }));
    const users = [
      provider('p1', person('a@x.example', 'A', 'A')),
      provider('p2', person('other@x.example', 'O', 'O', { externalId: 'E1' })),
    ];
    const { entries, counts, links } = classifyAdoption(records, users, RULES);
    assert.equal(counts.ambiguousRecords, 1);
    assert.equal(counts.ambiguousProviderUsers, 2);
    assert.deepEqual(entries[0].candidateIds, ['p1', 'p2']);
    assert.equal(links.length, 0);
  });

  it('is ambiguous when one provider user matches several records (duplicates in the source, or two weak claims)', () => {
    const dup = classifyAdoption(
      source(
        person('a@x.example', 'A', 'A', { externalId: 'E1' }),
        person('A@x.example', 'A', 'A', { externalId: 'E2' }),
      ),
      [provider('p1', person('a@x.example', 'A', 'A'))],
      RULES,
    );
    assert.deepEqual(
      dup.entries.map((e) => e.class),
      ['ambiguous', 'ambiguous', 'ambiguous'],
    );
    assert.deepEqual(dup.entries[2].candidateRecords, [1, 2]);
    const weak = classifyAdoption(
      source(
        person('one@x.example', 'Sam', 'Lee', { externalId: 'E1' }),
        person('two@x.example', 'Sam', 'Lee', { externalId: 'E2' }),
      ),
      [provider('p1', person('sam@x.example', 'sam', 'lee'))],
      RULES,
    );
    assert.deepEqual(weak.counts, {
      exact: 0,
      weak: 0,
      ambiguousRecords: 2,
      ambiguousProviderUsers: 1,
      providerOnly: 0,
      sourceOnly: 0,
      alreadyLinked: 0,
      toLink: 0,
    });
  });

  it('never takes over an account linked to another key: the pair is ambiguous and nothing is written', () => {
    const { entries, links } = classifyAdoption(
      source(person('a@x.example', 'A', 'A', { externalId: 'NEW' })),
      [provider('p1', person('a@x.example', 'A', 'A', { externalId: 'OLD' }))],
      RULES,
    );
    assert.equal(entries[0].class, 'ambiguous');
    assert.match(entries[0].reason ?? '', /already has externalId "OLD"/);
    assert.equal(links.length, 0);
  });

  it('prefers an exact match over weak ones, and a record without a key is matched but never linked', () => {
    const { entries, links } = classifyAdoption(
      source(person('a@x.example', 'A', 'A'), person('b@x.example', 'B', 'B', { externalId: 'E2' })),
      [provider('p1', person('a@x.example', 'A', 'A')), provider('p2', person('b@x.example', 'A', 'A'))],
      RULES,
    );
    assert.deepEqual(
      entries.map((e) => [e.class, e.id, e.link]),
      [
        ['exact', 'p1', 'no-source-key'],
        ['exact', 'p2', 'link'],
      ],
    );
    assert.deepEqual(
      links.map((l) => l.id),
      ['p2'],
    );
  });

  it('links through another attribute (an extension attribute) when the tenant chooses one', () => {
    const rules: AdoptionRules = { linkAttribute: `${ENTERPRISE}:employeeNumber`, weakKeys: [] };
    const { entries, links } = classifyAdoption(
      source(person('a@x.example', 'A', 'A', { [ENTERPRISE]: { employeeNumber: '100' } })),
      [
        provider('p1', person('renamed@x.example', 'A', 'A', { [ENTERPRISE]: { employeeNumber: '100' } })),
        provider('p2', person('a@x.example', 'Z', 'Z')),
      ],
      rules,
    );
    // userName points at p2 and the employee number at p1: a person must decide.
    assert.equal(entries[0].class, 'ambiguous');
    assert.equal(links.length, 0);
    assert.deepEqual(fragmentAt(`${ENTERPRISE}:employeeNumber`, '7'), { [ENTERPRISE]: { employeeNumber: '7' } });
    assert.equal(valueAt({ [ENTERPRISE]: { EmployeeNumber: '9' } }, `${ENTERPRISE}:employeeNumber`), '9');
    assert.equal(linkAttributeProblem('externalId'), undefined);
    assert.equal(linkAttributeProblem(`${ENTERPRISE}:employeeNumber`), undefined);
    assert.match(linkAttributeProblem('userName') ?? '', /identifies/);
    assert.match(linkAttributeProblem('a b') ?? '', /not an attribute path/);
  });

  it('gives the same plan hash whatever order the provider lists its users in, and another one when a line changes', () => {
    const records = source(
      person('a@x.example', 'A', 'A', { externalId: 'E1' }),
      person('b.new@x.example', 'B', 'B', { externalId: 'E2', emails: [{ value: 'b@x.example' }] }),
    );
    const users = [
      provider('p1', person('a@x.example', 'A', 'A')),
      provider('p2', person('b@x.example', 'B', 'B')),
      provider('p3', person('c@x.example', 'C', 'C')),
    ];
    const hash = (list: AdoptionProviderUser[], rules = RULES) =>
      hashOf(adoptionPlanText('t', 'sha', rules, classifyAdoption(records, list, rules)));
    const first = hash(users);
    assert.match(first, /^[0-9a-f]{64}$/);
    assert.equal(hash([users[2], users[0], users[1]]), first);
    assert.equal(hash(users, { linkAttribute: 'externalId', weakKeys: ['name', 'email'] }), first);
    assert.notEqual(hash(users.slice(0, 2)), first);
    assert.notEqual(hash(users, { linkAttribute: 'externalId', weakKeys: [] }), first);
  });
});

describe('orphanPolicy', () => {
  const changes: PlannedChange[] = [
    { action: 'update', record: 0, id: 'p1' },
    { action: 'deactivate', id: 'p2' },
    { action: 'delete', id: 'p3' },
    { action: 'unchanged', id: 'p4' },
  ];

  it('treats orphans of a tenant never adopted as out of scope, with a warning, unless told otherwise', () => {
    const auto = orphanPolicy(false);
    assert.equal(auto.orphans, 'out-of-scope');
    assert.match(auto.warning ?? '', /never adopted/);
    const held = withOrphanPolicy(changes, auto);
    assert.equal(held.heldBack, 2);
    assert.deepEqual(
      held.changes.map((c) => c.action),
      ['update', 'out-of-scope', 'out-of-scope', 'unchanged'],
    );
    assert.deepEqual(orphanPolicy(false, 'leavers'), { orphans: 'leavers' });
  });

  it('treats orphans of an adopted tenant as leavers, unless told to keep them out of scope', () => {
    assert.deepEqual(orphanPolicy(true), { orphans: 'leavers' });
    assert.deepEqual(withOrphanPolicy(changes, orphanPolicy(true)), { changes, heldBack: 0 });
    assert.deepEqual(orphanPolicy(true, 'out-of-scope'), { orphans: 'out-of-scope' });
  });
});
