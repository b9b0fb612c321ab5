// `cxone-scim mapping test|eval|check`, the built binary spawned as a user runs it: against the
// CXone sandbox (full and cxone profiles) over loopback for `test` and `check`, offline for `eval`.
// Nothing may be written to the provider: every test ends by checking the sandbox saw only reads.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type Sandbox, startSandbox } from 'cxone-sandbox';
import { compileMapping } from '../src/mapping/mapping';
import { checkMappingAgainstSchema } from '../src/mapping/schema-check';
import type { UserSchemaModel } from '../src/scim/schema-model';

const CLI = path.resolve(__dirname, '../src/cli/main.js');
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const execute = promisify(execFile);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  try {
    const { stdout, stderr } = await execute(process.execPath, [CLI, 'mapping', ...args], {
      env: { PATH: process.env.PATH, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const evaluate = (expression: string, ...extra: string[]) => cli(['eval', '--expression', expression, ...extra]);

describe('mapping eval: one expression, its value as JSON', () => {
  it('prints null and "" apart', async () => {
    assert.deepEqual(await evaluate('[a]', '--columns', '{"b":"x"}'), { code: 0, stdout: 'null\n', stderr: '' });
    assert.deepEqual(await evaluate('Left([a], 0)', '--columns', '{"a":"xyz"}'), {
      code: 0,
      stdout: '""\n',
      stderr: '',
    });
    assert.deepEqual(
      await evaluate('Join(" ", [givenName], [sn])', '--columns', '{"givenName":"Zoë","sn":"Åkesson"}'),
      {
        code: 0,
        stdout: '"Zoë Åkesson"\n',
        stderr: '',
      },
    );
    assert.equal((await evaluate('CBool([a])', '--columns', '{"a":"TRUE"}')).stdout, 'true\n');
    assert.equal((await evaluate('Split([a], ",")', '--columns', '{"a":"x, y"}')).stdout, '["x","y"]\n');
  });

  it('prints a skipped attribute as {"skip":true}', async () => {
    assert.equal(
      (await evaluate('IgnoreFlowIfNullOrEmpty([department])', '--columns', '{}')).stdout,
      '{"skip":true}\n',
    );
    assert.equal((await evaluate('IgnoreFlowIfNullOrEmpty([d])', '--columns', '{"d":"Ops"}')).stdout, '"Ops"\n');
  });

  it('exits non-zero with the reason for a refused expression, or one the record cannot go through', async () => {
    const unknown = await evaluate('Lenght([a])');
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stdout, '');
    assert.match(unknown.stderr, /expression error at character 1: expected a known function.*found Lenght/);
    const syntax = await evaluate('Join(" ", [a]');
    assert.equal(syntax.code, 1);
    assert.match(syntax.stderr, /expression error at character \d+/);
    const record = await evaluate('CDate([a])', '--columns', '{"a":"not a date"}');
    assert.equal(record.code, 1);
    assert.match(record.stderr, /CDate: "not a date" is not a date/);
    const columns = await evaluate('[a]', '--columns', '["a"]');
    assert.equal(columns.code, 1);
    assert.match(columns.stderr, /--columns: expected a JSON object/);
  });

  it('SelectUniqueValue skips the values --taken lists (ignoring case)', async () => {
    const rule =
      'SelectUniqueValue(Join("@", NormalizeDiacritics(ToLower([givenName])), "contoso.com"), Join("@", NormalizeDiacritics(ToLower(Join(".", [givenName], [sn]))), "contoso.com"))';
    const columns = ['--columns', '{"givenName":"Zoë","sn":"Åkesson"}'];
    assert.equal((await evaluate(rule, ...columns)).stdout, '"zoe@contoso.com"\n');
    assert.equal(
      (await evaluate(rule, ...columns, '--taken', '["ZOE@contoso.com"]')).stdout,
      '"zoe.akesson@contoso.com"\n',
    );
    const none = await evaluate(rule, ...columns, '--taken', '["zoe@contoso.com","zoe.akesson@contoso.com"]');
    assert.equal(none.code, 1);
    assert.match(none.stderr, /every candidate is already taken/);
  });

  it('Now, Guid and RandomString take --now and --seed, and repeat with them', async () => {
    const now = await evaluate(
      'FormatDateTime(Now(), , "M/d/yyyy h:mm:ss tt", "yyyy-MM-dd HH:mm")',
      '--now',
      '2025-01-31T09:05:00Z',
    );
    assert.equal(now.stdout, '"2025-01-31 09:05"\n');
    const a = await evaluate('Guid()', '--seed', 'one');
    const b = await evaluate('Guid()', '--seed', 'one');
    const c = await evaluate('Guid()', '--seed', 'two');
    assert.match(a.stdout, /^"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"\n$/);
    assert.equal(a.stdout, b.stdout);
    assert.notEqual(a.stdout, c.stdout);
  });
});

describe('mapping test and mapping check against the sandbox (read only)', () => {
  let full: Sandbox;
  let cxone: Sandbox;
  let dir: string;
  let fullEnv: NodeJS.ProcessEnv;
  let cxoneEnv: NodeJS.ProcessEnv;
  const file = (name: string, content: unknown) => {
    const target = path.join(dir, name);
    fs.writeFileSync(target, typeof content === 'string' ? content : JSON.stringify(content));
    return target;
  };
  const writes = (sandbox: Sandbox) =>
    sandbox.requestLog
      .filter((r) => r.path.includes('/scim/') && r.method !== 'GET')
      .map((r) => `${r.method} ${r.path}`);

  before(async () => {
    full = await startSandbox({ port: 0 });
    cxone = await startSandbox({ port: 0, profile: 'cxone', accessKeySecret: 'mapping-cli-access-key-1' });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mapping-cli-'));
    fullEnv = {
      CXONE_AUTH: 'client-credentials',
      CXONE_BASE_URL: full.url,
      CXONE_TOKEN_URL: full.tokenUrl,
      CXONE_CLIENT_ID: full.clientId,
      CXONE_CLIENT_SECRET: full.clientSecret,
    };
    cxoneEnv = {
      CXONE_AUTH: 'cxone-access-key',
      CXONE_ISSUER: cxone.issuer,
      CXONE_CLIENT_ID: cxone.clientId,
      CXONE_CLIENT_SECRET: cxone.clientSecret,
      CXONE_ACCESS_KEY_ID: cxone.accessKeyId,
      CXONE_ACCESS_KEY_SECRET: cxone.accessKeySecret,
    };
    full.adminCreateUser({
      userName: 'ana.cruz@contoso.com',
      name: { givenName: 'Ana', familyName: 'Old' },
      title: 'Agent',
      active: true,
    });
    full.adminCreateUser({ userName: 'zoe@contoso.com', name: { givenName: 'Zoé', familyName: 'Other' } });
    full.clearRequestLog();
    cxone.clearRequestLog();
  });
  after(async () => {
    await full?.close();
    await cxone?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const MAPPING = {
    attributes: {
      userName: {
        expression:
          'SelectUniqueValue(Join("@", NormalizeDiacritics(ToLower([first])), "contoso.com"), Join("@", NormalizeDiacritics(ToLower(Join(".", [first], [last]))), "contoso.com"))',
      },
      'name.givenName': 'first',
      'name.familyName': 'last',
      title: { source: 'title', transform: 'trim' },
      active: { source: 'enabled', transform: 'boolean', default: true },
      [`${ENTERPRISE}:department`]: { expression: 'IgnoreFlowIfNullOrEmpty([dept])' },
    },
  };
  const CSV = 'first,last,title,enabled,dept\nZoë,Åkesson,Agent,yes,\nAna,Cruz,Supervisor,yes,Ops\nBo,Lind,,maybe,\n';

  it('without a tenant: every target with its value, the user, SelectUniqueValue against --taken', async () => {
    const args = ['test', file('people.csv', CSV), '--mapping', file('m.json', MAPPING)];
    const one = await cli([...args, '--row', '1', '--now', '2025-01-31T09:00:00Z']);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /people\.csv: record 1 \(line 2\)/);
    assert.match(one.stdout, /now 2025-01-31T09:00:00\.000Z, seed "cxone-scim mapping"/);
    assert.match(one.stdout, /\n {2}userName +"zoe@contoso\.com"\n/);
    assert.match(one.stdout, /\n {2}name\.givenName +"Zoë"\n/);
    assert.match(one.stdout, /\n {2}active +true\n/);
    assert.match(one.stdout, /department +\(left out: IgnoreFlowIfNullOrEmpty\)\n/);
    assert.match(one.stdout, /"schemas": \[\n\s+"urn:ietf:params:scim:schemas:core:2\.0:User"\n\s+\]/);
    const taken = await cli([...args, '--row', '1', '--taken', '["zoe@contoso.com"]']);
    assert.match(taken.stdout, /\n {2}userName +"zoe\.akesson@contoso\.com"\n/);
    const byKey = await cli([...args, '--user', 'ana@contoso.com']);
    assert.equal(byKey.code, 0, byKey.stderr);
    assert.match(byKey.stdout, /record 2 \(line 3\)/);
    assert.match(byKey.stdout, new RegExp(`"${ENTERPRISE}": \\{\\n\\s+"department": "Ops"`));
    const bad = await cli([...args, '--row', '3']);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /\n {2}active +problem: active: cannot read "maybe" as a boolean \(source "enabled"\)\n/);
    assert.match(bad.stdout, /\n {2}title +\(unset: no value and no default\)\n/);
    const missing = await cli([...args, '--row', '9']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /has fewer than 9 records/);
  });

  it('with a tenant: the provider’s current values and the PATCH that would follow; POST for a new user; nothing written', async () => {
    const args = ['test', file('people.csv', CSV), '--mapping', file('m.json', MAPPING), '--tenant', 'default'];
    // Ana is at the provider: her current values, then the PATCH of what differs.
    const ana = await cli([...args, '--row', '2'], fullEnv);
    assert.equal(ana.code, 0, ana.stderr + ana.stdout);
    const id = full.listUsers().find((u) => u.userName === 'ana.cruz@contoso.com')?.id as string;
    // "ana@contoso.com" is free, so SelectUniqueValue takes it: a different user from ana.cruz.
    assert.match(ana.stdout, /\n {2}userName +"ana@contoso\.com"\n/);
    assert.match(
      ana.stdout,
      /tenant default: userName is chosen by SelectUniqueValue and no externalId is mapped: the record would be a new user/,
    );
    assert.match(ana.stdout, /would send: POST \/Users/);

    // Zoë: "zoe@contoso.com" is taken at the provider by another user, so the second candidate.
    const zoe = await cli([...args, '--row', '1'], fullEnv);
    assert.equal(zoe.code, 0, zoe.stderr + zoe.stdout);
    assert.match(zoe.stdout, /\n {2}userName +"zoe\.akesson@contoso\.com"\n/);
    assert.match(zoe.stdout, /would send: POST \/Users/);

    // A mapping whose userName is the existing user's: current values side by side, then the PATCH.
    const existing = file('existing.json', {
      attributes: {
        ...MAPPING.attributes,
        userName: { expression: 'ToLower(Join("@", Join(".", [first], [last]), "contoso.com"))' },
      },
    });
    const update = await cli(
      ['test', file('people.csv', CSV), '--mapping', existing, '--tenant', 'default', '--user', 'ana.cruz@contoso.com'],
      fullEnv,
    );
    assert.equal(update.code, 0, update.stderr + update.stdout);
    assert.match(update.stdout, new RegExp(`the provider has this user: id ${id}`));
    assert.match(update.stdout, /\n {2}name\.familyName +"Cruz" +provider: "Old"\n/);
    assert.match(update.stdout, /\n {2}title +"Supervisor" +provider: "Agent"\n/);
    assert.match(update.stdout, /\n {2}active +true +provider: true\n/);
    assert.match(update.stdout, new RegExp(`would send: PATCH /Users/${id}`));
    const patch = JSON.parse(
      update.stdout.slice(update.stdout.indexOf('{', update.stdout.indexOf('would send: PATCH'))),
    );
    assert.deepEqual(patch.schemas, ['urn:ietf:params:scim:api:messages:2.0:PatchOp']);
    assert.deepEqual(
      patch.Operations.map((o: { op: string; path: string }) => `${o.op} ${o.path}`).sort(),
      ['replace name', 'replace title', `replace ${ENTERPRISE}:department`].sort(),
    );
    assert.deepEqual(writes(full), [], 'mapping test wrote to the provider');
  });

  it('check: names every problem against the tenant’s /Schemas, and passes a mapping that fits', async () => {
    const wrong = file('wrong.json', {
      attributes: {
        id: 'employee_id',
        'name.givenName': 'first',
        nickName: { constant: 7 },
        active: 'enabled',
        favouriteColour: 'colour',
        'emails[type eq "pigeon"].value': 'email',
        'urn:example:ext:1.0:User:x': 'x',
        [`${ENTERPRISE}:manager.displayName`]: 'boss',
      },
    });
    const run = await cli(['check', '--mapping', wrong], fullEnv);
    assert.equal(run.code, 1, run.stderr);
    const lines = run.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.trim());
    assert.deepEqual(lines, [
      'id: is read-only at the provider (it sets the value; a mapping cannot)',
      'nickName: the constant is a whole number; the attribute is of type string',
      'active: the source gives text; the attribute is of type boolean (add "transform": "boolean", or use CBool(…))',
      "favouriteColour: favouriteColour is not an attribute of the provider's User schema",
      'emails[type eq "pigeon"].value: "pigeon" is not one of the canonical values of emails.type: "work", "home", "other"',
      "urn:example:ext:1.0:User:x: urn:example:ext:1.0:User is not an extension of the provider's User resource type",
      `${ENTERPRISE}:manager.displayName: manager.displayName is read-only at the provider (it sets the value; a mapping cannot)`,
      'userName: is required by the provider, and no rule maps it',
    ]);
    assert.match(run.stdout, /8 problems against tenant default/);

    const good = await cli(['check', '--mapping', file('good.json', MAPPING)], fullEnv);
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.match(good.stdout, /fits tenant default \(urn:ietf:params:scim:schemas:core:2\.0:User, /);
    assert.deepEqual(writes(full), []);
  });

  it('check on the cxone profile: emails are required, and the NICE extension is known', async () => {
    const nice = 'urn:ietf:params:scim:schemas:extension:nice:2.0:User';
    const run = await cli(
      ['check', '--mapping', file('cx.json', { attributes: { userName: 'email', [`${nice}:team.value`]: 'team' } })],
      cxoneEnv,
    );
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /\n {2}emails: is required by the provider, and no rule maps it\n/);
    assert.doesNotMatch(run.stdout, /team/);
    assert.deepEqual(writes(cxone), []);
  });
});

describe('checkMappingAgainstSchema (pure): immutable targets and required sub-attributes', () => {
  const model: UserSchemaModel = {
    schema: 'urn:ietf:params:scim:schemas:core:2.0:User',
    endpoint: '/Users',
    attributes: [
      { name: 'userName', type: 'string', multiValued: false, required: true },
      { name: 'employeeCode', type: 'string', multiValued: false, mutability: 'immutable' },
      { name: 'age', type: 'integer', multiValued: false },
      {
        name: 'emails',
        type: 'complex',
        multiValued: true,
        subAttributes: [
          { name: 'value', type: 'string', multiValued: false, required: true },
          { name: 'primary', type: 'boolean', multiValued: false },
        ],
      },
    ],
    extensions: [],
  };
  const check = (attributes: Record<string, unknown>) => {
    const compiled = compileMapping({ attributes });
    assert.ok(compiled.ok);
    return checkMappingAgainstSchema(compiled.mapping, model);
  };

  it('names an immutable target, a fraction for an integer, and a required sub-attribute never mapped', () => {
    assert.deepEqual(
      check({
        userName: 'mail',
        employeeCode: 'code',
        age: { source: 'age', transform: 'number' },
        'emails.primary': { constant: true },
      }),
      [
        'employeeCode: is immutable at the provider (set only when the user is created; any later change is refused)',
        'age: the source gives a number; the attribute is of type integer (add "transform": "integer")',
        'emails.value: is required by the provider when emails is given, and no rule maps it',
      ],
    );
    assert.deepEqual(check({ userName: 'mail', age: { expression: 'DateDiff("yyyy", CDate([born]), Now())' } }), []);
    assert.deepEqual(check({ userName: { expression: 'CBool([x])' } }), [
      'userName: the expression gives a boolean; the attribute is of type string',
    ]);
  });
});
