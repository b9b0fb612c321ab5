// syncUsers with manager references and SelectUniqueValue (docs/mappings.md), end to end on a real
// Temporal dev server and worker against the sandbox: a manager the provider has is written with the
// user, a manager who joins in the same sync is linked after the writes (linkManagers), an unknown
// manager is a warning and the user is still written; SelectUniqueValue skips a value the provider
// has and one an earlier record took; the same sync again writes nothing, and a user keeps the value
// it holds when an earlier candidate becomes free.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Sandbox } from 'cxone-sandbox';
import { formatSyncResult } from '../src/cli/sync-print';
import type { TemporalEnvironment } from '../src/temporal/server';
import { syncUsers, type SyncUsersInput } from '../src/workflows';
import { startSandboxWorld, type SandboxWorld } from './helpers/sandbox-world';
import type { TestWorker } from './helpers/temporal';
import { scimUser as user } from './helpers/users';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

const candidates = [
  'Join("@", ToLower([first]), "contoso.example")',
  'Join("@", ToLower(Join(".", [first], [last])), "contoso.example")',
  'Join("@", ToLower(Join(".", [first], [last], [emp_id])), "contoso.example")',
];
const MAPPING = {
  attributes: {
    externalId: 'emp_id',
    userName: { expression: `SelectUniqueValue(${candidates.join(', ')})` },
    'name.givenName': 'first',
    'name.familyName': 'last',
    [`${ENTERPRISE}:manager`]: { source: 'manager_id' },
  },
};

