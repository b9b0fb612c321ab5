import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { bulkIdFor, chunkEntries, planProvisioning, type ProvisionPlan } from '../src/activities/provisioning';
import { loadFileSource } from '../src/activities/sources/user-source';
import { enterpriseUserSchema, userSchema } from 'cxone-sandbox';
import {
  BULK_ENVELOPE_BYTES,
  bulkPostOperation,
  bulkRequestBody,
  indicesOf,
  packChunks,
  rangesOf,
  retryChunk,
  splitChunk,
  utf8Length,
} from '../src/scim/bulk-plan';
import type { AttributeDefinition } from '../src/scim/codecs';
import {
  applyMapping,
  compileMapping,
  identityMapping,
  parseTargetPath,
  type CompiledMapping,
} from '../src/mapping/mapping';
import { mergedForPut, userPatchOperations } from '../src/scim/patch';
import { bulkLimitsOf, userSchemaModel, validateUser, type UserSchemaModel } from '../src/scim/user-validation';

// The pure parts of provisionUsers: validation against discovered schemas, attribute mapping,
// request sizing and chunking, update-if-different, and the planning activity on fixtures.

const FIXTURES = path.join(__dirname, '..', '..', 'test', 'fixtures', 'provision');
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

// The sandbox's schema documents, as /Schemas and /ResourceTypes serve them.
const schemasBody = { Resources: [userSchema, enterpriseUserSchema] };
const resourceTypesBody = {
  Resources: [
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      schema: CORE,
      schemaExtensions: [{ schema: ENTERPRISE, required: false }],
    },
  ],
};

function sandboxModel(): UserSchemaModel {
  const built = userSchemaModel(resourceTypesBody, schemasBody);
  assert.ok(built.ok, built.ok ? '' : built.problem);
  return built.model;
}

const user = (extra: Record<string, unknown> = {}) => ({ schemas: [CORE], userName: 'ada@example.com', ...extra });

describe('userSchemaModel and bulkLimitsOf', () => {
  it('builds the User model from /ResourceTypes and /Schemas', () => {
    const model = sandboxModel();
    assert.equal(model.schema, CORE);
    assert.equal(model.endpoint, '/Users');
    assert.deepEqual(
      model.extensions.map((e) => [e.schema, e.required]),
      [[ENTERPRISE, false]],
    );
    assert.ok(model.attributes.some((a) => a.name === 'userName' && a.required));
  });

  it('names what is missing', () => {
    const noUserType = userSchemaModel({ Resources: [] }, schemasBody);
    assert.deepEqual(noUserType, {
      ok: false,
      problem: 'the provider lists no User resource type in /ResourceTypes',
      warnings: [],
    });
    const noExtension = userSchemaModel(resourceTypesBody, { Resources: [userSchema] });
    assert.equal(noExtension.ok, false);
    assert.match((noExtension as { problem: string }).problem, /does not describe the User extension .*enterprise/);
  });

  it('reads leniently what the RFC intends (types in any case, no `schemas`, no `multiValued`) and names what it drops', () => {
    const types = { Resources: [{ name: 'User', endpoint: '/Users', schema: CORE }, { name: 'Broken' }] };
    const schemas = {
      Resources: [
        {
          id: CORE,
          attributes: [
            { name: 'userName', type: 'String', required: true, mutability: 'ReadWrite' },
            { name: 'active', type: 'BOOLEAN' },
            { name: 'shoeSize', type: 'furlong' },
          ],
        },
      ],
    };
    const built = userSchemaModel(types, schemas);
    assert.ok(built.ok);
    assert.deepEqual(
      built.model.attributes.map((a) => [a.name, a.type, a.multiValued]),
      [
        ['userName', 'string', false],
        ['active', 'boolean', false],
      ],
    );
    assert.equal(built.warnings.length, 2);
    assert.match(
      built.warnings[0],
      /^\/ResourceTypes\[1\] "Broken" dropped: \$\.endpoint: required attribute is missing/,
    );
    assert.match(
      built.warnings[1],
      /attributes\[2\] "shoeSize" dropped: \$\.type: expected one of .*got string "furlong"/,
    );
    assert.deepEqual(validateUser(built.model, { schemas: [CORE], userName: 'ada', active: 'yes' }), [
      'active: must be of type boolean, got string "yes"',
    ]);
    const noSchema = userSchemaModel(types, { Resources: [{ attributes: [] }] });
    assert.equal(noSchema.ok, false);
    assert.match(
      (noSchema as { problem: string }).problem,
      /does not describe the User schema .* \(discovery dropped: .*\/Schemas\[0\] dropped: \$\.id: required attribute is missing\)/,
    );
  });

  it('reads the bulk limits of a ServiceProviderConfig', () => {
    assert.deepEqual(bulkLimitsOf({ bulk: { supported: true, maxOperations: 1000, maxPayloadSize: 1048576 } }), {
      ok: true,
      limits: { supported: true, maxOperations: 1000, maxPayloadSize: 1048576 },
    });
    assert.deepEqual(bulkLimitsOf({}), { ok: true, limits: { supported: false, maxOperations: 0, maxPayloadSize: 0 } });
    assert.equal(bulkLimitsOf({ bulk: { maxOperations: 'many' } }).ok, false);
  });
});

