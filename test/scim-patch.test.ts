import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scimPatch, type ScimPatchOperation, type ScimResource } from 'scim-patch';
import { PatchOp } from '../src/scim/codecs';
import { decode } from '../src/core/decode';
import { patchRequest, userPatchOperations, type PatchOperation } from '../src/scim/patch';
import { URN } from '../src/scim/urns';

const ENTERPRISE = URN.EnterpriseUser;

const current = {
  schemas: [URN.User, ENTERPRISE],
  id: '42',
  userName: 'ada@example.com',
  displayName: 'Ada Lovelace',
  title: 'Countess',
  active: true,
  emails: [
    { value: 'ada@example.com', type: 'work', primary: true },
    { value: 'ada@home.example', type: 'home' },
  ],
  groups: [{ value: 'g-1', display: 'Analysts' }],
  [ENTERPRISE]: { department: 'Engineering', employeeNumber: 'E1' },
  meta: { resourceType: 'User', version: 'W/"3"' },
};

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** Applies the operations the way a SCIM server does (the library the bundled sandbox uses). */
function applied(resource: Record<string, unknown>, operations: PatchOperation[]): Record<string, unknown> {
  return scimPatch(clone(resource) as unknown as ScimResource, operations as ScimPatchOperation[], {
    mutateDocument: false,
  }) as unknown as Record<string, unknown>;
}

describe('userPatchOperations', () => {
  it('finds nothing to change when the values are the same (member order, identity, meta, groups and password aside)', () => {
    const desired = {
      schemas: [URN.User],
      id: 'other',
      userName: 'ada@example.com',
      password: 'never-compared',
      emails: [
        { primary: true, type: 'work', value: 'ada@example.com' },
        { type: 'home', value: 'ada@home.example' },
      ],
      [ENTERPRISE]: { employeeNumber: 'E1' },
      meta: { version: 'W/"9"' },
    };
    assert.deepEqual(userPatchOperations(desired, current), []);
    assert.deepEqual(
      userPatchOperations(desired, current, { removeAbsent: true }).map((op) => op.path),
      [`${ENTERPRISE}:department`, 'displayName', 'title', 'active'],
    );
  });

  it('replaces a changed simple attribute by its path', () => {
    assert.deepEqual(userPatchOperations({ userName: 'ada@example.com', title: 'Analyst' }, current), [
      { op: 'replace', path: 'title', value: 'Analyst' },
    ]);
    assert.deepEqual(userPatchOperations({ active: false }, current), [
      { op: 'replace', path: 'active', value: false },
    ]);
  });

  it('replaces a multi-valued attribute as a whole when any value or their order differs', () => {
    const emails = [{ value: 'ada@example.com', type: 'work', primary: true }];
    assert.deepEqual(userPatchOperations({ emails }, current), [{ op: 'replace', path: 'emails', value: emails }]);
    const reordered = [current.emails[1], current.emails[0]];
    assert.deepEqual(userPatchOperations({ emails: reordered }, current), [
      { op: 'replace', path: 'emails', value: reordered },
    ]);
  });

  it('writes extension attributes one by one under their schema URN', () => {
    assert.deepEqual(
      userPatchOperations(
        { [ENTERPRISE]: { department: 'Research', employeeNumber: 'E1', costCenter: 'C7' } },
        current,
      ),
      [
        { op: 'replace', path: `${ENTERPRISE}:department`, value: 'Research' },
        { op: 'replace', path: `${ENTERPRISE}:costCenter`, value: 'C7' },
      ],
    );
    // A resource without the extension yet: every attribute of it is set.
    const { [ENTERPRISE]: _extension, ...withoutExtension } = current;
    assert.deepEqual(userPatchOperations({ [ENTERPRISE]: { department: 'Research' } }, withoutExtension), [
      { op: 'replace', path: `${ENTERPRISE}:department`, value: 'Research' },
    ]);
  });

  it('removes what is gone only when asked, extension attributes and null values included', () => {
    const desired = {
      userName: 'ada@example.com',
      displayName: 'Ada Lovelace',
      title: null,
      active: true,
      emails: current.emails,
      [ENTERPRISE]: { department: 'Engineering' },
    };
    assert.deepEqual(
      userPatchOperations(desired, current),
      [],
      'without removeAbsent, what the source does not set stays',
    );
    assert.deepEqual(userPatchOperations(desired, current, { removeAbsent: true }), [
      { op: 'remove', path: `${ENTERPRISE}:employeeNumber` },
      { op: 'remove', path: 'title' },
    ]);
    const { [ENTERPRISE]: _extension, ...noExtension } = desired;
    assert.deepEqual(userPatchOperations(noExtension, current, { removeAbsent: true }), [
      { op: 'remove', path: 'title' },
      { op: 'remove', path: `${ENTERPRISE}:department` },
      { op: 'remove', path: `${ENTERPRISE}:employeeNumber` },
    ]);
  });

  it('matches attribute names and extension URNs in any letter case', () => {
    const desired = {
      USERNAME: 'ada@example.com',
      DisplayName: 'Ada Lovelace',
      Title: 'Countess',
      Active: true,
      Emails: current.emails,
      [ENTERPRISE.toUpperCase()]: { Department: 'Engineering', EMPLOYEENUMBER: 'E1' },
    };
    assert.deepEqual(userPatchOperations(desired, current), []);
    assert.deepEqual(userPatchOperations(desired, current, { removeAbsent: true }), []);
    assert.deepEqual(userPatchOperations({ TITLE: 'Analyst' }, current), [
      { op: 'replace', path: 'TITLE', value: 'Analyst' },
    ]);
  });

  it('produces operations that, applied by a SCIM server, turn the current user into the desired one', () => {
    const desired = {
      schemas: current.schemas,
      userName: 'ada@example.com',
      displayName: 'Countess of Lovelace',
      active: false,
      emails: [{ value: 'ada@analytical.example', type: 'work', primary: true }],
      [ENTERPRISE]: { department: 'Research', costCenter: 'C7' },
    };
    const operations = userPatchOperations(desired, current, { removeAbsent: true });
    const { id: _id, meta: _meta, groups: _groups, ...result } = applied(current, operations);
    assert.deepEqual(result, desired);
    // Without removals, what `desired` does not mention survives the PATCH.
    const kept = applied(current, userPatchOperations(desired, current));
    assert.equal(kept.title, 'Countess');
    assert.deepEqual(kept[ENTERPRISE], { department: 'Research', employeeNumber: 'E1', costCenter: 'C7' });
  });
});

describe('patchRequest', () => {
  it('builds a PatchOp body the PatchOp codec accepts', () => {
    const operations = userPatchOperations({ title: 'Analyst' }, current);
    const body = patchRequest(operations);
    assert.deepEqual(body, {
      schemas: [URN.PatchOp],
      Operations: [{ op: 'replace', path: 'title', value: 'Analyst' }],
    });
    assert.deepEqual(decode(PatchOp, body), { ok: true, value: body });
  });

  it('refuses to build a PATCH without operations (RFC 7644 requires at least one)', () => {
    assert.throws(() => patchRequest([]), /at least one operation/);
  });
});
