// The codecs against RFC 7643 §8's example documents, and against broken variants of them.
// Fixtures: test/fixtures/rfc7643 (8.2/8.3 carry erratum 5990's "US" for country; the X.509
// certificate is shortened; 8.7.1 keeps a representative subset of the User schema's attributes).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as t from 'io-ts';
import {
  BulkRequest,
  BulkResponse,
  Group,
  listResponse,
  PatchOp,
  ResourceType,
  Schema,
  ScimError,
  ServiceProviderConfig,
  User,
} from '../src/scim/codecs';
import { decode, type DecodeIssue, formatIssues } from '../src/core/decode';
import { URN } from '../src/scim/urns';
import minimalUser from './fixtures/rfc7643/8.1-minimal-user.json';
import fullUser from './fixtures/rfc7643/8.2-full-user.json';
import enterpriseUser from './fixtures/rfc7643/8.3-enterprise-user.json';
import group from './fixtures/rfc7643/8.4-group.json';
import serviceProviderConfig from './fixtures/rfc7643/8.5-service-provider-config.json';
import resourceTypes from './fixtures/rfc7643/8.6-resource-types.json';
import schemas from './fixtures/rfc7643/8.7.1-schemas.json';

function assertDecodes<A>(codec: t.Decoder<unknown, A>, document: unknown): A {
  const result = decode(codec, document);
  if (!result.ok) assert.fail(`expected ${codec.name} to decode: ${formatIssues(result.errors)}`);
  return result.value;
}

function assertIssues(codec: t.Decoder<unknown, unknown>, document: unknown, expected: DecodeIssue[]): void {
  assert.deepEqual(decode(codec, document), { ok: false, errors: expected });
}

const MISSING = 'required attribute is missing';

describe('RFC 7643 §8 examples decode unchanged', () => {
  const examples: Array<[string, t.Decoder<unknown, unknown>, unknown]> = [
    ['8.1 minimal user', User, minimalUser],
    ['8.2 full user', User, fullUser],
    ['8.3 enterprise user', User, enterpriseUser],
    ['8.4 group', Group, group],
    ['8.5 ServiceProviderConfig', ServiceProviderConfig, serviceProviderConfig],
    ['8.6 ResourceTypes', t.array(ResourceType), resourceTypes],
    ['8.7.1 User, Group and EnterpriseUser schemas', t.array(Schema), schemas],
  ];
  for (const [section, codec, document] of examples) {
    it(section, () => assert.deepEqual(assertDecodes(codec, document), document));
  }

  it('8.3: the enterprise extension is typed under its URN', () => {
    const user = assertDecodes(User, enterpriseUser);
    assert.equal(user[URN.EnterpriseUser]?.manager?.displayName, 'John Smith');
  });

  it('8.7.1: sub-attributes decode recursively', () => {
    const [userSchema] = assertDecodes(t.array(Schema), schemas);
    const name = userSchema.attributes.find((attribute) => attribute.name === 'name');
    assert.deepEqual(
      name?.subAttributes?.map((sub) => sub.name),
      ['formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix'],
    );
  });
});

describe('SCIM resources keep what the codecs do not name', () => {
  it('keeps custom extension attributes and unknown core attributes', () => {
    const custom = 'urn:example:params:scim:schemas:extension:x:2.0:Y';
    const document = { ...minimalUser, schemas: [URN.User, custom], [custom]: { badge: 7 }, cxoneSkill: ['sales'] };
    assert.deepEqual(assertDecodes(User, document), document);
  });

  it('treats a null optional attribute as unassigned (RFC 7643 §2.5)', () => {
    const user = assertDecodes(User, {
      ...minimalUser,
      displayName: null,
      name: { givenName: 'Barbara', middleName: null },
    });
    assert.equal(user.displayName, undefined);
    assert.deepEqual(user.name, { givenName: 'Barbara', middleName: undefined });
  });

  it('does not accept null for a required attribute', () => {
    assertIssues(User, { ...minimalUser, userName: null }, [
      { path: '$.userName', message: 'expected non-empty string, got null' },
    ]);
  });
});

