import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLifecycleEvent } from '../src/scim/lifecycle-events';
import { idpPatchOperations, toIdpUser } from '../src/scim/idp-user';

const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const good = {
  eventId: 'e-1',
  eventType: 'USER_CREATED',
  userId: 'u-1',
  timestamp: '2025-03-01T09:00:00.123Z',
  tenantId: 'acme',
  user: {
    schemas: [USER_SCHEMA],
    id: 'u-1',
    userName: 'ada@example.com',
    active: true,
    meta: { resourceType: 'User' },
  },
};

describe('lifecycle event codec', () => {
  it('accepts the three CXone event types and keeps only the known members', () => {
    const parsed = parseLifecycleEvent({ ...good, extra: 'dropped' });
    assert.ok(parsed.ok);
    assert.deepEqual(Object.keys(parsed.event).sort(), [
      'eventId',
      'eventType',
      'tenantId',
      'timestamp',
      'user',
      'userId',
    ]);
    assert.ok(parseLifecycleEvent({ ...good, eventType: 'USER_UPDATED' }).ok);
    const { user: _user, ...bare } = good;
    assert.ok(parseLifecycleEvent({ ...bare, eventType: 'USER_DEACTIVATED' }).ok, 'deactivation needs no user');
  });

  it('names every missing or wrong field by JSON path', () => {
    const parsed = parseLifecycleEvent({ eventType: 'USER_CREATED', userId: 42, timestamp: '01/03/2025' });
    assert.equal(parsed.ok, false);
    assert.ok(!parsed.ok && parsed.kind === 'malformed');
    const paths = !parsed.ok ? parsed.issues.map((i) => i.path) : [];
    assert.deepEqual(paths.sort(), ['$.eventId', '$.timestamp', '$.userId']);
  });

  it('tells an unknown event type (422) from a malformed body (400)', () => {
    const parsed = parseLifecycleEvent({ ...good, eventType: 'USER_PROMOTED' });
    assert.ok(!parsed.ok && parsed.kind === 'unknown-type' && parsed.eventType === 'USER_PROMOTED');
    const noUser = parseLifecycleEvent({ ...good, user: undefined });
    assert.ok(!noUser.ok && noUser.kind === 'malformed' && noUser.issues[0].path === '$.user');
    const otherUser = parseLifecycleEvent({ ...good, user: { ...good.user, id: 'u-2' } });
    assert.ok(!otherUser.ok && otherUser.issues[0].path === '$.user.id');
    const badUser = parseLifecycleEvent({ ...good, user: { ...good.user, emails: 'x' } });
    assert.ok(!badUser.ok && badUser.issues[0].path === '$.user.emails');
    assert.ok(!parseLifecycleEvent(null).ok);
    assert.ok(!parseLifecycleEvent([]).ok);
  });
});

describe('IdP user mapping', () => {
  it("copies CXone's attributes, with externalId = the CXone id and none of id, meta, groups, password", () => {
    const idp = toIdpUser('u-1', { ...good.user, groups: [{ value: 'g' }], password: 'secret', externalId: 'hr-7' });
    assert.deepEqual(idp, { schemas: [USER_SCHEMA], externalId: 'u-1', userName: 'ada@example.com', active: true });
  });

  it('PATCHes only what changed, removes what is gone, and nothing when nothing changed', () => {
    const enterprise = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
    const before = {
      ...good.user,
      displayName: 'Ada',
      title: 'Countess',
      emails: [{ value: 'a@x', primary: true }],
      [enterprise]: { department: 'R&D' },
    };
    const after = {
      ...good.user,
      displayName: 'Ada Lovelace',
      emails: [{ value: 'a@x', primary: true }],
      meta: { version: 'W/"2"' },
      groups: [{ value: 'g' }],
    };
    assert.deepEqual(idpPatchOperations('u-1', before, after), [
      { op: 'replace', path: 'displayName', value: 'Ada Lovelace' },
      { op: 'remove', path: 'title' },
      { op: 'remove', path: `${enterprise}:department` },
    ]);
    assert.deepEqual(idpPatchOperations('u-1', after, { ...after }), []);
  });

  it('sets every attribute (externalId = the CXone id) when there is no previous snapshot', () => {
    const after = { ...good.user, displayName: 'Ada Lovelace', emails: [{ value: 'a@x', primary: true }] };
    assert.deepEqual(idpPatchOperations('u-1', undefined, after), [
      { op: 'replace', path: 'externalId', value: 'u-1' },
      { op: 'replace', path: 'userName', value: 'ada@example.com' },
      { op: 'replace', path: 'active', value: true },
      { op: 'replace', path: 'displayName', value: 'Ada Lovelace' },
      { op: 'replace', path: 'emails', value: [{ value: 'a@x', primary: true }] },
    ]);
  });
});
