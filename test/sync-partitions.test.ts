import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { scratchFolder } from '../src/activities/claims/local-spool';
import { PartitionedClassifier, type PlanItem, StreamedPlanHash } from '../src/activities/sync-partitions';
import { canonicalJson } from '../src/scim/canonical';
import {
  classify,
  type PlannedChange,
  type ProviderUser,
  providerUserOf,
  type SourceUser,
  type SyncRules,
} from '../src/scim/reconcile';

// The partitioned planner (source and provider spooled by match value to local disk, classified
// partition by partition) against classify() in memory: the same changes and problems, in the same
// order, for sources and providers built to cross partitions — duplicates (in any case), keyless
// records, ambiguous provider users, matchOn fallbacks, protected accounts, scope, dated records.

/** A deterministic generator (the same data every run). */
function random(seed: number) {
  let state = seed >>> 0;
  return (n: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % n;
  };
}

function dataset(seed: number, size: number) {
  const pick = random(seed);
  const source: SourceUser[] = [];
  const provider: Record<string, unknown>[] = [];
  for (let i = 0; i < size; i++) {
    const n = pick(size); // values repeat: duplicates in the source, ambiguous ones at the provider
    const user: Record<string, unknown> = {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      ...(pick(12) > 0 ? { userName: `${pick(3) === 0 ? 'User' : 'user'}${n}@corp.example` } : {}),
      ...(pick(4) > 0 ? { externalId: `E${pick(size)}` } : {}),
      ...(pick(3) > 0 ? { emails: [{ value: `mail${pick(size)}@corp.example`, type: 'work' }] } : {}),
      name: { givenName: 'Ana', familyName: `F${pick(3)}` },
      ...(pick(5) === 0 ? { active: false } : {}),
    };
    source.push({
      index: i,
      user,
      ...(pick(10) === 0 ? { noCreate: true } : {}),
      ...(pick(10) === 0 ? { activeLater: true } : {}),
      ...(pick(8) === 0 ? { writes: { createOnly: ['name.givenName'] } } : {}),
    });
  }
  for (let i = 0; i < size; i++) {
    const n = pick(size);
    // A listing can repeat a user when pages shift (users created or removed meanwhile).
    if (i > 0 && pick(20) === 0) provider.push({ ...provider[pick(i)] });
    provider.push({
      id: `id-${i}`,
      ...(pick(12) > 0 ? { userName: `user${n}@${pick(6) === 0 ? 'other.example' : 'corp.example'}` } : {}),
      ...(pick(4) > 0 ? { externalId: `E${pick(size)}` } : {}),
      ...(pick(3) > 0 ? { emails: [{ value: `mail${pick(size)}@corp.example`, type: 'work' }] } : {}),
      name: { givenName: 'Ana', familyName: `F${pick(3)}` },
      ...(pick(4) > 0 ? { active: pick(3) > 0 } : {}),
    });
  }
  return { source, provider };
}

/** What classify() is given: the provider's users deduplicated by id, the first listed kept (as the listing does). */
function listed(resources: Record<string, unknown>[]): ProviderUser[] {
  const users = new Map<string, ProviderUser>();
  for (const r of resources) {
    const user = providerUserOf(r);
    if (user && !users.has(user.id)) users.set(user.id, user);
  }
  return [...users.values()];
}

const base: SyncRules = {
  matchKey: 'userName',
  scope: {},
  protectedAccounts: ['user3@corp.example', ...Array.from({ length: 30 }, (_, i) => `id-${i * 7}`)],
  deprovision: 'deactivate',
};

const RULES: Array<[string, SyncRules]> = [
  ['userName', base],
  [
    'externalId, scoped, delete',
    { ...base, matchKey: 'externalId', scope: { hasExternalId: true }, deprovision: 'delete' },
  ],
  [
    'matchOn externalId then userName',
    {
      ...base,
      matchOn: [
        ['externalId', 'externalId'],
        ['userName', 'userName'],
      ],
      scope: { userNameSuffixes: ['@corp.example'] },
    },
  ],
  [
    'matchOn three pairs',
    {
      ...base,
      matchOn: [
        ['emails[type eq "work"].value', 'emails[type eq "work"].value'],
        ['externalId', 'externalId'],
        ['userName', 'userName'],
      ],
    },
  ],
];