describe('malformed User', () => {
  it('userName missing', () => {
    const { userName: _omitted, ...document } = fullUser;
    assertIssues(User, document, [{ path: '$.userName', message: MISSING }]);
  });

  it('userName blank', () => {
    assertIssues(User, { ...minimalUser, userName: '  ' }, [
      { path: '$.userName', message: 'expected non-empty string, got string "  "' },
    ]);
  });

  it('schemas empty', () => {
    assertIssues(User, { ...minimalUser, schemas: [] }, [
      { path: '$.schemas', message: 'expected non-empty array, got empty array' },
    ]);
  });

  it('schemas a string instead of an array', () => {
    assertIssues(User, { ...minimalUser, schemas: URN.User }, [
      { path: '$.schemas', message: 'expected non-empty array, got string "urn:ietf:params:scim:schemas:core:2.0:U…"' },
    ]);
  });

  it('emails not an array', () => {
    assertIssues(User, { ...fullUser, emails: 'bjensen@example.com' }, [
      { path: '$.emails', message: 'expected array, got string "bjensen@example.com"' },
    ]);
  });

  it('emails[1].value a number', () => {
    assertIssues(User, { ...fullUser, emails: [fullUser.emails[0], { value: 42, type: 'home' }] }, [
      { path: '$.emails[1].value', message: 'expected string, got number 42' },
    ]);
  });

  it('emails[0] without value, emails[1] with a non-boolean primary', () => {
    assertIssues(User, { ...fullUser, emails: [{ type: 'work' }, { value: 'babs@jensen.org', primary: 'yes' }] }, [
      { path: '$.emails[0].value', message: MISSING },
      { path: '$.emails[1].primary', message: 'expected boolean, got string "yes"' },
    ]);
  });

  it('name a string instead of a complex attribute', () => {
    assertIssues(User, { ...fullUser, name: 'Barbara Jensen' }, [
      { path: '$.name', message: 'expected object, got string "Barbara Jensen"' },
    ]);
  });

  it('active a string', () => {
    assertIssues(User, { ...fullUser, active: 'true' }, [
      { path: '$.active', message: 'expected boolean, got string "true"' },
    ]);
  });

  it('enterprise manager.value a number (path through a URN-named attribute)', () => {
    const extension = enterpriseUser[URN.EnterpriseUser];
    const document = { ...enterpriseUser, [URN.EnterpriseUser]: { ...extension, manager: { value: 26118915 } } };
    assertIssues(User, document, [
      {
        path: '$["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].manager.value',
        message: 'expected string, got number 26118915',
      },
    ]);
  });

  it('groups[0].$ref a number', () => {
    assertIssues(User, { ...fullUser, groups: [{ ...fullUser.groups[0], $ref: 1 }] }, [
      { path: '$.groups[0].$ref', message: 'expected string, got number 1' },
    ]);
  });

  it('reports every problem at once, in attribute order', () => {
    const { userName: _omitted, ...document } = fullUser;
    assertIssues(User, { ...document, schemas: [], active: 1, addresses: [{}, { postalCode: 91608 }] }, [
      { path: '$.schemas', message: 'expected non-empty array, got empty array' },
      { path: '$.userName', message: MISSING },
      { path: '$.active', message: 'expected boolean, got number 1' },
      { path: '$.addresses[1].postalCode', message: 'expected string, got number 91608' },
    ]);
  });

  it('a document that is not an object', () => {
    assertIssues(User, [minimalUser], [{ path: '$', message: 'expected object, got array' }]);
  });
});

describe('malformed Group', () => {
  it('displayName missing', () => {
    const { displayName: _omitted, ...document } = group;
    assertIssues(Group, document, [{ path: '$.displayName', message: MISSING }]);
  });

  it('members of the wrong type', () => {
    assertIssues(
      Group,
      { ...group, members: ['2819c223-7f76-453a-919d-413861904646', { value: 7 }, { display: 'x' }] },
      [
        { path: '$.members[0]', message: 'expected object, got string "2819c223-7f76-453a-919d-413861904646"' },
        { path: '$.members[1].value', message: 'expected string, got number 7' },
        { path: '$.members[2].value', message: MISSING },
      ],
    );
  });

  it('members an object instead of an array', () => {
    assertIssues(Group, { ...group, members: group.members[0] }, [
      { path: '$.members', message: 'expected array, got object' },
    ]);
  });
});