describe('validateUser against the discovered schemas', () => {
  const model = sandboxModel();

  it('accepts a complete valid user, with the enterprise extension listed', () => {
    const valid = {
      schemas: [CORE, ENTERPRISE],
      userName: 'ada@example.com',
      externalId: 'E1',
      name: { givenName: 'Ada', familyName: 'Lovelace' },
      displayName: 'Ada Lovelace',
      active: true,
      password: 'p4ss',
      emails: [
        { value: 'ada@example.com', type: 'WORK', primary: true },
        { value: 'ada@home.example', type: 'home' },
      ],
      [ENTERPRISE]: { department: 'Engineering', manager: { value: 'boss-id' } },
    };
    assert.deepEqual(validateUser(model, valid), []);
  });

  it('reports every reason at once, each with its attribute path', () => {
    const reasons = validateUser(model, {
      schemas: [CORE],
      userName: '',
      active: 'yes',
      displayName: ['Ada'],
      emails: { value: 'ada@example.com' },
      phoneNumbers: [{ value: '+1', type: 'satellite' }],
      groups: [{ value: 'g1' }],
      id: 'chosen-by-client',
      nickname2: 'x',
      [ENTERPRISE]: { department: 'Eng' },
      'urn:example:params:scim:schemas:extension:acme:2.0:User': { badge: 1 },
    });
    assert.deepEqual(
      reasons.sort(),
      [
        'active: must be of type boolean, got string "yes"',
        'displayName: is single-valued, got an array',
        'emails: is multi-valued and must be an array, got an object',
        'groups: is read-only (the provider sets it; it cannot be provisioned)',
        'id: is read-only (the provider sets it; it cannot be provisioned)',
        'nickname2: is not an attribute of the schema',
        'phoneNumbers[0].type: "satellite" is not one of the canonical values "work", "home", "mobile", "fax", "pager", "other"',
        `urn:example:params:scim:schemas:extension:acme:2.0:User: is not an extension of the provider's User resource type`,
        `${ENTERPRISE}: extension attributes are present but the URN is not listed in "schemas"`,
        'userName: is required',
      ].sort(),
    );
  });

  it('checks schemas, required extensions, primaries, sub-attribute types, and hides passwords', () => {
    const strict: UserSchemaModel = { ...model, extensions: model.extensions.map((e) => ({ ...e, required: true })) };
    assert.deepEqual(validateUser(strict, user()), [`${ENTERPRISE}: this extension is required by the provider`]);
    assert.deepEqual(validateUser(model, { userName: 'a' }), ['schemas: must be a non-empty array of schema URNs']);
    assert.deepEqual(validateUser(model, user({ schemas: [ENTERPRISE] })), [`schemas: must contain ${CORE}`]);
    assert.deepEqual(
      validateUser(
        model,
        user({
          emails: [
            { value: 'a@example.com', primary: true },
            { value: 'b@example.com', primary: true },
          ],
        }),
      ),
      ['emails: more than one value has "primary": true'],
    );
    assert.deepEqual(validateUser(model, user({ name: { givenName: 7 } })), [
      'name.givenName: must be of type string, got number 7',
    ]);
    assert.deepEqual(validateUser(model, user({ [ENTERPRISE]: { department: 1 }, schemas: [CORE, ENTERPRISE] })), [
      `${ENTERPRISE}:department: must be of type string, got number 1`,
    ]);
    assert.deepEqual(validateUser(model, user({ password: 42 })), [
      'password: must be of type string, got a number (value hidden)',
    ]);
    assert.deepEqual(validateUser(model, 'ada'), ['$: a User must be a JSON object, got string "ada"']);
  });

  it('checks integer, decimal and dateTime attributes of extensions a provider may publish', () => {
    const attributes: AttributeDefinition[] = [
      { name: 'badge', type: 'integer', multiValued: false },
      { name: 'score', type: 'decimal', multiValued: false },
      { name: 'hired', type: 'dateTime', multiValued: false },
    ];
    const urn = 'urn:example:params:scim:schemas:extension:acme:2.0:User';
    const custom: UserSchemaModel = { ...model, extensions: [{ schema: urn, required: false, attributes }] };
    const ok = user({ schemas: [CORE, urn], [urn]: { badge: 7, score: 1.5, hired: '2024-02-29T08:00:00Z' } });
    assert.deepEqual(validateUser(custom, ok), []);
    const bad = user({ schemas: [CORE, urn], [urn]: { badge: 7.5, score: 'high', hired: 'yesterday' } });
    assert.deepEqual(validateUser(custom, bad), [
      `${urn}:badge: must be of type integer, got number 7.5`,
      `${urn}:score: must be of type decimal, got string "high"`,
      `${urn}:hired: must be an xsd:dateTime string, got string "yesterday"`,
    ]);
  });
});

