// CXone's roles, team and login authenticator given by name: the pure resolver
// (src/scim/cxone-references.ts), the respelling of attribute names as /Schemas declares them, and
// the check of mapping targets against /Schemas (src/scim/user-validation.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTargetPath } from '../src/mapping/mapping';
import type { AttributeDefinition } from '../src/scim/codecs';
import {
  directoryList,
  isResolvedByName,
  listsNeeded,
  resolveReferences,
  type CxoneDirectory,
} from '../src/scim/cxone-references';
import { targetProblem, validateUser, withDeclaredNames, type UserSchemaModel } from '../src/scim/user-validation';

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const NICE = 'urn:ietf:params:scim:schemas:extension:nice:2.0:User';

const directory: CxoneDirectory = {
  roles: directoryList([
    { id: '1', name: 'Agent', status: 'Active' },
    { id: '2', name: 'Supervisor', status: 'Active' },
    { id: '3', name: 'Retired', status: 'Inactive' },
  ]),
  teams: directoryList([
    { id: '10', name: 'Sales' },
    { id: '11', name: 'Support' },
    { id: '12', name: 'support ' },
  ]),
  loginAuthenticators: directoryList([{ id: '20', name: 'Okta SSO' }]),
};

const user = (extra: Record<string, unknown> = {}) => ({
  schemas: [CORE, NICE],
  userName: 'ada@cx.example',
  roles: [{ display: 'supervisor', primary: true }],
  [NICE]: { team: { display: 'SALES' }, loginAuthenticator: { display: 'okta sso' } },
  ...extra,
});

const str = (name: string, extra: Partial<AttributeDefinition> = {}): AttributeDefinition => ({
  name,
  type: 'string',
  multiValued: false,
  mutability: 'readWrite',
  ...extra,
});
const reference = (name: string): AttributeDefinition => ({
  name,
  type: 'complex',
  multiValued: false,
  mutability: 'readWrite',
  subAttributes: [str('value', { required: true }), str('display', { mutability: 'readOnly' })],
});

/** The User a CXone tenant declares (as the sandbox's cxone profile does), without userType. */
const model: UserSchemaModel = {
  schema: CORE,
  endpoint: '/Users',
  attributes: [
    str('userName', { required: true }),
    {
      name: 'name',
      type: 'complex',
      multiValued: false,
      mutability: 'readWrite',
      subAttributes: [str('givenName'), str('familyName')],
    },
    {
      name: 'roles',
      type: 'complex',
      multiValued: true,
      mutability: 'readWrite',
      subAttributes: [
        str('value', { required: true }),
        str('display', { mutability: 'readOnly' }),
        { name: 'primary', type: 'boolean', multiValued: false, mutability: 'readWrite' },
      ],
    },
    str('timeZone'),
  ],
  extensions: [
    {
      schema: NICE,
      required: false,
      attributes: [
        reference('team'),
        reference('loginAuthenticator'),
        { name: 'agentId', type: 'integer', multiValued: false, mutability: 'readOnly' },
      ],
    },
  ],
};