describe('malformed ServiceProviderConfig', () => {
  it('bulk.maxOperations a string', () => {
    const document = { ...serviceProviderConfig, bulk: { ...serviceProviderConfig.bulk, maxOperations: '1000' } };
    assertIssues(ServiceProviderConfig, document, [
      { path: '$.bulk.maxOperations', message: 'expected non-negative integer, got string "1000"' },
    ]);
  });

  it('filter.maxResults negative or fractional', () => {
    assertIssues(ServiceProviderConfig, { ...serviceProviderConfig, filter: { supported: true, maxResults: -1 } }, [
      { path: '$.filter.maxResults', message: 'expected non-negative integer, got number -1' },
    ]);
    assertIssues(ServiceProviderConfig, { ...serviceProviderConfig, filter: { supported: true, maxResults: 2.5 } }, [
      { path: '$.filter.maxResults', message: 'expected non-negative integer, got number 2.5' },
    ]);
  });

  it('authenticationSchemes[0] without name', () => {
    const [first, second] = serviceProviderConfig.authenticationSchemes;
    const { name: _omitted, ...nameless } = first;
    assertIssues(ServiceProviderConfig, { ...serviceProviderConfig, authenticationSchemes: [nameless, second] }, [
      { path: '$.authenticationSchemes[0].name', message: MISSING },
    ]);
  });

  it('all REQUIRED attributes missing', () => {
    assertIssues(ServiceProviderConfig, { schemas: [URN.ServiceProviderConfig] }, [
      { path: '$.patch', message: MISSING },
      { path: '$.bulk', message: MISSING },
      { path: '$.filter', message: MISSING },
      { path: '$.changePassword', message: MISSING },
      { path: '$.sort', message: MISSING },
      { path: '$.etag', message: MISSING },
      { path: '$.authenticationSchemes', message: MISSING },
    ]);
  });

  it('tutorial-style names are not RFC 7643 names', () => {
    const { bulk, filter, ...rest } = serviceProviderConfig;
    assertIssues(ServiceProviderConfig, { ...rest, bulkConfig: bulk, filterConfig: filter }, [
      { path: '$.bulk', message: MISSING },
      { path: '$.filter', message: MISSING },
    ]);
  });
});

describe('malformed ResourceType and Schema', () => {
  it('schemaExtensions[0].required missing', () => {
    const [userType] = resourceTypes;
    const document = { ...userType, schemaExtensions: [{ schema: URN.EnterpriseUser }] };
    assertIssues(ResourceType, document, [{ path: '$.schemaExtensions[0].required', message: MISSING }]);
  });

  it('a nested sub-attribute with an unknown type and no multiValued', () => {
    const [, groupSchema] = schemas;
    const [displayName, members] = groupSchema.attributes;
    const broken = { ...members, subAttributes: [{ name: 'value', type: 'text' }] };
    assertIssues(Schema, { ...groupSchema, attributes: [displayName, broken] }, [
      {
        path: '$.attributes[1].subAttributes[0].type',
        message:
          'expected one of "string", "boolean", "decimal", "integer", "dateTime", "reference", "binary", "complex" (case-insensitive), got string "text"',
      },
      { path: '$.attributes[1].subAttributes[0].multiValued', message: MISSING },
    ]);
  });

  it('an unknown mutability', () => {
    const [, groupSchema] = schemas;
    const [displayName] = groupSchema.attributes;
    assertIssues(Schema, { ...groupSchema, attributes: [{ ...displayName, mutability: 'writeOnce' }] }, [
      {
        path: '$.attributes[0].mutability',
        message:
          'expected one of "readOnly", "readWrite", "immutable", "writeOnly" (case-insensitive), got string "writeOnce"',
      },
    ]);
  });
});

describe('ListResponse', () => {
  const UserList = listResponse(User);

  it('decodes its Resources with the given codec', () => {
    const page = {
      schemas: [URN.ListResponse],
      totalResults: 2,
      itemsPerPage: 2,
      startIndex: 1,
      Resources: [minimalUser, fullUser],
    };
    assert.deepEqual(assertDecodes(UserList, page), page);
  });

  it('allows no Resources when there are no results', () => {
    assertDecodes(UserList, { schemas: [URN.ListResponse], totalResults: 0 });
  });

  it('reports issues inside Resources', () => {
    const { userName: _omitted, ...nameless } = minimalUser;
    assertIssues(UserList, { schemas: [URN.ListResponse], totalResults: '2', Resources: [minimalUser, nameless] }, [
      { path: '$.totalResults', message: 'expected non-negative integer, got string "2"' },
      { path: '$.Resources[1].userName', message: MISSING },
    ]);
  });
});