describe('attribute mapping', () => {
  const mapping = (): CompiledMapping => {
    const compiled = compileMapping(JSON.parse(fs.readFileSync(path.join(FIXTURES, 'mapping.json'), 'utf8')));
    assert.ok(compiled.ok);
    return compiled.mapping;
  };

  it('parses target paths: simple, sub-attribute, filtered multi-valued, extension', () => {
    assert.deepEqual(parseTargetPath('active'), { attribute: 'active' });
    assert.deepEqual(parseTargetPath('name.givenName'), { attribute: 'name', sub: 'givenName' });
    assert.deepEqual(parseTargetPath('emails[type eq "work"].value'), {
      attribute: 'emails',
      filter: { attribute: 'type', value: 'work' },
      sub: 'value',
    });
    assert.deepEqual(parseTargetPath(`${ENTERPRISE}:manager.value`), {
      extension: ENTERPRISE,
      attribute: 'manager',
      sub: 'value',
    });
    assert.deepEqual(parseTargetPath(`${CORE}:userName`), { attribute: 'userName' });
    assert.equal(parseTargetPath('emails[type ne "work"].value'), undefined);
  });

  it('maps a CSV row: columns, lower-case, join, constants, booleans, defaults, extension', () => {
    const result = applyMapping(mapping(), {
      employee_id: 'E1001',
      email: ' Ada.Lovelace@Example.com ',
      first_name: 'Ada',
      last_name: 'Lovelace',
      department: 'Engineering',
      enabled: '',
      phone: '',
    });
    assert.deepEqual(result, {
      ok: true,
      user: {
        schemas: [CORE, ENTERPRISE],
        userName: 'ada.lovelace@example.com',
        externalId: 'E1001',
        name: { givenName: 'Ada', familyName: 'Lovelace' },
        displayName: 'Ada Lovelace',
        emails: [{ type: 'work', value: 'ada.lovelace@example.com', primary: true }],
        active: true,
        [ENTERPRISE]: { department: 'Engineering', employeeNumber: 'E1001' },
      },
    });
  });

  it('reports a value a transform cannot read, naming target and source', () => {
    const result = applyMapping(mapping(), { email: 'a@b', enabled: 'maybe' });
    assert.deepEqual(result, { ok: false, problems: ['active: cannot read "maybe" as a boolean (source "enabled")'] });
  });

  it('rejects a malformed mapping with every problem', () => {
    const result = compileMapping({
      attributes: { 'emails[': 'x', active: { transform: 'boolean' }, title: { source: 'a', constant: 'b' } },
    });
    assert.equal(result.ok, false);
    assert.equal((result as { problems: string[] }).problems.length, 3);
    assert.equal(compileMapping({ attributes: { userName: { source: 'a', transform: 'reverse' } } }).ok, false);
  });

  it('without a mapping, CSV headers are SCIM paths and active/primary columns are booleans', () => {
    const identity = identityMapping([
      'userName',
      'emails[type eq "work"].value',
      'emails[type eq "work"].primary',
      'active',
    ]);
    assert.ok(identity.ok);
    const mapped = applyMapping(identity.mapping, {
      userName: 'x@example.com',
      'emails[type eq "work"].value': 'x@example.com',
      'emails[type eq "work"].primary': 'TRUE',
      active: 'false',
    });
    assert.deepEqual(mapped, {
      ok: true,
      user: {
        schemas: [CORE],
        userName: 'x@example.com',
        emails: [{ type: 'work', value: 'x@example.com', primary: true }],
        active: false,
      },
    });
  });
});