function partitioned(source: SourceUser[], provider: Record<string, unknown>[], rules: SyncRules, partitions: number) {
  const scratch = scratchFolder('sync-partitions-test');
  // A small memory budget: the spools spill to disk many times.
  const classifier = new PartitionedClassifier(scratch.dir, rules, partitions, 4096);
  try {
    for (const s of source) classifier.addSource(s);
    for (const r of provider) classifier.addProvider(r);
    const items: PlanItem[] = [...classifier.items()];
    return { items, classifier };
  } finally {
    classifier.close();
    scratch.remove();
  }
}

describe('partitioned sync planning', () => {
  for (const [name, rules] of RULES) {
    for (const partitions of [1, 3, 16]) {
      it(`plans as classify() does in memory: ${name}, ${partitions} partitions`, () => {
        for (const seed of [1, 2, 3]) {
          const { source, provider } = dataset(seed * 7919 + partitions, 400);
          const expected = classify(source, listed(provider), rules);
          const { items, classifier } = partitioned(source, provider, rules, partitions);
          const changes = items.flatMap((i) => ('change' in i ? [i.change] : []));
          const problems = items.flatMap((i) => ('problem' in i ? [i.problem] : []));
          // Through JSON, as the spools carry them (undefined members dropped).
          assert.deepEqual(changes, JSON.parse(JSON.stringify(expected.changes)));
          assert.deepEqual(problems, JSON.parse(JSON.stringify(expected.problems)));
          assert.equal(classifier.managed, expected.managed);
          assert.equal(classifier.sourceInScope, expected.sourceInScope);
          assert.equal(classifier.providerUsers, listed(provider).length);
          // The data exercises what crosses partitions.
          const reasons = expected.problems.map((p) => p.reason).join('\n');
          assert.match(reasons, /duplicates record/);
          assert.match(reasons, /provider users match/);
          const actions = new Set(expected.changes.map((c) => c.action));
          for (const action of ['create', 'update', 'unchanged', 'protected'] as const) assert.ok(actions.has(action));
        }
      });
    }
  }

  it('hands each change what storing it needs: the source record of a write, the listed user of an update', () => {
    const { source, provider } = dataset(5, 300);
    const { items } = partitioned(source, provider, base, 5);
    let updates = 0;
    for (const item of items) {
      if (!('change' in item)) continue;
      const { action, record, id } = item.change;
      // A deactivation from a source record (it marks its user inactive) is handed what an update is.
      const fromRecord = action === 'deactivate' && record !== undefined;
      if (action === 'create' || action === 'update' || action === 'reactivate' || fromRecord)
        assert.equal(item.source?.index, record);
      else assert.equal(item.source, undefined);
      if (action === 'update' || action === 'reactivate' || fromRecord) {
        updates++;
        assert.equal(item.resource?.id, id);
      } else if (action === 'deactivate')
        // An orphan's deactivation: only the `active` it overwrites.
        assert.deepEqual(Object.keys(item.resource ?? { none: 1 }).length <= 1, true);
    }
    assert.ok(updates > 0);
  });

  it('streams the plan hash canonicalJson({ tenant, source, rules, changes }) gives', () => {
    const { source, provider } = dataset(11, 200);
    for (const [, rules] of RULES) {
      const { changes } = classify(source, listed(provider), rules);
      for (const sha of ['ab12', undefined]) {
        const streamed = new StreamedPlanHash();
        for (const change of changes) streamed.add(change);
        const whole = createHash('sha256')
          .update(canonicalJson({ tenant: 'acme', source: sha ?? null, rules, changes }))
          .digest('hex');
        assert.equal(streamed.digest({ tenant: 'acme', source: sha, rules }), whole);
      }
      const empty = new StreamedPlanHash();
      const none: PlannedChange[] = [];
      assert.equal(
        empty.digest({ tenant: 't', source: undefined, rules }),
        createHash('sha256')
          .update(canonicalJson({ tenant: 't', source: null, rules, changes: none }))
          .digest('hex'),
      );
    }
  });
});
