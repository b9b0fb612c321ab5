import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isScimUrn, URN } from '../src/scim/urns';

describe('URN constants', () => {
  it('are the RFC 7643 / RFC 7644 URNs', () => {
    assert.equal(URN.User, 'urn:ietf:params:scim:schemas:core:2.0:User');
    assert.equal(URN.EnterpriseUser, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User');
    assert.equal(URN.ListResponse, 'urn:ietf:params:scim:api:messages:2.0:ListResponse');
    assert.equal(URN.Error, 'urn:ietf:params:scim:api:messages:2.0:Error');
  });

  it('are all well-formed', () => {
    for (const urn of Object.values(URN)) assert.ok(isScimUrn(urn), urn);
  });
});

describe('isScimUrn', () => {
  const valid = [
    'urn:ietf:params:scim:schemas:core:2.0:User',
    'urn:example:params:scim:schemas:extension:x:2.0:Y',
    'urn:mace:surf.nl:sram:scim:extension:User',
    'URN:IETF:params:scim:schemas:core:2.0:Group', // the "urn" scheme and NID are case-insensitive
    'urn:ab:x', // shortest NID: two characters
    `urn:${'a'.repeat(32)}:x`, // longest NID: 32 characters
    'urn:example:a/b:%2Fc@d', // "/" after the first NSS character, percent-encoding, "@"
  ];
  for (const urn of valid) {
    it(`accepts ${urn}`, () => assert.equal(isScimUrn(urn), true));
  }

  const invalid: Array<[string, unknown]> = [
    ['not a URN at all', 'not-a-urn'],
    ['the scheme alone', 'urn:'],
    ['an empty NID', 'urn::x'],
    ['a NID without NSS', 'urn:ietf:'],
    ['a NID of one character', 'urn:x:y'],
    ['a NID of 33 characters', `urn:${'a'.repeat(33)}:x`],
    ['a NID starting with a hyphen', 'urn:-ietf:x'],
    ['a NID ending with a hyphen', 'urn:ietf-:x'],
    ['an NSS starting with "/"', 'urn:ietf:/x'],
    ['leading white space', ' urn:ietf:params:scim:schemas:core:2.0:User'],
    ['trailing white space', 'urn:ietf:params:scim:schemas:core:2.0:User '],
    ['inner white space', 'urn:ietf:params:scim:schemas:core:2.0:Enterprise User'],
    ['a bad percent-encoding', 'urn:ietf:params:%zz'],
    ['a q-component', 'urn:ietf:params:scim?=x'],
    ['an f-component', 'urn:ietf:params:scim#User'],
    ['the empty string', ''],
    ['a number', 42],
    ['undefined', undefined],
  ];
  for (const [what, value] of invalid) {
    it(`rejects ${what}`, () => assert.equal(isScimUrn(value), false));
  }
});