describe('bulk request sizing and chunking', () => {
  const endpoint = '/Users';
  const users = Array.from({ length: 40 }, (_, i) => ({
    schemas: [CORE],
    userName: `user${i}@example.com`,
    displayName: 'Zoë Ünïcode '.repeat(i % 5),
  }));
  const ops = users.map((u, index) => ({ index, op: bulkPostOperation(endpoint, bulkIdFor('t', u.userName), u) }));
  const sized = ops.map(({ index, op }) => ({ index, bytes: Buffer.byteLength(JSON.stringify(op)) }));
  const bodyBytes = (indices: number[]) =>
    Buffer.byteLength(JSON.stringify(bulkRequestBody(indices.map((i) => ops[i].op))));

  it('counts UTF-8 bytes like Buffer does', () => {
    for (const text of ['plain', 'Zoë', '日本語', 'emoji 😀 pair', ''])
      assert.equal(utf8Length(text), Buffer.byteLength(text));
    assert.equal(BULK_ENVELOPE_BYTES, bodyBytes([]));
  });

  it('never passes maxOperations, and plans the exact serialized size', () => {
    const { chunks, tooLarge } = packChunks(sized, { maxOperations: 7, maxPayloadSize: 1_000_000 });
    assert.deepEqual(tooLarge, []);
    assert.deepEqual(
      chunks.map((c) => c.operations),
      [7, 7, 7, 7, 7, 5],
    );
    for (const chunk of chunks) assert.equal(chunk.bytes, bodyBytes(indicesOf(chunk.ranges)));
  });

  it('fills each request up to maxPayloadSize and no further', () => {
    const maxPayloadSize = 2000;
    const { chunks } = packChunks(sized, { maxOperations: 1000, maxPayloadSize });
    assert.ok(chunks.length > 3);
    chunks.forEach((chunk, i) => {
      const indices = indicesOf(chunk.ranges);
      assert.ok(bodyBytes(indices) <= maxPayloadSize, `chunk ${i} is ${bodyBytes(indices)} bytes`);
      const next = chunks[i + 1];
      if (next)
        assert.ok(
          bodyBytes([...indices, indicesOf(next.ranges)[0]]) > maxPayloadSize,
          `chunk ${i} could hold one more`,
        );
    });
    assert.equal(
      chunks.reduce((n, c) => n + c.operations, 0),
      40,
    );
  });

  it('sets aside an operation too large for any request', () => {
    const { chunks, tooLarge } = packChunks(
      [
        { index: 0, bytes: 100 },
        { index: 1, bytes: 5000 },
        { index: 2, bytes: 100 },
      ],
      { maxOperations: 10, maxPayloadSize: 1000 },
    );
    assert.deepEqual(tooLarge, [{ index: 1, bytes: 5000 }]);
    assert.deepEqual(
      chunks.map((c) => c.ranges),
      [
        [
          [0, 1],
          [2, 3],
        ],
      ],
    );
  });

  it('splits a chunk in halves, and names splits and resends', () => {
    const chunk = { id: 'c3', ranges: rangesOf([1, 2, 3, 7, 8]), operations: 5, bytes: BULK_ENVELOPE_BYTES + 500 };
    assert.deepEqual(chunk.ranges, [
      [1, 4],
      [7, 9],
    ]);
    const [a, b] = splitChunk(chunk) ?? assert.fail('not split');
    assert.deepEqual([a.id, indicesOf(a.ranges), b.id, indicesOf(b.ranges)], ['c3a', [1, 2, 3], 'c3b', [7, 8]]);
    assert.equal(splitChunk({ id: 'c1', ranges: [[4, 5]], operations: 1, bytes: 300 }), undefined);
    assert.equal(retryChunk(chunk, [2, 8], 1).id, 'c3r1');
    assert.equal(retryChunk(retryChunk(chunk, [2, 8], 1), [8], 2).id, 'c3r2');
    assert.deepEqual(retryChunk(chunk, [8, 2], 1).ranges, [
      [2, 3],
      [8, 9],
    ]);
  });
});