describe('CXone references by name', () => {
  it('fills each value from its display (names without case), keeps primary, drops the name, changes no input', () => {
    const input = user();
    const before = structuredClone(input);
    const resolved = resolveReferences(input, directory);
    assert.deepEqual(resolved, {
      ok: true,
      user: {
        ...before,
        roles: [{ value: '2', primary: true }],
        [NICE]: { team: { value: '10' }, loginAuthenticator: { value: '20' } },
      },
    });
    assert.deepEqual(input, before);
  });

  it('needs only the lists some reference names, and leaves a reference given by id alone', () => {
    assert.deepEqual([...listsNeeded(user())].sort(), ['loginAuthenticators', 'roles', 'teams']);
    const byId = user({ roles: [{ value: '1', display: 'whatever' }], [NICE]: { team: { display: 'Sales' } } });
    assert.deepEqual([...listsNeeded(byId)], ['teams']);
    assert.deepEqual(listsNeeded({ userName: 'x@y.example' }).size, 0);
    const resolved = resolveReferences(byId, { teams: directory.teams });
    assert.ok(resolved.ok);
    assert.deepEqual(resolved.user.roles, [{ value: '1', display: 'whatever' }]);
  });

  it('refuses an unknown, an ambiguous or an inactive name, naming the attribute and the name, every one at once', () => {
    const resolved = resolveReferences(
      user({
        roles: [{ display: 'Retired' }, { display: 'Agent' }],
        [NICE]: { team: { display: 'Support' }, loginAuthenticator: { display: 'Azure AD' } },
      }),
      directory,
    );
    assert.deepEqual(resolved, {
      ok: false,
      problems: [
        'roles[0].display: the role "Retired" (id 3) is inactive',
        `${NICE}:team.display: 2 teams are named "Support" (ids 11, 12): give the id in ${NICE}:team.value`,
        `${NICE}:loginAuthenticator.display: the tenant has no login authenticator named "Azure AD"`,
      ],
    });
  });

  it('a list the tenant could not give is the reason of each record that needs it', () => {
    const resolved = resolveReferences(user({ [NICE]: {} }), {
      roles: { unavailable: 'the tenant has no such API (GET /user-management/v1/roles answered 404)' },
    });
    assert.deepEqual(resolved, {
      ok: false,
      problems: [
        'roles[0].display: the role "supervisor" cannot be resolved to an id: the tenant has no such API (GET /user-management/v1/roles answered 404)',
      ],
    });
    assert.deepEqual(resolveReferences(user({ roles: [{ display: 7 }], [NICE]: {} }), directory), {
      ok: false,
      problems: ['roles[0].display: must be the name of a role (a string), got number'],
    });
  });

  it('knows which mapping targets it resolves', () => {
    assert.equal(isResolvedByName(undefined, 'roles', 'display'), true);
    assert.equal(isResolvedByName(NICE, 'Team', 'Display'), true);
    assert.equal(isResolvedByName(NICE, 'loginAuthenticator', 'display'), true);
    assert.equal(isResolvedByName(NICE, 'agentId', undefined), false);
    assert.equal(isResolvedByName(undefined, 'emails', 'display'), false);
  });
});

describe('attribute names as the tenant declares them', () => {
  it('spells timezone as the declared timeZone (sub-attributes and the extension URN too), other names untouched', () => {
    const resolved = resolveReferences(user({ timezone: 'Europe/Paris', NAME: { GivenName: 'Ada' } }), directory);
    assert.ok(resolved.ok);
    const { [NICE]: _nice, ...core } = resolved.user;
    const respelled = withDeclaredNames(model, {
      ...core,
      [NICE.toUpperCase()]: { TEAM: { VALUE: '10' } },
      shoeSize: 44,
    });
    assert.equal(NICE.toUpperCase() in respelled, false);
    assert.equal(respelled.timeZone, 'Europe/Paris');
    assert.equal('timezone' in respelled, false);
    assert.deepEqual(respelled.name, { givenName: 'Ada' });
    assert.deepEqual(respelled[NICE], { team: { value: '10' } });
    assert.equal(respelled.shoeSize, 44);
    assert.deepEqual(validateUser(model, respelled), ['shoeSize: is not an attribute of the schema']);
  });

  it('leaves both spellings alone when a record has both, and a record with a refused key as it is', () => {
    const both = { userName: 'a@b.example', timezone: 'UTC', timeZone: 'Europe/Paris' };
    assert.deepEqual(withDeclaredNames(model, both), both);
    const refused = JSON.parse('{"userName":"a@b.example","timezone":"UTC","__proto__":{"x":1}}');
    assert.equal(withDeclaredNames(model, refused), refused);
  });
});

describe('mapping targets against /Schemas', () => {
  const problem = (target: string) => {
    const path = parseTargetPath(target);
    assert.ok(path, target);
    return targetProblem(model, path);
  };

  it('accepts declared attributes, any letter case, and the names resolved to ids', () => {
    for (const target of [
      'userName',
      'name.givenName',
      'timezone',
      'roles.display',
      'roles.primary',
      `${NICE}:team.display`,
      `${NICE}:loginAuthenticator.display`,
      `${NICE}:team.value`,
    ])
      assert.equal(problem(target), undefined, target);
  });

  it('reports what the tenant does not declare, or declares read-only', () => {
    assert.equal(problem('userType'), "userType is not declared by the provider's User schema (/Schemas)");
    assert.equal(
      problem('name.middleName'),
      "name.middleName is not declared by the provider's User schema (/Schemas)",
    );
    assert.equal(problem(`${NICE}:agentId`), `agentId is read-only in the extension ${NICE}`);
    assert.equal(
      problem('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department'),
      "the provider's /Schemas declares no extension urn:ietf:params:scim:schemas:extension:enterprise:2.0:User of its User",
    );
  });
});