describe('syncUsers resolves manager references and SelectUniqueValue while it plans', () => {
  let temporal: TemporalEnvironment;
  let sandbox: Sandbox;
  let worker: TestWorker;
  let dir: string;
  let world: SandboxWorld;

  before(async () => {
    world = await startSandboxWorld('sync-references-');
    ({ temporal, sandbox, worker, dir } = world);
  });

  after(() => world?.stop());

  const sync = (file: string, extra: Partial<SyncUsersInput> = {}) =>
    temporal.testEnv.client.workflow.execute(syncUsers, {
      taskQueue: worker.settings.taskQueue,
      workflowId: `sync-references-${randomUUID()}`,
      args: [
        {
          tenant: 'sandbox',
          source: { path: file, mapping: MAPPING },
          matchKey: 'externalId',
          scope: { userNameSuffixes: ['@contoso.example'] },
          ...extra,
        },
      ],
    });
  const byExternalId = (id: string) =>
    sandbox.listUsers().find((u) => u.externalId === id) as
      | (Record<string, unknown> & { id: string; userName: string; [ENTERPRISE]?: { manager?: { value?: string } } })
      | undefined;
  const managerOf = (id: string) => byExternalId(id)?.[ENTERPRISE]?.manager?.value;

  it('links managers (existing, joining, unknown), chooses unique userNames, and a second identical sync writes nothing', async () => {
    const boss = sandbox.adminCreateUser(user('boss@contoso.example', { externalId: 'E100' }));
    const other = sandbox.adminCreateUser(user('zoe@contoso.example', { externalId: 'OTHER-1' }));
    sandbox.adminCreateUser(
      user('ana@contoso.example', { externalId: 'E1', name: { givenName: 'Ana', familyName: 'Lima' } }),
    );
    const file = path.join(dir, 'people.csv');
    fs.writeFileSync(
      file,
      [
        'emp_id,first,last,manager_id',
        'E1,Ana,Lima,E100', // at the provider without a manager; its manager is at the provider too
        'E2,Bob,Reis,E3', // a joiner whose manager joins in the same sync, a line further down
        'E3,Cara,Nunes,E100',
        'E4,Dan,Melo,E999', // a manager nobody has: a warning, Dan is still created
        'Z1,Zoe,Lind,', // zoe@ is another user's: the second candidate
        'Z2,Zoe,Lind,', // the second candidate went to Z1: the third
        '',
      ].join('\n'),
    );

    const dry = await sync(file, { dryRun: true });
    assert.equal(dry.outcome, 'dry-run');
    assert.deepEqual([dry.plan.counts.create, dry.plan.counts.update], [5, 1], JSON.stringify(dry.plan));
    const { warnings: dryWarnings, ...dryLinks } = dry.managerLinks ?? { warnings: [] };
    assert.deepEqual(dryLinks, {
      resolvedWhenPlanned: 2,
      pending: 1,
      linked: 0,
      unchanged: 0,
      warned: 1,
      warningsOmitted: 0,
    });
    assert.equal(dryWarnings.length, 1);
    assert.equal(managerOf('E1'), undefined, 'a dry run writes nothing');

    const first = await sync(file);
    assert.equal(first.outcome, 'succeeded', JSON.stringify(first));
    assert.deepEqual([first.applied.create, first.applied.update, first.failed], [5, 1, 0], JSON.stringify(first));
    assert.ok(first.managerLinks, 'the result says what became of the managers');
    const { warnings, ...counts } = first.managerLinks;
    assert.deepEqual(counts, {
      resolvedWhenPlanned: 2,
      pending: 1,
      linked: 1,
      unchanged: 0,
      warned: 1,
      warningsOmitted: 0,
    });
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0].record, 4);
    assert.equal(warnings[0].userName, 'dan@contoso.example');
    assert.match(warnings[0].detail, /no user has externalId "E999"/);
    // The CLI prints the same: the counts, then each record left without its manager.
    const printed = formatSyncResult('sync-refs', first);
    assert.match(
      printed,
      /managers: 2 found when planned, 1 joining in this sync \(1 linked after the writes, 0 already linked\), 1 left without one/,
    );
    assert.match(printed, /record 4 \(dan@contoso\.example\): .*no user has externalId "E999"/);

    assert.equal(managerOf('E1'), boss.id, 'an existing user gets the manager the provider has');
    assert.equal(managerOf('E3'), boss.id, 'a joiner is created with it');
    assert.equal(managerOf('E2'), byExternalId('E3')?.id, 'linked after the writes to the manager the sync created');
    assert.equal(
      byExternalId('E4')?.userName,
      'dan@contoso.example',
      'a user whose manager is unknown is still written',
    );
    assert.equal(managerOf('E4'), undefined);
    assert.equal(
      byExternalId('Z1')?.userName,
      'zoe.lind@contoso.example',
      'zoe@ is at the provider: the second candidate',
    );
    assert.equal(byExternalId('Z2')?.userName, 'zoe.lind.z2@contoso.example', 'the second went to Z1: the third');

    // The same source again: every value chosen is its own user's, every manager is found: no write.
    const before = JSON.stringify(sandbox.listUsers());
    const again = await sync(file);
    assert.equal(again.outcome, 'succeeded', JSON.stringify(again));
    const { create, update, reactivate, unchanged } = again.plan.counts;
    assert.deepEqual([create, update, reactivate, unchanged], [0, 0, 0, 6], JSON.stringify(again.plan.counts));
    assert.equal(
      Object.values(again.applied).reduce((n, c) => n + c, 0),
      0,
      'a second identical sync writes nothing',
    );
    assert.equal(again.requests, again.plan.pages, 'no request but the listing');
    assert.deepEqual(again.managerLinks && { ...again.managerLinks, warnings: again.managerLinks.warnings.length }, {
      resolvedWhenPlanned: 3,
      pending: 0,
      linked: 0,
      unchanged: 0,
      warned: 1,
      warnings: 1,
      warningsOmitted: 0,
    });
    assert.equal(JSON.stringify(sandbox.listUsers()), before, 'the provider is as it was');

    // zoe@ becomes free: Z1 keeps the value it holds, nobody is renamed.
    sandbox.adminUpdateUser(other.id as string, { userName: 'zoe.other@contoso.example' });
    const freed = await sync(file);
    assert.deepEqual([freed.plan.counts.create, freed.plan.counts.update], [0, 0], JSON.stringify(freed.plan.counts));
    assert.equal(byExternalId('Z1')?.userName, 'zoe.lind@contoso.example');
    assert.equal(byExternalId('Z2')?.userName, 'zoe.lind.z2@contoso.example');
  });

  it('a joiner whose first candidate is free takes it', async () => {
    const file = path.join(dir, 'joiner.csv');
    fs.writeFileSync(file, 'emp_id,first,last,manager_id\nY1,Yara,Silva,E100\n');
    const result = await sync(file, { scope: { userNameSuffixes: ['yara@contoso.example'] } });
    assert.deepEqual([result.outcome, result.applied.create], ['succeeded', 1], JSON.stringify(result));
    assert.equal(byExternalId('Y1')?.userName, 'yara@contoso.example');
    assert.equal(managerOf('Y1'), byExternalId('E100')?.id);
  });

  it('links only users this sync writes and has verified: not a protected account, not someone else holding the userName', async () => {
    const plain = {
      attributes: {
        externalId: 'emp_id',
        userName: 'email',
        'name.givenName': 'first',
        'name.familyName': 'last',
        [`${ENTERPRISE}:manager`]: { source: 'manager_id' },
      },
    };
    // P1 is protected; R1's record renames it onto the userName another person (R2's user) holds, so
    // its write fails; both name a manager who joins in this sync.
    sandbox.adminCreateUser(user('guard@contoso.example', { externalId: 'P1' }));
    sandbox.adminCreateUser(user('rita.old@contoso.example', { externalId: 'R1' }));
    sandbox.adminCreateUser(user('rita@contoso.example', { externalId: 'R2' }));
    const file = path.join(dir, 'links.csv');
    fs.writeFileSync(
      file,
      [
        'emp_id,email,first,last,manager_id',
        'M1,mona@contoso.example,Mona,Reis,',
        'P1,guard@contoso.example,G,F,M1',
        'R1,rita@contoso.example,G,F,M1',
        'R2,rita@contoso.example,G,F,',
        '',
      ].join('\n'),
    );
    const result = await sync(file, {
      source: { path: file, mapping: plain },
      protectedAccounts: ['guard@contoso.example'],
    });
    const mona = byExternalId('M1');
    assert.ok(mona, 'the manager was created');
    assert.equal(managerOf('P1'), undefined, 'a protected account is never linked');
    assert.equal(managerOf('R2'), undefined, "the other person holding R1's new userName is never linked");
    assert.equal(managerOf('R1'), undefined);
    const details = (result.managerLinks?.warnings ?? []).map((w) => `${w.record}: ${w.detail}`).join('\n');
    assert.match(details, /^2: manager: this run does not write the user/m);
    assert.match(details, /^3: .*(not the record's "R1"|not linked)/m);
    assert.equal(result.managerLinks?.linked, 0, details);
  });
});
