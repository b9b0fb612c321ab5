// The SCIM User the sync tests seed and source: a work email equal to the userName, active.

export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

export type Attrs = Record<string, unknown>;

export const scimUser = (userName: string, extra: Attrs = {}): Attrs => ({
  schemas: [CORE_USER],
  userName,
  name: { givenName: 'G', familyName: 'F' },
  emails: [{ value: userName, type: 'work', primary: true }],
  active: true,
  ...extra,
});