describe('chunk claims', () => {
  it("a split or a resend keeps its parent's claim and narrows the ranges", () => {
    const claim = { location: '/claims/chunks/x.ndjson', sha256: 'a'.repeat(64), bytes: 10 };
    const chunk = { id: 'c3', ranges: [[0, 4]] as Array<[number, number]>, operations: 4, bytes: 400, claim };
    const halves = splitChunk(chunk);
    assert.deepEqual(
      halves?.map((h) => [h.id, h.ranges, h.claim]),
      [
        ['c3a', [[0, 2]], claim],
        ['c3b', [[2, 4]], claim],
      ],
    );
    const resend = retryChunk(chunk, [1, 3], 1);
    assert.deepEqual(
      [resend.id, resend.ranges, resend.claim],
      [
        'c3r1',
        [
          [1, 2],
          [3, 4],
        ],
        claim,
      ],
    );
  });
});

describe('update-if-different', () => {
  const current = {
    schemas: [CORE, ENTERPRISE],
    id: '42',
    userName: 'ada@example.com',
    displayName: 'Ada Lovelace',
    emails: [{ value: 'ada@example.com', type: 'work', primary: true }],
    [ENTERPRISE]: { department: 'Engineering', employeeNumber: 'E1' },
    meta: { version: 'W/"3"' },
  };

  it('finds nothing to change when the provider already has the values (password is never compared)', () => {
    const desired = {
      schemas: [CORE, ENTERPRISE],
      userName: 'ada@example.com',
      displayName: 'Ada Lovelace',
      password: 'x',
      emails: [{ primary: true, type: 'work', value: 'ada@example.com' }],
      [ENTERPRISE]: { department: 'Engineering' },
    };
    assert.deepEqual(userPatchOperations(desired, current), []);
  });

  it('replaces only what differs, extension attributes one by one', () => {
    const desired = {
      schemas: [CORE, ENTERPRISE],
      userName: 'ada@example.com',
      displayName: 'Countess Lovelace',
      title: 'Analyst',
      [ENTERPRISE]: { department: 'Research', employeeNumber: 'E1' },
    };
    assert.deepEqual(userPatchOperations(desired, current), [
      { op: 'replace', path: 'displayName', value: 'Countess Lovelace' },
      { op: 'replace', path: 'title', value: 'Analyst' },
      { op: 'replace', path: `${ENTERPRISE}:department`, value: 'Research' },
    ]);
  });

  it('merges for a PUT when the provider has no PATCH', () => {
    const merged = mergedForPut(
      { schemas: [CORE], userName: 'ada@example.com', title: 'Analyst', password: 'x' },
      current,
    );
    assert.equal(merged.title, 'Analyst');
    assert.equal(merged.displayName, 'Ada Lovelace');
    assert.equal(merged.password, undefined);
    assert.equal(merged.meta, undefined);
    assert.deepEqual(merged.schemas, [CORE, ENTERPRISE]);
  });
});