describe('PatchOp', () => {
  it('accepts op in any case and decodes it to lower case', () => {
    const patch = assertDecodes(PatchOp, {
      schemas: [URN.PatchOp],
      Operations: [
        { op: 'Replace', path: 'active', value: false },
        { op: 'ADD', path: 'emails', value: [{ value: 'b@example.com' }] },
        { op: 'remove', path: 'nickName' },
      ],
    });
    assert.deepEqual(
      patch.Operations.map((operation) => operation.op),
      ['replace', 'add', 'remove'],
    );
  });

  it('keeps a null value as null', () => {
    const patch = assertDecodes(PatchOp, {
      schemas: [URN.PatchOp],
      Operations: [{ op: 'replace', path: 'manager', value: null }],
    });
    assert.equal(patch.Operations[0].value, null);
  });

  it('rejects an unknown op', () => {
    assertIssues(PatchOp, { schemas: [URN.PatchOp], Operations: [{ op: 'move', path: 'title' }] }, [
      {
        path: '$.Operations[0].op',
        message: 'expected one of "add", "remove", "replace" (case-insensitive), got string "move"',
      },
    ]);
  });

  it('rejects an empty Operations list', () => {
    assertIssues(PatchOp, { schemas: [URN.PatchOp], Operations: [] }, [
      { path: '$.Operations', message: 'expected non-empty array, got empty array' },
    ]);
  });
});

describe('Bulk', () => {
  it('decodes the RFC 7644 §3.7 request shape', () => {
    const request = {
      schemas: [URN.BulkRequest],
      failOnErrors: 1,
      Operations: [
        { method: 'POST', path: '/Users', bulkId: 'qwerty', data: { schemas: [URN.User], userName: 'Alice' } },
        { method: 'DELETE', path: '/Users/b7c14771-226c-4d05-8860-134711653041', version: 'W/"0ee8add0a938e1a"' },
      ],
    };
    assert.deepEqual(assertDecodes(BulkRequest, request), request);
  });

  it('rejects an unknown method and an operation without path', () => {
    assertIssues(
      BulkRequest,
      { schemas: [URN.BulkRequest], Operations: [{ method: 'GET', path: '/Users' }, { method: 'POST' }] },
      [
        {
          path: '$.Operations[0].method',
          message: 'expected one of "POST", "PUT", "PATCH", "DELETE", got string "GET"',
        },
        { path: '$.Operations[1].path', message: MISSING },
      ],
    );
  });

  it('accepts a response status as a string or a number', () => {
    const response = {
      schemas: [URN.BulkResponse],
      Operations: [
        {
          method: 'POST',
          bulkId: 'qwerty',
          location: 'https://example.com/v2/Users/92b725cd',
          version: 'W/"4weymrEsh5O6cAEK"',
          status: '201',
        },
        {
          method: 'POST',
          bulkId: 'ytrewq',
          status: 409,
          response: { schemas: [URN.Error], scimType: 'uniqueness', status: '409' },
        },
      ],
    };
    assert.deepEqual(assertDecodes(BulkResponse, response), response);
  });

  it('reports a status of another type once', () => {
    assertIssues(
      BulkResponse,
      { schemas: [URN.BulkResponse], Operations: [{ method: 'POST', status: { code: '201' } }] },
      [{ path: '$.Operations[0].status', message: 'expected string or number, got object' }],
    );
  });
});

describe('ScimError', () => {
  it('decodes the RFC 7644 §3.12 shape, with status as a string or a number', () => {
    const error = { schemas: [URN.Error], scimType: 'mutability', detail: 'Attribute "id" is readOnly', status: '400' };
    assert.deepEqual(assertDecodes(ScimError, error), error);
    assertDecodes(ScimError, { status: 409, detail: 'User already exists' });
  });

  it('requires status', () => {
    assertIssues(ScimError, { schemas: [URN.Error], detail: 'Resource 2819c223 not found' }, [
      { path: '$.status', message: MISSING },
    ]);
  });
});
