// Manager references and deferred SelectUniqueValue in the mapping itself (src/mapping/mapping.ts):
// what compiles, and what a mapped record leaves to the planner. Pure: no provider.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { enterpriseUserSchema, userSchema } from 'cxone-sandbox';
import { applyMapping, compileMapping, matchValuesOf, placeResolved } from '../src/mapping/mapping';
import { checkMappingAgainstSchema } from '../src/mapping/schema-check';
import { userSchemaModel } from '../src/scim/user-validation';

const MANAGER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager';

const compiled = (document: unknown) => {
  const result = compileMapping(document);
  assert.ok(result.ok, result.ok ? '' : result.problems.join('; '));
  return result.mapping;
};

describe('manager references in a mapping', () => {
  it('key by externalId when the mapping maps it, else userName, else what referenceBy or matchOn says', () => {
    const byExternal = compiled({ attributes: { userName: 'email', externalId: 'id', [MANAGER]: 'boss' } });
    assert.deepEqual(byExternal.rules.find((r) => r.reference)?.reference, {
      by: 'externalId',
      providerAttribute: 'externalId',
    });
    const byName = compiled({ attributes: { userName: 'email', [MANAGER]: 'boss' } });
    assert.equal(byName.rules.find((r) => r.reference)?.reference?.by, 'userName');
    const explicit = compiled({
      attributes: { userName: 'email', externalId: 'id', [MANAGER]: { source: 'boss_email', referenceBy: 'userName' } },
    });
    assert.equal(explicit.rules.find((r) => r.reference)?.reference?.by, 'userName');
    const paired = compiled({
      attributes: {
        userName: 'email',
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber': 'id',
        [MANAGER]: 'boss',
      },
      matchOn: [['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber', 'externalId']],
    });
    assert.deepEqual(paired.rules.find((r) => r.reference)?.reference, {
      by: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber',
      providerAttribute: 'externalId',
    });
    // manager.value without referenceBy: the provider's id itself, no reference.
    const direct = compiled({ attributes: { userName: 'email', [`${MANAGER}.value`]: 'boss_id' } });
    assert.equal(
      direct.rules.find((r) => r.reference),
      undefined,
    );
    // `mapping check`: a reference writes manager.value, so the complex manager is no problem.
    const model = userSchemaModel(
      {
        Resources: [
          {
            id: 'User',
            name: 'User',
            endpoint: '/Users',
            schema: 'urn:ietf:params:scim:schemas:core:2.0:User',
            schemaExtensions: [
              { schema: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', required: false },
            ],
          },
        ],
      },
      { Resources: [userSchema, enterpriseUserSchema] },
    );
    assert.ok(model.ok);
    assert.deepEqual(checkMappingAgainstSchema(byExternal, model.model), []);
  });

  it('refuses referenceBy elsewhere, a constant manager, and a key attribute the mapping does not map', () => {
    const problems = (document: unknown) => {
      const result = compileMapping(document);
      return result.ok ? [] : result.problems;
    };
    assert.match(
      problems({ attributes: { userName: { source: 'e', referenceBy: 'userName' } } }).join(),
      /userName: "referenceBy" is for the manager/,
    );
    assert.match(problems({ attributes: { userName: 'e', [MANAGER]: { constant: 'x' } } }).join(), /not a "constant"/);
    assert.match(
      problems({ attributes: { userName: 'e', [MANAGER]: { source: 'b', referenceBy: 'externalId' } } }).join(),
      /the mapping does not map externalId/,
    );
  });

  it('leaves the manager key and SelectUniqueValue candidates to the planner, and places what it resolves', () => {
    const mapping = compiled({
      attributes: {
        externalId: 'id',
        userName: {
          expression: 'SelectUniqueValue(Join("@", [first], "x.example"), Join("@", [last], "x.example"))',
          transform: 'lowercase',
        },
        [MANAGER]: { source: 'boss', apply: 'create' },
      },
      matchOn: [['externalId', 'externalId']],
    });
    const record = { id: 'E1', first: 'Ana', last: 'Lima', boss: 'E9' };
    const mapped = applyMapping(mapping, record, { now: 0, seed: 's', deferUnique: true });
    assert.ok(mapped.ok);
    assert.deepEqual(mapped.choices, [{ target: 'userName', candidates: ['ana@x.example', 'lima@x.example'] }]);
    assert.deepEqual(mapped.manager, { key: 'E9', by: 'externalId', providerAttribute: 'externalId', target: MANAGER });
    assert.deepEqual(mapped.writes?.createOnly, [MANAGER]);
    assert.equal(mapped.user.userName, undefined);
    placeResolved(mapped.user, 'userName', 'lima@x.example');
    placeResolved(mapped.user, MANAGER, 'id-9');
    assert.equal(mapped.user.userName, 'lima@x.example');
    assert.deepEqual(mapped.user[MANAGER.slice(0, MANAGER.lastIndexOf(':'))], { manager: { value: 'id-9' } });
    assert.ok((mapped.user.schemas as string[]).includes('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'));
    assert.deepEqual(matchValuesOf(mapping.matchOn ?? [], mapped.user), [['externalId', 'E1']]);
    // Without deferUnique (a sync, mapping test without a check) SelectUniqueValue still needs a uniqueness check.
    const strict = applyMapping(mapping, record, { now: 0, seed: 's' });
    assert.ok(!strict.ok && /uniqueness check/.test(strict.problems.join()));
  });
});