describe('planProvisioning on fixture files', () => {
  const model = sandboxModel();
  const limits = { maxOperations: 3, maxPayloadSize: 1_048_576 };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'provision-domain-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('CSV + mapping: valid records chunked, invalid ones reported with reasons (mapping, required, duplicate)', async () => {
    const mapping = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'mapping.json'), 'utf8'));
    const plan = await planProvisioning({
      tenant: 't',
      source: { kind: 'file', path: path.join(FIXTURES, 'users.csv'), mapping },
      model,
      limits,
      maxReported: 100,
    });
    assert.equal(plan.records, 10);
    assert.equal(plan.valid, 7);
    assert.equal(plan.invalid, 3);
    assert.deepEqual(plan.invalidRecords, [
      { record: 5, line: 6, reasons: ['userName: is required'] },
      { record: 6, line: 7, reasons: ['active: cannot read "maybe" as a boolean (source "enabled")'] },
      {
        record: 8,
        line: 9,
        userName: 'ada.lovelace@example.com',
        reasons: ['userName: duplicates record 1 (userName is unique, case-insensitively)'],
      },
    ]);
    assert.deepEqual(
      plan.chunks.map((c) => indicesOf(c.ranges)),
      [[0, 1, 2], [3, 6, 8], [9]],
    );
    assert.match(plan.file?.sha256 ?? '', /^[0-9a-f]{64}$/);
    assert.equal(plan.file?.format, 'csv');
    assert.equal(
      JSON.stringify(plan).includes('Lovelace@'),
      false,
      'the plan carries no user data besides reported userNames',
    );
  });

  it('each chunk stores its users as a claim; the request rebuilt from it has exactly the planned size', async () => {
    const mapping = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'mapping.json'), 'utf8'));
    const plan = await planProvisioning({
      tenant: 't',
      source: { kind: 'file', path: path.join(FIXTURES, 'users.csv'), mapping },
      model,
      limits,
      maxReported: 100,
    });
    assert.ok(plan.file);
    for (const chunk of plan.chunks) {
      assert.match(chunk.claim?.location ?? '', /[0-9a-f]{64}\.ndjson$/);
      const entries = await chunkEntries('t', plan.file, chunk);
      assert.deepEqual(
        entries.map((e) => e.index),
        indicesOf(chunk.ranges),
      );
      const body = bulkRequestBody(entries.map((e) => bulkPostOperation(model.endpoint, e.bulkId, e.user)));
      assert.equal(Buffer.byteLength(JSON.stringify(body)), chunk.bytes, `chunk ${chunk.id}`);
    }
  });

  it('Guid() in a mapping: a retried plan maps each record to the same value, which its chunk sends; another run draws new ones', async () => {
    const document = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'mapping.json'), 'utf8'));
    const mapping = { attributes: { ...document.attributes, externalId: { expression: 'Guid()' } } };
    const input = {
      tenant: 't',
      source: { kind: 'file' as const, path: path.join(FIXTURES, 'users.csv'), mapping },
      model,
      limits,
      maxReported: 100,
    };
    // The planning activity of one run, first attempt and a retry (same run, same first scheduled time), then another run.
    const attempt = (runId: string, attempt: number) =>
      new MockActivityEnvironment({
        workflowExecution: { workflowId: 'provision-guid', runId },
        scheduledTimestampMs: Date.UTC(2027, 0, 4, 9),
        attempt,
      }).run((): Promise<ProvisionPlan> => planProvisioning(input));
    const externalIds = async (plan: ProvisionPlan) => {
      assert.ok(plan.file);
      const entries = (await Promise.all(plan.chunks.map((c) => chunkEntries('t', plan.file!, c)))).flat();
      return entries.map((e) => `${e.userName} ${String(e.user.externalId)}`);
    };
    const first = await attempt('run-1', 1);
    assert.equal(first.valid, 7, JSON.stringify(first.invalidRecords));
    const planned = await externalIds(first);
    for (const line of planned)
      assert.match(line, / [0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(new Set(planned.map((l) => l.split(' ')[1])).size, 7, 'one value per record');
    const retried = await attempt('run-1', 2);
    assert.deepEqual(
      retried.chunks.map((c) => c.claim?.sha256),
      first.chunks.map((c) => c.claim?.sha256),
      'the retry stores the same users',
    );
    assert.deepEqual(await externalIds(retried), planned);
    const other = await externalIds(await attempt('run-2', 1));
    assert.equal(other.filter((line) => planned.includes(line)).length, 0, 'another run draws new values');
  });

  it('a chunk planned by an earlier version (no claim) reads its users from the source again, and refuses a changed source', async () => {
    const mapping = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'mapping.json'), 'utf8'));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earlier-plan-'));
    const file = path.join(dir, 'users.csv');
    fs.copyFileSync(path.join(FIXTURES, 'users.csv'), file);
    try {
      const plan = await planProvisioning({
        tenant: 't',
        source: { kind: 'file', path: file, mapping },
        model,
        limits,
        maxReported: 100,
      });
      assert.ok(plan.file);
      const earlier = { ...plan.file, mapping };
      for (const chunk of plan.chunks) {
        const { claim, ...unclaimed } = chunk;
        assert.deepEqual(
          await chunkEntries('t', earlier, unclaimed),
          await chunkEntries('t', plan.file, { ...unclaimed, claim }),
          `chunk ${chunk.id}`,
        );
      }
      fs.appendFileSync(file, 'E999,late@example.com,Late,Comer,X,true\n');
      const { claim: _claim, ...first } = plan.chunks[0];
      await assert.rejects(
        chunkEntries('t', earlier, first),
        (err: Error & { type?: string }) => err.type === 'SourceChanged' && /changed during the run/.test(err.message),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('NDJSON: an unparsable line and invalid records are reported, the rest planned', async () => {
    const plan = await planProvisioning({
      tenant: 't',
      source: { kind: 'file', path: path.join(FIXTURES, 'users.ndjson') },
      model,
      limits,
      maxReported: 2,
    });
    assert.equal(plan.records, 5);
    assert.equal(plan.valid, 2);
    assert.equal(plan.invalid, 3);
    assert.equal(plan.invalidRecords.length, 2, 'reports are bounded, counts are not');
    assert.match(plan.invalidRecords[0].reasons[0], /^line 3: not JSON/);
    assert.deepEqual(plan.invalidRecords[1], {
      record: 4,
      line: 4,
      userName: 'nd.three@example.com',
      reasons: ['active: must be of type boolean, got string "yes"'],
    });
  });

  it('a changed file is read again: another SHA-256 and version', async () => {
    const file = path.join(tmp, 'users.json');
    fs.writeFileSync(file, JSON.stringify([user()]));
    const first = await loadFileSource({ path: file });
    assert.equal(first.records.length, 1);
    fs.writeFileSync(file, JSON.stringify({ Resources: [user(), user({ userName: 'b@example.com' })] }));
    fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const second = await loadFileSource({ path: file });
    assert.notEqual(second.sha256, first.sha256);
    assert.notEqual(second.version, first.version);
    assert.equal(second.records.length, 2);
  });

  it('a file that cannot be read fails the plan without retries', async () => {
    await assert.rejects(
      planProvisioning({
        tenant: 't',
        source: { kind: 'file', path: path.join(tmp, 'missing.csv') },
        model,
        limits,
        maxReported: 5,
      }),
      (err: Error & { nonRetryable?: boolean; type?: string }) =>
        err.type === 'SourceUnreadable' && err.nonRetryable === true,
    );
    fs.writeFileSync(path.join(tmp, 'users.txt'), '');
    await assert.rejects(
      planProvisioning({
        tenant: 't',
        source: { kind: 'file', path: path.join(tmp, 'users.txt') },
        model,
        limits,
        maxReported: 5,
      }),
      /cannot tell the format/,
    );
  });

  it('bulkIds are deterministic per tenant and userName, whatever its case', () => {
    assert.equal(bulkIdFor('t', 'Ada@Example.com'), bulkIdFor('t', 'ada@example.com'));
    assert.notEqual(bulkIdFor('t', 'ada@example.com'), bulkIdFor('u', 'ada@example.com'));
  });
});
